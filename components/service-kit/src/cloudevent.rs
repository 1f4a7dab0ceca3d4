//! CloudEvents 1.0 in JSON structured mode: the envelope every event in the system travels in.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The media type of one event in structured mode.
pub const CONTENT_TYPE: &str = "application/cloudevents+json";
/// The media type of an array of events (batched mode).
pub const BATCH_CONTENT_TYPE: &str = "application/cloudevents-batch+json";

/// One CloudEvent. Unknown attributes are extensions, kept as they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudEvent {
    pub specversion: String,
    pub id: String,
    pub source: String,
    #[serde(rename = "type")]
    pub event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datacontenttype: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

impl CloudEvent {
    /// A new event with a fresh id, the current time and JSON `data`, carrying the current
    /// request's id as `requestid` when it has one (so the event can be traced to its cause).
    pub fn new(source: &str, event_type: &str, subject: Option<String>, data: Value) -> CloudEvent {
        let mut extensions = Map::new();
        if let Some(id) = crate::trace::request_id() {
            extensions.insert(crate::trace::ATTRIBUTE.to_owned(), Value::String(id));
        }
        CloudEvent {
            specversion: "1.0".to_owned(),
            id: uuid::Uuid::new_v4().to_string(),
            source: source.to_owned(),
            event_type: event_type.to_owned(),
            time: Some(crate::clock::now_rfc3339()),
            datacontenttype: Some("application/json".to_owned()),
            subject,
            data: Some(data),
            extensions,
        }
    }

    /// Checks the attributes the spec requires and the limits the log keeps.
    pub fn validate(&self) -> Result<(), String> {
        if self.specversion != "1.0" {
            return Err(format!(
                "specversion must be \"1.0\", got {:?}",
                self.specversion
            ));
        }
        for (name, value) in [
            ("id", &self.id),
            ("source", &self.source),
            ("type", &self.event_type),
        ] {
            if value.is_empty() {
                return Err(format!("{name} must not be empty"));
            }
            // Characters, not bytes: JSON Schema's `maxLength`, which the contracts state, counts those.
            if value.chars().count() > 256 {
                return Err(format!("{name} is longer than 256 characters"));
            }
        }
        if let Some(time) = &self.time {
            crate::clock::parse_rfc3339(time).map_err(|err| format!("time: {err}"))?;
        }
        for name in self.extensions.keys() {
            let valid = !name.is_empty()
                && name.len() <= 20
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
            if !valid {
                return Err(format!(
                    "attribute {name:?} is unknown, and extension names are 1 to 20 lowercase letters or digits"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn structured_json_round_trips_with_extensions() {
        let text = json!({
            "specversion": "1.0", "id": "e-1", "source": "/support", "type": "support.ticket.opened",
            "time": "2026-11-23T10:00:00Z", "datacontenttype": "application/json",
            "data": {"ticket": 7}, "requestid": "abc"
        });
        let event: CloudEvent = serde_json::from_value(text.clone()).unwrap();
        assert_eq!(event.event_type, "support.ticket.opened");
        assert_eq!(event.extensions["requestid"], "abc");
        assert!(event.validate().is_ok());
        assert_eq!(serde_json::to_value(&event).unwrap(), text);
    }

    #[test]
    fn new_events_are_valid_and_unique() {
        let a = CloudEvent::new(
            "/telemetry",
            "telemetry.temperature.warning",
            None,
            json!({}),
        );
        let b = CloudEvent::new(
            "/telemetry",
            "telemetry.temperature.warning",
            None,
            json!({}),
        );
        assert!(a.validate().is_ok());
        assert_ne!(a.id, b.id);
    }

    #[test]
    fn new_events_carry_the_current_request_id() {
        crate::trace::begin_with(Some("r-42"));
        let traced = CloudEvent::new("/x", "x.y", None, json!(null));
        crate::trace::begin_with(None);
        let untraced = CloudEvent::new("/x", "x.y", None, json!(null));
        assert_eq!(traced.extensions["requestid"], "r-42");
        assert!(traced.validate().is_ok());
        assert!(untraced.extensions.is_empty());
    }

    #[test]
    fn missing_and_bad_attributes_are_named() {
        let mut event = CloudEvent::new("/x", "x.y", None, json!(null));
        event.specversion = "0.3".into();
        assert!(event.validate().unwrap_err().contains("specversion"));
        let mut event = CloudEvent::new("/x", "x.y", None, json!(null));
        event.id.clear();
        assert!(event.validate().unwrap_err().contains("id"));
        let mut event = CloudEvent::new("/x", "x.y", None, json!(null));
        event.time = Some("soon".into());
        assert!(event.validate().unwrap_err().contains("time"));
        let mut event = CloudEvent::new("/x", "x.y", None, json!(null));
        event.extensions.insert("Bad-Name".into(), json!(1));
        assert!(event.validate().unwrap_err().contains("Bad-Name"));
        let mut event = CloudEvent::new("/x", "x.y", None, json!(null));
        event.id = "é".repeat(256);
        assert!(event.validate().is_ok(), "256 characters, though 512 bytes");
        event.id.push('é');
        assert!(event.validate().unwrap_err().contains("id"));
        assert!(
            serde_json::from_value::<CloudEvent>(json!({"specversion": "1.0", "id": "1"})).is_err()
        );
    }
}
