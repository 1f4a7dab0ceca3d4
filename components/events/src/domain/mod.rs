//! The event log's rules: names, subscription patterns, publish bodies, subscription bodies and
//! retry backoff, one module each (`names`, `subscription`, `publish`, `retry`); the limits they
//! share are here. Plain Rust: no I/O, no Spin.

use service_kit::request::media_type;
use service_kit::ApiError;

mod names;
mod publish;
mod retry;
mod subscription;

pub use names::*;
pub use publish::*;
pub use retry::*;
pub use subscription::*;

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
