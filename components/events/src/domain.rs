//! The event log's rules: names, subscription patterns, publish bodies, subscription bodies and
//! retry backoff. Plain Rust: no I/O, no Spin.

use serde_json::value::RawValue;
use serde_json::Value;
use service_kit::request::{json_i64, media_type};
use service_kit::trace;
use service_kit::{ApiError, CloudEvent};

/// Most events one publish request may carry.
pub const MAX_BATCH: usize = 500;
/// Largest publish body: a full batch of ticket-sized events fits many times over.
pub const MAX_PUBLISH_BYTES: usize = 8 * 1024 * 1024;
/// Largest single event, as stored.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;
/// Largest subscription body.
pub const MAX_SUBSCRIPTION_BYTES: usize = 64 * 1024;
/// Patterns one subscription may list.
pub const MAX_PATTERNS: usize = 32;
/// Longest accepted endpoint URL.
pub const MAX_ENDPOINT_LEN: usize = 2048;
/// Path names that are resources of the service, never topics.
pub const RESERVED: [&str; 5] = [
    "topics",
    "subscriptions",
    "dispatch",
    "health",
    "openapi.json",
];
/// Most events or dead letters one read returns, and how many when not asked.
pub const MAX_READ_LIMIT: i64 = 1000;
pub const DEFAULT_READ_LIMIT: i64 = 100;
/// Longest topic or subscription name.
pub const MAX_NAME_LEN: usize = 64;
/// Longest CloudEvents `id`, `source` and `type` (checked by `CloudEvent::validate`).
pub const MAX_ATTRIBUTE_LEN: usize = 256;
/// The backoff never waits longer than this between attempts.
pub const MAX_BACKOFF_MS: i64 = 10 * 60 * 1000;
/// First retry delay when the `retry_base_ms` variable is absent or invalid.
pub const DEFAULT_RETRY_BASE_MS: i64 = 1000;
pub const DEFAULT_MAX_ATTEMPTS: i64 = 8;
/// Largest `max_attempts` a subscription may set (the smallest is 1).
pub const MAX_ATTEMPTS: i64 = 100;

/// A body must be JSON: `application/json`, any `+json` type (CloudEvents' structured and batch
/// modes), or no content type at all.
pub fn check_content_type(content_type: Option<&str>) -> Result<(), ApiError> {
    let Some(content_type) = content_type else {
        return Ok(());
    };
    let essence = media_type(content_type);
    if essence == "application/json" || essence.ends_with("+json") {
        Ok(())
    } else {
        Err(ApiError::unsupported_media_type(format!(
            "unsupported content-type {content_type:?}: send application/cloudevents+json, \
             application/cloudevents-batch+json or application/json"
        )))
    }
}

/// Checks a topic name: `[a-z0-9][a-z0-9.-]{0,63}` and not a reserved name.
pub fn check_topic(name: &str) -> Result<(), String> {
    let bytes = name.as_bytes();
    let valid = (1..=MAX_NAME_LEN).contains(&bytes.len())
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-');
    if !valid {
        return Err(format!(
            "invalid topic name {name:?}: 1 to 64 of a-z, 0-9, '.' and '-', starting with a letter or digit"
        ));
    }
    if RESERVED.contains(&name) {
        return Err(format!("{name:?} is a reserved name, not a topic"));
    }
    Ok(())
}

/// Checks a subscription name: `[a-z0-9][a-z0-9-]{0,63}`.
pub fn check_subscription_name(name: &str) -> Result<(), String> {
    let bytes = name.as_bytes();
    let valid = (1..=MAX_NAME_LEN).contains(&bytes.len())
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid subscription name {name:?}: 1 to 64 of a-z, 0-9 and '-', starting with a letter or digit"
        ))
    }
}

/// A subscription's topic pattern: an exact topic, `prefix.*` (every topic starting with
/// `prefix.`) or `*` (every topic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    All,
    Prefix(String),
    Exact(String),
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, String> {
        if text == "*" {
            return Ok(Pattern::All);
        }
        if let Some(prefix) = text.strip_suffix(".*") {
            // The prefix follows the topic rules (reserved names aside: `topics.*` is harmless).
            return match check_topic(prefix) {
                Ok(()) => Ok(Pattern::Prefix(format!("{prefix}."))),
                Err(_) if RESERVED.contains(&prefix) => Ok(Pattern::Prefix(format!("{prefix}."))),
                Err(_) => Err(format!(
                    "invalid topic pattern {text:?}: use a topic name, \"prefix.*\" or \"*\""
                )),
            };
        }
        check_topic(text).map_err(|problem| {
            format!("invalid topic pattern {text:?} ({problem}): use a topic name, \"prefix.*\" or \"*\"")
        })?;
        Ok(Pattern::Exact(text.to_owned()))
    }

    pub fn matches(&self, topic: &str) -> bool {
        match self {
            Pattern::All => true,
            Pattern::Prefix(prefix) => topic.starts_with(prefix.as_str()),
            Pattern::Exact(name) => name == topic,
        }
    }
}

/// Whether any of `patterns` (as stored: the texts a subscription was given) matches `topic`.
pub fn any_matches(patterns: &[String], topic: &str) -> bool {
    patterns
        .iter()
        .filter_map(|p| Pattern::parse(p).ok())
        .any(|p| p.matches(topic))
}

/// Where a new subscription starts reading topics that already exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StartFrom {
    /// From offset 0: the whole log is delivered.
    Earliest,
    /// From the head at subscription time: only later events.
    Latest,
}

impl StartFrom {
    pub fn as_str(self) -> &'static str {
        match self {
            StartFrom::Earliest => "earliest",
            StartFrom::Latest => "latest",
        }
    }

    pub fn from_stored(text: &str) -> StartFrom {
        if text == "latest" {
            StartFrom::Latest
        } else {
            StartFrom::Earliest
        }
    }
}

/// A checked `PUT /events/subscriptions/{name}` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionSpec {
    pub topics: Vec<String>,
    pub endpoint: String,
    pub max_attempts: i64,
    pub from: StartFrom,
}

/// The fields of a subscription body, named in every complaint.
const SUBSCRIPTION_FIELDS: [&str; 4] = ["topics", "endpoint", "max_attempts", "from"];

impl SubscriptionSpec {
    /// Parses and checks a subscription body (already known to be JSON).
    pub fn from_json(value: serde_json::Value) -> Result<SubscriptionSpec, String> {
        let serde_json::Value::Object(mut fields) = value else {
            return Err("a subscription is a JSON object with topics and endpoint".into());
        };
        SubscriptionSpec::from_fields(&mut fields, &SUBSCRIPTION_FIELDS)
    }

    fn from_fields(
        fields: &mut serde_json::Map<String, serde_json::Value>,
        known: &[&str],
    ) -> Result<SubscriptionSpec, String> {
        if let Some(name) = fields.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(format!(
                "unknown field {name:?}; known: {}",
                known.join(", ")
            ));
        }
        let topics = match fields.remove("topics") {
            Some(serde_json::Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    serde_json::Value::String(text) => Ok(text),
                    other => Err(format!("topics: patterns are strings, got {other}")),
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err("topics must be an array of topic patterns".into()),
            None => return Err("topics is missing: give an array of topic patterns".into()),
        };
        let endpoint = match fields.remove("endpoint") {
            Some(serde_json::Value::String(text)) => text,
            Some(_) => return Err("endpoint must be a URL string".into()),
            None => return Err("endpoint is missing".into()),
        };
        let max_attempts = match fields.remove("max_attempts") {
            None | Some(serde_json::Value::Null) => None,
            Some(value) => Some(json_i64(&value).ok_or_else(|| {
                format!("max_attempts must be an integer from 1 to {MAX_ATTEMPTS}, got {value}")
            })?),
        };
        let from = match fields.remove("from") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(text)) if text == "earliest" => {
                Some(StartFrom::Earliest)
            }
            Some(serde_json::Value::String(text)) if text == "latest" => Some(StartFrom::Latest),
            Some(other) => {
                return Err(format!(
                    "from must be \"earliest\" or \"latest\", got {other}"
                ))
            }
        };
        SubscriptionSpec::check(topics, endpoint, max_attempts, from)
    }

    fn check(
        topics: Vec<String>,
        endpoint: String,
        max_attempts: Option<i64>,
        from: Option<StartFrom>,
    ) -> Result<SubscriptionSpec, String> {
        if topics.is_empty() {
            return Err("topics: give at least one topic pattern".into());
        }
        if topics.len() > MAX_PATTERNS {
            return Err(format!("topics: at most {MAX_PATTERNS} patterns"));
        }
        let mut unique: Vec<String> = Vec::with_capacity(topics.len());
        for text in topics {
            Pattern::parse(&text).map_err(|problem| format!("topics: {problem}"))?;
            if !unique.contains(&text) {
                unique.push(text);
            }
        }
        check_endpoint(&endpoint)?;
        let max_attempts = max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
        if !(1..=MAX_ATTEMPTS).contains(&max_attempts) {
            return Err(format!(
                "max_attempts must be from 1 to {MAX_ATTEMPTS}, got {max_attempts}"
            ));
        }
        Ok(SubscriptionSpec {
            topics: unique,
            endpoint,
            max_attempts,
            from: from.unwrap_or(StartFrom::Earliest),
        })
    }
}

/// An endpoint is an absolute `http(s)://host[:port][/path]` URL.
pub fn check_endpoint(endpoint: &str) -> Result<(), String> {
    let problem = || {
        format!(
            "endpoint must be an absolute http:// or https:// URL with a host, got {endpoint:?}"
        )
    };
    if endpoint.len() > MAX_ENDPOINT_LEN {
        return Err(format!(
            "endpoint is longer than {MAX_ENDPOINT_LEN} characters"
        ));
    }
    let rest = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .ok_or_else(problem)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host);
    let port_ok = authority
        .rsplit_once(':')
        .is_none_or(|(_, port)| port.parse::<u16>().is_ok());
    let clean = endpoint.bytes().all(|b| b.is_ascii_graphic()) && !authority.contains('@');
    if host.is_empty() || !port_ok || !clean || endpoint.contains('#') {
        return Err(problem());
    }
    Ok(())
}

/// The `bootstrap_subscriptions` variable: valid entries, and a problem per invalid one (to log).
pub fn parse_bootstrap(text: &str) -> (Vec<(String, SubscriptionSpec)>, Vec<String>) {
    let text = text.trim();
    if text.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let entries: Vec<serde_json::Value> = match serde_json::from_str(text) {
        Ok(entries) => entries,
        Err(err) => return (Vec::new(), vec![format!("not a JSON array: {err}")]),
    };
    let mut valid = Vec::new();
    let mut problems = Vec::new();
    for (index, entry) in entries.into_iter().enumerate() {
        let checked = match entry {
            serde_json::Value::Object(mut fields) => match fields.remove("name") {
                Some(serde_json::Value::String(name)) => check_subscription_name(&name)
                    .and_then(|()| {
                        let known = ["topics", "endpoint", "max_attempts", "from"];
                        SubscriptionSpec::from_fields(&mut fields, &known)
                    })
                    .map(|spec| (name, spec)),
                _ => Err("name is missing".to_owned()),
            },
            _ => Err("not a JSON object".to_owned()),
        };
        match checked {
            Ok(entry) if valid.iter().any(|(name, _)| *name == entry.0) => {
                problems.push(format!("entry {index}: name {:?} given twice", entry.0))
            }
            Ok(entry) => valid.push(entry),
            Err(problem) => problems.push(format!("entry {index}: {problem}")),
        }
    }
    (valid, problems)
}

/// One event ready to append: its id, type and canonical JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub id: String,
    pub event_type: String,
    pub json: String,
}

/// Parses a publish body: one CloudEvent or an array of at most [`MAX_BATCH`]. Every event is
/// checked; the first invalid one refuses the whole request, named by its index. Events without a
/// `requestid` get `request_id` (the publish request's `x-request-id`), so the ones a client
/// publishes directly can be followed like those the services publish.
pub fn parse_publish(body: &[u8], request_id: Option<&str>) -> Result<Vec<NewEvent>, ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let items: Vec<&RawValue> = match first {
        None => {
            return Err(ApiError::bad_request(
                "request body is empty: send a CloudEvent or an array of them",
            ))
        }
        Some(b'[') => serde_json::from_slice(body)
            .map_err(|err| ApiError::bad_request(format!("invalid JSON body: {err}")))?,
        Some(_) => vec![serde_json::from_slice(body)
            .map_err(|err| ApiError::bad_request(format!("invalid JSON body: {err}")))?],
    };
    if items.is_empty() {
        return Err(ApiError::bad_request("the array holds no events"));
    }
    if items.len() > MAX_BATCH {
        return Err(ApiError::too_large(format!(
            "too many events: {} in one request, at most {MAX_BATCH}",
            items.len()
        )));
    }
    let single = first != Some(&b'[');
    items
        .into_iter()
        .enumerate()
        .map(|(index, raw)| {
            let name = if single {
                "event".to_owned()
            } else {
                format!("event at index {index}")
            };
            parse_event(raw, request_id)
                .map_err(|problem| ApiError::bad_request(format!("{name}: {problem}")))
        })
        .collect()
}

fn parse_event(raw: &RawValue, request_id: Option<&str>) -> Result<NewEvent, String> {
    let mut event: CloudEvent =
        serde_json::from_str(raw.get()).map_err(|err| format!("not a CloudEvent: {err}"))?;
    event.validate()?;
    if let Some(id) = request_id {
        stamp_request_id(&mut event, id);
    }
    let json = serde_json::to_string(&event).map_err(|err| err.to_string())?;
    if json.len() > MAX_EVENT_BYTES {
        return Err(format!("larger than {MAX_EVENT_BYTES} bytes"));
    }
    Ok(NewEvent {
        id: event.id,
        event_type: event.event_type,
        json,
    })
}

/// Gives `event` the `requestid` attribute unless it has one (null counts as absent, as in
/// CloudEvents' JSON format): an id set by the event's producer is closer to the cause.
fn stamp_request_id(event: &mut CloudEvent, id: &str) {
    let slot = event
        .extensions
        .entry(trace::ATTRIBUTE)
        .or_insert(Value::Null);
    if slot.is_null() {
        *slot = Value::String(id.to_owned());
    }
}

/// The `requestid` of a stored event, when it is an id `x-request-id` may carry (a producer may
/// have put anything there; only valid ids travel on as a header).
pub fn request_id_of(event_json: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Traced {
        requestid: Option<Value>,
    }
    let traced: Traced = serde_json::from_str(event_json).ok()?;
    traced.requestid?.as_str().and_then(trace::parse)
}

/// Delay before the next attempt after `attempts` failed ones: `base * 2^(attempts-1)`, capped.
pub fn backoff_ms(base_ms: i64, attempts: i64) -> i64 {
    let exponent = (attempts - 1).clamp(0, 40) as u32;
    base_ms
        .max(0)
        .saturating_mul(1i64 << exponent)
        .min(MAX_BACKOFF_MS)
}

/// The `retry_base_ms` variable: 0 to 10 minutes, else the default.
pub fn parse_retry_base(text: Option<&str>) -> i64 {
    text.and_then(|t| t.trim().parse::<i64>().ok())
        .filter(|ms| (0..=MAX_BACKOFF_MS).contains(ms))
        .unwrap_or(DEFAULT_RETRY_BASE_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(id: &str) -> serde_json::Value {
        json!({"specversion": "1.0", "id": id, "source": "/test", "type": "test.happened", "data": {"n": 1}})
    }

    #[test]
    fn bodies_must_be_json() {
        assert!(check_content_type(None).is_ok());
        assert!(check_content_type(Some("application/json; charset=utf-8")).is_ok());
        assert!(check_content_type(Some("application/cloudevents+json")).is_ok());
        assert!(check_content_type(Some("Application/CloudEvents-Batch+JSON")).is_ok());
        assert_eq!(
            check_content_type(Some("text/plain")).unwrap_err().status,
            415
        );
    }

    #[test]
    fn topic_names_follow_the_rules() {
        for good in [
            "support.tickets",
            "a",
            "0",
            "telemetry.alerts-v2",
            &"a".repeat(64),
        ] {
            assert!(check_topic(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Support",
            ".a",
            "-a",
            "a_b",
            "a/b",
            "a b",
            "é",
            &"a".repeat(65),
        ] {
            assert!(
                check_topic(bad).unwrap_err().contains("invalid topic name"),
                "{bad}"
            );
        }
        for reserved in RESERVED {
            assert!(
                check_topic(reserved).unwrap_err().contains("reserved"),
                "{reserved}"
            );
        }
    }

    #[test]
    fn subscription_names_follow_the_rules() {
        assert!(check_subscription_name("insights").is_ok());
        assert!(check_subscription_name("a-1").is_ok());
        assert!(check_subscription_name(&"a".repeat(64)).is_ok());
        for bad in ["", "-a", "a.b", "A", "a_b", &"a".repeat(65)] {
            assert!(check_subscription_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn patterns_match_exact_prefix_and_all() {
        let prefix = Pattern::parse("support.*").unwrap();
        assert!(prefix.matches("support.tickets"));
        assert!(prefix.matches("support.a.b"));
        assert!(!prefix.matches("support"));
        assert!(!prefix.matches("supportx.tickets"));
        let exact = Pattern::parse("support.tickets").unwrap();
        assert!(exact.matches("support.tickets"));
        assert!(!exact.matches("support.tickets2"));
        assert!(Pattern::parse("*").unwrap().matches("anything"));
        for bad in [
            "",
            "support*",
            "*.tickets",
            "Support.*",
            "a.*.*",
            ".*",
            "topics",
        ] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
        assert!(any_matches(
            &["x".into(), "telemetry.*".into()],
            "telemetry.alerts"
        ));
        assert!(!any_matches(&["x".into()], "y"));
    }

    #[test]
    fn subscription_bodies_are_checked_with_defaults() {
        let spec = SubscriptionSpec::from_json(
            json!({"topics": ["support.*", "support.*"], "endpoint": "http://insights.spin.internal/insights/events"}),
        )
        .unwrap();
        assert_eq!(spec.topics, ["support.*"]);
        assert_eq!(spec.max_attempts, 8);
        assert_eq!(spec.from, StartFrom::Earliest);
        let spec = SubscriptionSpec::from_json(
            json!({"topics": ["*"], "endpoint": "https://127.0.0.1:8443", "max_attempts": 1, "from": "latest"}),
        )
        .unwrap();
        assert_eq!((spec.max_attempts, spec.from), (1, StartFrom::Latest));
        // JSON Schema's integers include numbers written with a zero fraction.
        let spec = SubscriptionSpec::from_json(
            json!({"topics": ["*"], "endpoint": "http://a", "max_attempts": 51.0}),
        )
        .unwrap();
        assert_eq!(spec.max_attempts, 51);
        let cases = [
            (json!({"topics": [], "endpoint": "http://a"}), "topics"),
            (
                json!({"topics": ["Bad"], "endpoint": "http://a"}),
                "pattern",
            ),
            (json!({"topics": ["a"], "endpoint": "ftp://a"}), "endpoint"),
            (json!({"topics": ["a"], "endpoint": "http://"}), "endpoint"),
            (
                json!({"topics": ["a"], "endpoint": "http://a:99999"}),
                "endpoint",
            ),
            (
                json!({"topics": ["a"], "endpoint": "http://a b"}),
                "endpoint",
            ),
            (
                json!({"topics": ["a"], "endpoint": "http://a", "max_attempts": 0}),
                "max_attempts",
            ),
            (
                json!({"topics": ["a"], "endpoint": "http://a", "max_attempts": 101}),
                "max_attempts",
            ),
            (
                json!({"topics": ["a"], "endpoint": "http://a", "from": "now"}),
                "from",
            ),
            (
                json!({"topics": ["a"], "endpoint": "http://a", "extra": 1}),
                "extra",
            ),
            (json!({"endpoint": "http://a"}), "topics"),
            (json!({"topics": ["a"]}), "endpoint"),
            (json!({"topics": "a", "endpoint": "http://a"}), "topics"),
            (json!({"topics": [1], "endpoint": "http://a"}), "topics"),
            (json!({"topics": ["a"], "endpoint": 5}), "endpoint"),
            (
                json!({"topics": ["a"], "endpoint": "http://a", "max_attempts": "8"}),
                "max_attempts",
            ),
            (json!([]), "object"),
        ];
        for (body, word) in cases {
            let err = SubscriptionSpec::from_json(body.clone()).unwrap_err();
            assert!(err.contains(word), "{body}: {err}");
        }
    }

    #[test]
    fn bootstrap_keeps_valid_entries_and_names_the_rest() {
        let (valid, problems) = parse_bootstrap(
            r#"[{"name": "insights", "topics": ["support.*"], "endpoint": "http://insights.spin.internal/insights/events", "max_attempts": 8},
                {"name": "Bad Name", "topics": ["a"], "endpoint": "http://a"},
                {"name": "insights", "topics": ["a"], "endpoint": "http://a"}]"#,
        );
        assert_eq!(valid.len(), 1);
        assert_eq!(valid[0].0, "insights");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("entry 1"));
        let (valid, problems) = parse_bootstrap("{not json");
        assert!(valid.is_empty());
        assert!(problems[0].contains("not a JSON array"));
        assert_eq!(parse_bootstrap("  "), (Vec::new(), Vec::new()));
    }

    #[test]
    fn publish_bodies_are_one_event_or_an_array() {
        let one = parse_publish(event("a").to_string().as_bytes(), None).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].id, "a");
        assert_eq!(one[0].event_type, "test.happened");
        let stored: serde_json::Value = serde_json::from_str(&one[0].json).unwrap();
        assert_eq!(stored, event("a"));
        let many =
            parse_publish(json!([event("a"), event("b")]).to_string().as_bytes(), None).unwrap();
        assert_eq!(
            many.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
    }

    #[test]
    fn an_invalid_event_refuses_the_request_naming_its_index() {
        let mut bad = event("b");
        bad["specversion"] = json!("0.3");
        let err = parse_publish(json!([event("a"), bad]).to_string().as_bytes(), None).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(
            err.message.contains("index 1") && err.message.contains("specversion"),
            "{}",
            err.message
        );
        let err = parse_publish(
            json!([event("a"), {"id": "x"}]).to_string().as_bytes(),
            None,
        )
        .unwrap_err();
        assert!(err.message.contains("index 1"), "{}", err.message);
        let err = parse_publish(json!({"id": "x"}).to_string().as_bytes(), None).unwrap_err();
        assert!(err.message.starts_with("event: "), "{}", err.message);
        for body in ["", "  ", "{", "[]", "42", "[1]"] {
            assert_eq!(
                parse_publish(body.as_bytes(), None).unwrap_err().status,
                400,
                "{body}"
            );
        }
    }

    #[test]
    fn more_than_a_batch_is_too_large() {
        let events: Vec<_> = (0..=MAX_BATCH).map(|i| event(&i.to_string())).collect();
        let err = parse_publish(serde_json::to_vec(&events).unwrap().as_slice(), None).unwrap_err();
        assert_eq!(err.status, 413);
        let events: Vec<_> = (0..MAX_BATCH).map(|i| event(&i.to_string())).collect();
        assert_eq!(
            parse_publish(serde_json::to_vec(&events).unwrap().as_slice(), None)
                .unwrap()
                .len(),
            MAX_BATCH
        );
    }

    #[test]
    fn published_events_without_a_request_id_get_the_requests() {
        let stored = |events: Vec<NewEvent>| -> Vec<serde_json::Value> {
            events
                .iter()
                .map(|e| serde_json::from_str(&e.json).unwrap())
                .collect()
        };
        let one = parse_publish(event("a").to_string().as_bytes(), Some("r-1")).unwrap();
        assert_eq!(stored(one)[0]["requestid"], "r-1");
        let mut own = event("b");
        own["requestid"] = json!("producer-id");
        let mut cleared = event("c");
        cleared["requestid"] = json!(null);
        let body = json!([event("a"), own, cleared]).to_string();
        let many = stored(parse_publish(body.as_bytes(), Some("r-2")).unwrap());
        let ids: Vec<_> = many.iter().map(|e| e["requestid"].clone()).collect();
        assert_eq!(ids, [json!("r-2"), json!("producer-id"), json!("r-2")]);
        let untraced = stored(parse_publish(event("a").to_string().as_bytes(), None).unwrap());
        assert_eq!(untraced[0], event("a"));
    }

    #[test]
    fn only_valid_request_ids_of_events_travel_as_headers() {
        let mut traced = event("a");
        traced["requestid"] = json!("r-1");
        assert_eq!(request_id_of(&traced.to_string()).as_deref(), Some("r-1"));
        for value in [
            json!(null),
            json!(7),
            json!("two words"),
            json!({"id": "r-1"}),
        ] {
            let mut odd = event("a");
            odd["requestid"] = value;
            assert_eq!(request_id_of(&odd.to_string()), None, "{odd}");
        }
        assert_eq!(request_id_of(&event("a").to_string()), None);
        assert_eq!(request_id_of("not json"), None);
    }

    #[test]
    fn oversized_events_are_refused() {
        let mut big = event("a");
        big["data"] = json!("x".repeat(MAX_EVENT_BYTES));
        let err = parse_publish(big.to_string().as_bytes(), None).unwrap_err();
        assert!(err.message.contains("larger than"), "{}", err.message);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff_ms(1000, 1), 1000);
        assert_eq!(backoff_ms(1000, 2), 2000);
        assert_eq!(backoff_ms(1000, 4), 8000);
        assert_eq!(backoff_ms(20, 3), 80);
        assert_eq!(backoff_ms(1000, 20), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(1000, 1000), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(0, 5), 0);
    }

    #[test]
    fn retry_base_falls_back_to_the_default() {
        assert_eq!(parse_retry_base(Some("20")), 20);
        assert_eq!(parse_retry_base(Some(" 0 ")), 0);
        assert_eq!(parse_retry_base(Some("-1")), DEFAULT_RETRY_BASE_MS);
        assert_eq!(parse_retry_base(Some("soon")), DEFAULT_RETRY_BASE_MS);
        assert_eq!(parse_retry_base(None), DEFAULT_RETRY_BASE_MS);
    }
}
