//! The events the service publishes (through its outbox), as the event contract defines them.

use serde_json::json;
use service_kit::CloudEvent;

use crate::customer::Customer;
use crate::ticket::{Status, Ticket};

pub const SOURCE: &str = "/support";
pub const CUSTOMERS_TOPIC: &str = "support.customers";
pub const TICKETS_TOPIC: &str = "support.tickets";
pub const CUSTOMER_UPSERTED: &str = "support.customer.upserted";
pub const TICKET_OPENED: &str = "support.ticket.opened";
pub const TICKET_UPDATED: &str = "support.ticket.updated";

/// A customer was created or changed: its full snapshot.
pub fn customer_upserted(customer: &Customer) -> CloudEvent {
    CloudEvent::new(
        SOURCE,
        CUSTOMER_UPSERTED,
        Some(format!("customers/{}", customer.id)),
        json!({ "customer": customer.view() }),
    )
}

/// A ticket was opened: its first snapshot.
pub fn ticket_opened(ticket: &Ticket) -> CloudEvent {
    ticket_event(TICKET_OPENED, ticket, None)
}

/// A ticket changed: its new snapshot and the status it had before.
pub fn ticket_updated(ticket: &Ticket, previous_status: Status) -> CloudEvent {
    ticket_event(TICKET_UPDATED, ticket, Some(previous_status))
}

fn ticket_event(event_type: &str, ticket: &Ticket, previous_status: Option<Status>) -> CloudEvent {
    CloudEvent::new(
        SOURCE,
        event_type,
        Some(format!("tickets/{}", ticket.id)),
        json!({ "ticket": ticket.summary(), "previous_status": previous_status }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::parse_details;
    use crate::ticket::{parse_new_ticket, TicketPatch};

    #[test]
    fn customer_events_carry_the_full_snapshot() {
        let details =
            parse_details(json!({ "name": "n", "email": "a@b.io", "tier": "pro" })).unwrap();
        let event = customer_upserted(&Customer::new("c1", details, 0));
        assert!(event.validate().is_ok());
        assert_eq!(
            (event.source.as_str(), event.event_type.as_str()),
            (SOURCE, CUSTOMER_UPSERTED)
        );
        assert_eq!(event.subject.as_deref(), Some("customers/c1"));
        let data = event.data.unwrap();
        assert_eq!(data["customer"]["version"], 1);
        assert_eq!(data["customer"]["tier"], "pro");
        assert_eq!(data["customer"]["phone"], serde_json::Value::Null);
    }

    #[test]
    fn ticket_events_carry_the_snapshot_and_previous_status() {
        let new = parse_new_ticket(json!({ "subject": "s", "description": "secret" })).unwrap();
        let ticket = Ticket::opened(5, "c1", new, 0);
        let opened = ticket_opened(&ticket);
        assert_eq!(opened.subject.as_deref(), Some("tickets/5"));
        let data = opened.data.unwrap();
        assert_eq!(data["previous_status"], serde_json::Value::Null);
        assert_eq!(data["ticket"]["status"], "open");
        assert!(data["ticket"].get("description").is_none());

        let patch = TicketPatch {
            status: Some(Status::Resolved),
            priority: None,
        };
        let resolved = ticket.patched(&patch, 10).unwrap().unwrap();
        let updated = ticket_updated(&resolved, Status::Open);
        assert_eq!(updated.event_type, TICKET_UPDATED);
        let data = updated.data.unwrap();
        assert_eq!(data["previous_status"], "open");
        assert_eq!(data["ticket"]["status"], "resolved");
        assert_eq!(data["ticket"]["version"], 2);
        assert_eq!(data["ticket"]["resolved_at"], "1970-01-01T00:00:00.01Z");
    }
}
