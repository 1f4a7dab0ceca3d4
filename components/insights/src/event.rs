//! Reading incoming CloudEvents into the changes the views understand (plain Rust, no Spin).
//!
//! A tolerant reader: only the fields the views use are read and checked, anything else in the
//! snapshot is ignored, so producers can add fields freely. An event of a type we do not know is
//! `Decoded::Ignored` (acknowledged, never a poison message); a known type whose data the views
//! could not use is an error (400), which the event log retries and then dead-letters.

use serde::Deserialize;
use serde_json::Value;
use service_kit::clock::parse_rfc3339;
use service_kit::CloudEvent;

use crate::projection::{AlertState, Priority, TicketStatus};

pub const CUSTOMER_UPSERTED: &str = "support.customer.upserted";
pub const TICKET_OPENED: &str = "support.ticket.opened";
pub const TICKET_UPDATED: &str = "support.ticket.updated";
pub const TEMPERATURE_WARNING: &str = "telemetry.temperature.warning";
pub const TEMPERATURE_RECOVERED: &str = "telemetry.temperature.recovered";

/// A customer's support details as the views keep them.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    pub id: String,
    pub name: String,
    pub tier: String,
    pub version: i64,
}

/// A ticket as the views keep it; times in Unix milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub id: i64,
    pub customer_id: String,
    pub priority: Priority,
    pub status: TicketStatus,
    pub version: i64,
    pub created_at: i64,
    pub resolved_at: Option<i64>,
}

/// A temperature alert as the views keep it; times in Unix milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub id: AlertId,
    pub sensor_id: String,
    pub state: AlertState,
    pub reason: String,
    pub celsius: f64,
    pub threshold: Option<f64>,
    pub last_celsius: Option<f64>,
    pub raised_at: i64,
    pub resolved_at: Option<i64>,
}

/// Alert ids are whatever telemetry uses, a number or a string; kept (and answered) as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[schema(description = "An alert id as telemetry gave it: a number or a string.")]
pub enum AlertId {
    Number(i64),
    Text(String),
}

/// One change to the views.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Customer(Customer),
    Ticket(Ticket),
    Alert(Alert),
}

/// What an event means to the views.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Apply(Change),
    /// A type the views do not use: acknowledged and ignored.
    Ignored,
}

/// Parses and checks a structured-mode CloudEvent body.
pub fn parse_cloud_event(body: &[u8]) -> Result<CloudEvent, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|err| format!("invalid JSON body: {err}"))?;
    if value.is_array() {
        return Err("one CloudEvent per request (structured mode), not an array".to_owned());
    }
    cloud_event_from_value(value)
}

/// A CloudEvent from parsed JSON, checked.
pub fn cloud_event_from_value(value: Value) -> Result<CloudEvent, String> {
    let event: CloudEvent =
        serde_json::from_value(value).map_err(|err| format!("not a CloudEvent: {err}"))?;
    event
        .validate()
        .map_err(|err| format!("not a valid CloudEvent: {err}"))?;
    Ok(event)
}

/// What `event` changes in the views, by its type.
pub fn decode(event: &CloudEvent) -> Result<Decoded, String> {
    let type_name = event.event_type.as_str();
    let change = match type_name {
        CUSTOMER_UPSERTED => Change::Customer(customer(data_field(event, "customer")?)?),
        TICKET_OPENED | TICKET_UPDATED => Change::Ticket(ticket(data_field(event, "ticket")?)?),
        TEMPERATURE_WARNING => {
            Change::Alert(alert(data_field(event, "alert")?, AlertState::Active)?)
        }
        TEMPERATURE_RECOVERED => {
            Change::Alert(alert(data_field(event, "alert")?, AlertState::Resolved)?)
        }
        _ => return Ok(Decoded::Ignored),
    };
    Ok(Decoded::Apply(change))
}

/// `data.<name>`, deserialised, or an error naming the event type and what is wrong.
fn data_field<T: serde::de::DeserializeOwned>(event: &CloudEvent, name: &str) -> Result<T, String> {
    let type_name = &event.event_type;
    let snapshot = event
        .data
        .as_ref()
        .and_then(|data| data.get(name))
        .ok_or_else(|| format!("{type_name}: data.{name} is missing"))?;
    T::deserialize(snapshot).map_err(|err| format!("{type_name}: data.{name}: {err}"))
}

#[derive(Deserialize)]
struct CustomerData {
    id: String,
    name: String,
    tier: String,
    version: i64,
}

#[derive(Deserialize)]
struct TicketData {
    id: i64,
    customer_id: String,
    priority: String,
    status: String,
    version: i64,
    created_at: String,
    #[serde(default)]
    resolved_at: Option<String>,
}

#[derive(Deserialize)]
struct AlertData {
    id: AlertId,
    sensor_id: String,
    state: String,
    reason: String,
    celsius: f64,
    #[serde(default)]
    threshold: Option<f64>,
    #[serde(default)]
    last_celsius: Option<f64>,
    raised_at: String,
    #[serde(default)]
    resolved_at: Option<String>,
}

fn customer(data: CustomerData) -> Result<Customer, String> {
    check_customer_id("data.customer.id", &data.id)?;
    check_version("data.customer.version", data.version)?;
    Ok(Customer {
        id: data.id,
        name: data.name,
        tier: data.tier,
        version: data.version,
    })
}

fn ticket(data: TicketData) -> Result<Ticket, String> {
    check_customer_id("data.ticket.customer_id", &data.customer_id)?;
    check_version("data.ticket.version", data.version)?;
    let priority = Priority::parse(&data.priority)
        .ok_or_else(|| format!("data.ticket.priority: unknown priority {:?}", data.priority))?;
    let status = TicketStatus::parse(&data.status)
        .ok_or_else(|| format!("data.ticket.status: unknown status {:?}", data.status))?;
    Ok(Ticket {
        id: data.id,
        customer_id: data.customer_id,
        priority,
        status,
        version: data.version,
        created_at: time_field("data.ticket.created_at", &data.created_at)?,
        resolved_at: opt_time_field("data.ticket.resolved_at", data.resolved_at.as_deref())?,
    })
}

/// `expected` is the state the event type announces; the snapshot must agree.
fn alert(data: AlertData, expected: AlertState) -> Result<Alert, String> {
    let state = AlertState::parse(&data.state)
        .ok_or_else(|| format!("data.alert.state: unknown state {:?}", data.state))?;
    if state != expected {
        return Err(format!(
            "data.alert.state: a {} event carries a {:?} alert",
            match expected {
                AlertState::Active => TEMPERATURE_WARNING,
                AlertState::Resolved => TEMPERATURE_RECOVERED,
            },
            data.state
        ));
    }
    if let AlertId::Text(id) = &data.id {
        check_text("data.alert.id", id)?;
    }
    check_text("data.alert.sensor_id", &data.sensor_id)?;
    check_text("data.alert.reason", &data.reason)?;
    Ok(Alert {
        id: data.id,
        sensor_id: data.sensor_id,
        state,
        reason: data.reason,
        celsius: data.celsius,
        threshold: data.threshold,
        last_celsius: data.last_celsius,
        raised_at: time_field("data.alert.raised_at", &data.raised_at)?,
        resolved_at: opt_time_field("data.alert.resolved_at", data.resolved_at.as_deref())?,
    })
}

/// Customer ids as the support API allows them: `[A-Za-z0-9_-]{1,64}`.
pub fn is_customer_id(id: &str) -> bool {
    service_kit::ids::is_id(id)
}

fn check_customer_id(field: &str, id: &str) -> Result<(), String> {
    if is_customer_id(id) {
        Ok(())
    } else {
        Err(format!(
            "{field}: {id:?} is not a customer id ([A-Za-z0-9_-]{{1,64}})"
        ))
    }
}

fn check_version(field: &str, version: i64) -> Result<(), String> {
    if version < 0 {
        return Err(format!("{field}: must not be negative, got {version}"));
    }
    Ok(())
}

fn check_text(field: &str, text: &str) -> Result<(), String> {
    if text.is_empty() || text.chars().count() > 256 {
        return Err(format!("{field}: must be 1 to 256 characters"));
    }
    Ok(())
}

fn time_field(field: &str, text: &str) -> Result<i64, String> {
    parse_rfc3339(text).map_err(|err| format!("{field}: {err}"))
}

fn opt_time_field(field: &str, text: Option<&str>) -> Result<Option<i64>, String> {
    text.map(|text| time_field(field, text)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(event_type: &str, data: Value) -> CloudEvent {
        CloudEvent::new("/test", event_type, None, data)
    }

    fn ticket_data() -> Value {
        json!({"ticket": {
            "id": 7, "customer_id": "c-1", "subject": "printer on fire", "priority": "high",
            "status": "resolved", "version": 3, "created_at": "2026-01-01T10:00:00Z",
            "updated_at": "2026-01-01T10:05:00Z", "resolved_at": "2026-01-01T10:05:00Z"
        }, "previous_status": "pending"})
    }

    #[test]
    fn a_ticket_snapshot_becomes_a_ticket_change() {
        let Decoded::Apply(Change::Ticket(ticket)) =
            decode(&event(TICKET_UPDATED, ticket_data())).unwrap()
        else {
            panic!("not a ticket change");
        };
        assert_eq!(ticket.id, 7);
        assert_eq!(ticket.priority, Priority::High);
        assert_eq!(ticket.status, TicketStatus::Resolved);
        assert_eq!(ticket.resolved_at.unwrap() - ticket.created_at, 300_000);
    }

    #[test]
    fn customers_and_alerts_decode_with_their_ids_as_given() {
        let customer = json!({"customer": {"id": "c-1", "name": "Ada", "email": "a@x.io",
            "tier": "pro", "phone": null, "version": 1}});
        assert!(matches!(
            decode(&event(CUSTOMER_UPSERTED, customer)).unwrap(),
            Decoded::Apply(Change::Customer(Customer { version: 1, .. }))
        ));
        let alert = json!({"alert": {"id": 12, "sensor_id": "s-1", "state": "resolved",
            "reason": "above_max", "celsius": 40.5, "threshold": 35, "raised_at": "2026-01-01T10:00:00Z",
            "resolved_at": "2026-01-01T10:01:00Z", "last_celsius": 30}});
        let Decoded::Apply(Change::Alert(alert)) =
            decode(&event(TEMPERATURE_RECOVERED, alert)).unwrap()
        else {
            panic!("not an alert change");
        };
        assert_eq!(alert.id, AlertId::Number(12));
        assert_eq!(alert.state, AlertState::Resolved);
        assert_eq!(alert.threshold, Some(35.0));
    }

    #[test]
    fn unknown_types_are_ignored_not_refused() {
        assert_eq!(
            decode(&event("billing.invoice.paid", json!(42))).unwrap(),
            Decoded::Ignored
        );
    }

    #[test]
    fn bad_data_for_a_known_type_is_named() {
        let err = decode(&event(TICKET_OPENED, json!({"nothing": 1}))).unwrap_err();
        assert!(err.contains("data.ticket is missing"), "{err}");
        let mut data = ticket_data();
        data["ticket"]["priority"] = json!("whenever");
        let err = decode(&event(TICKET_OPENED, data)).unwrap_err();
        assert!(
            err.contains("priority") && err.contains("whenever"),
            "{err}"
        );
        let mut data = ticket_data();
        data["ticket"]["created_at"] = json!("yesterday");
        assert!(decode(&event(TICKET_OPENED, data))
            .unwrap_err()
            .contains("created_at"));
        let mut data = ticket_data();
        data["ticket"]["customer_id"] = json!("no spaces please");
        assert!(decode(&event(TICKET_OPENED, data))
            .unwrap_err()
            .contains("customer_id"));
        let alert = json!({"alert": {"id": "a", "sensor_id": "s", "state": "active", "reason": "above_max",
            "celsius": 40, "raised_at": "2026-01-01T10:00:00Z"}});
        let err = decode(&event(TEMPERATURE_RECOVERED, alert)).unwrap_err();
        assert!(err.contains("state"), "{err}");
    }

    #[test]
    fn bodies_must_be_one_valid_cloud_event() {
        let good = serde_json::to_vec(&event(TICKET_OPENED, ticket_data())).unwrap();
        assert!(parse_cloud_event(&good).is_ok());
        assert!(parse_cloud_event(b"[]").unwrap_err().contains("array"));
        assert!(parse_cloud_event(b"{").unwrap_err().contains("JSON"));
        assert!(parse_cloud_event(br#"{"id": "1"}"#)
            .unwrap_err()
            .contains("CloudEvent"));
        let bad = br#"{"specversion": "0.3", "id": "1", "source": "/x", "type": "t"}"#;
        assert!(parse_cloud_event(bad).unwrap_err().contains("specversion"));
    }

    #[test]
    fn customer_ids_follow_the_support_api() {
        assert!(is_customer_id("Cust_01-a"));
        assert!(!is_customer_id(""));
        assert!(!is_customer_id("a/b"));
        assert!(!is_customer_id(&"x".repeat(65)));
    }
}
