//! Subscription bodies: what a subscription follows, where it pushes, from where it starts; and the bootstrap list.

use service_kit::request::json_i64;

use super::{
    check_subscription_name, Pattern, DEFAULT_MAX_ATTEMPTS, MAX_ATTEMPTS, MAX_ENDPOINT_LEN,
    MAX_PATTERNS,
};

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
