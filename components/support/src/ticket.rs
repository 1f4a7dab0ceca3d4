//! Tickets: what a new ticket may hold, the statuses a help desk moves it through, and patches.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use service_kit::clock::format_millis;
use utoipa::ToSchema;

use crate::error::{check_length, check_line, invalid, SupportError};
use crate::wire::{NewTicketBody, TicketSummary, TicketView};

pub const MAX_SUBJECT_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;

/// How urgent a ticket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    pub fn parse(text: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

/// Where a ticket is: open -> pending or resolved; pending -> open or resolved; resolved -> open
/// or closed; closed is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Pending,
    Resolved,
    Closed,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Open,
        Status::Pending,
        Status::Resolved,
        Status::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Pending => "pending",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Where a ticket may go from here: work on it (pending = waiting for the customer), resolve
    /// it, reopen a resolved one, close a resolved one. Closed is final.
    pub fn allowed_next(self) -> &'static [Status] {
        match self {
            Status::Open => &[Status::Pending, Status::Resolved],
            Status::Pending => &[Status::Open, Status::Resolved],
            Status::Resolved => &[Status::Open, Status::Closed],
            Status::Closed => &[],
        }
    }
}

/// A new ticket, validated and with its defaults applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewTicket {
    pub subject: String,
    pub description: String,
    pub priority: Priority,
}

pub fn parse_new_ticket(body: Value) -> Result<NewTicket, SupportError> {
    let body: NewTicketBody = serde_json::from_value(body)
        .map_err(|err| SupportError::Invalid(format!("invalid ticket: {err}")))?;
    check_line("subject", &body.subject, MAX_SUBJECT_CHARS)?;
    check_length("description", &body.description, MAX_DESCRIPTION_CHARS)?;
    let priority = match body.priority.as_deref() {
        None => Priority::Normal,
        Some(text) => Priority::parse(text).ok_or_else(|| priority_error(text))?,
    };
    Ok(NewTicket {
        subject: body.subject,
        description: body.description,
        priority,
    })
}

fn priority_error(text: &str) -> SupportError {
    invalid(
        "priority",
        format!("must be low, normal, high or urgent; got {text:?}"),
    )
}

/// A stored ticket. Times are Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: i64,
    pub customer_id: String,
    pub subject: String,
    pub description: String,
    pub priority: Priority,
    pub status: Status,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub resolved_at: Option<i64>,
}

impl Ticket {
    /// A ticket as created: open, version 1.
    pub fn opened(id: i64, customer_id: &str, new: NewTicket, now: i64) -> Ticket {
        Ticket {
            id,
            customer_id: customer_id.to_owned(),
            subject: new.subject,
            description: new.description,
            priority: new.priority,
            status: Status::Open,
            version: 1,
            created_at: now,
            updated_at: now,
            resolved_at: None,
        }
    }

    /// The summary (also the event snapshot): everything but the description.
    pub fn summary(&self) -> TicketSummary {
        TicketSummary {
            id: self.id,
            customer_id: self.customer_id.clone(),
            subject: self.subject.clone(),
            priority: self.priority,
            status: self.status,
            version: self.version,
            created_at: format_millis(self.created_at),
            updated_at: format_millis(self.updated_at),
            resolved_at: self.resolved_at.map(format_millis),
        }
    }

    /// The full representation.
    pub fn view(&self) -> TicketView {
        TicketView {
            summary: self.summary(),
            description: self.description.clone(),
        }
    }

    /// Applies a patch: the changed ticket (version + 1), or `None` when the patch changes nothing.
    pub fn patched(&self, patch: &TicketPatch, now: i64) -> Result<Option<Ticket>, SupportError> {
        let status = patch.status.unwrap_or(self.status);
        let priority = patch.priority.unwrap_or(self.priority);
        if status == self.status && priority == self.priority {
            return Ok(None);
        }
        if self.status == Status::Closed {
            return Err(SupportError::TicketClosed(self.id));
        }
        if status != self.status && !self.status.allowed_next().contains(&status) {
            return Err(SupportError::Transition {
                from: self.status.as_str(),
                to: status.as_str(),
                allowed: self
                    .status
                    .allowed_next()
                    .iter()
                    .map(|s| s.as_str())
                    .collect(),
            });
        }
        let resolved_at = match status {
            Status::Resolved if self.status != Status::Resolved => Some(now),
            Status::Open => None,
            _ => self.resolved_at,
        };
        Ok(Some(Ticket {
            priority,
            status,
            resolved_at,
            version: self.version + 1,
            updated_at: now.max(self.updated_at),
            ..self.clone()
        }))
    }
}

/// A `PATCH /support/tickets/{id}` body (JSON merge patch): fields absent are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketPatch {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
}

pub fn parse_patch(body: Value) -> Result<TicketPatch, SupportError> {
    let Value::Object(fields) = body else {
        return Err(SupportError::Invalid(
            "a ticket patch is a JSON object such as {\"status\": \"resolved\"}".into(),
        ));
    };
    let mut patch = TicketPatch::default();
    for (name, value) in &fields {
        match name.as_str() {
            "status" => {
                let text = patch_text(name, value)?;
                let status = Status::parse(text).ok_or_else(|| {
                    invalid(
                        "status",
                        format!("must be open, pending, resolved or closed; got {text:?}"),
                    )
                })?;
                patch.status = Some(status);
            }
            "priority" => {
                let text = patch_text(name, value)?;
                patch.priority = Some(Priority::parse(text).ok_or_else(|| priority_error(text))?);
            }
            other => {
                return Err(SupportError::Invalid(format!(
                    "unknown field {other:?}: a ticket patch may set status and priority"
                )))
            }
        }
    }
    Ok(patch)
}

fn patch_text<'a>(name: &str, value: &'a Value) -> Result<&'a str, SupportError> {
    match value {
        Value::String(text) => Ok(text),
        Value::Null => Err(invalid(name, "cannot be removed (null); give a value")),
        other => Err(invalid(name, format!("must be a string, got {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ticket(status: Status) -> Ticket {
        let new = parse_new_ticket(json!({ "subject": "Printer on fire" })).unwrap();
        Ticket {
            status,
            ..Ticket::opened(7, "c1", new, 1_000)
        }
    }

    fn patch(status: Option<Status>, priority: Option<Priority>) -> TicketPatch {
        TicketPatch { status, priority }
    }

    #[test]
    fn new_tickets_default_to_normal_priority_and_no_description() {
        let new = parse_new_ticket(json!({ "subject": "Help" })).unwrap();
        assert_eq!(
            new,
            NewTicket {
                subject: "Help".into(),
                description: String::new(),
                priority: Priority::Normal
            }
        );
        let urgent =
            parse_new_ticket(json!({ "subject": "s", "description": "d", "priority": "urgent" }))
                .unwrap();
        assert_eq!(urgent.priority, Priority::Urgent);
    }

    #[test]
    fn new_ticket_fields_are_checked() {
        let problem = |body: Value| parse_new_ticket(body).unwrap_err().to_string();
        assert!(problem(json!({ "subject": "" })).starts_with("subject:"));
        assert!(problem(json!({ "subject": " \t" })).starts_with("subject:"));
        assert!(problem(json!({ "subject": "x".repeat(201) })).contains("201"));
        assert!(parse_new_ticket(json!({ "subject": "x".repeat(200) })).is_ok());
        assert!(
            parse_new_ticket(json!({ "subject": "s", "description": "d".repeat(10_000) })).is_ok()
        );
        assert!(
            problem(json!({ "subject": "s", "description": "d".repeat(10_001) }))
                .starts_with("description:")
        );
        assert!(problem(json!({ "subject": "s", "priority": "asap" })).contains("\"asap\""));
        assert!(problem(json!({ "subject": "s", "status": "open" })).contains("status"));
        assert!(problem(json!({ "description": "d" })).contains("subject"));
        assert!(problem(json!("s")).contains("invalid ticket"));
    }

    #[test]
    fn the_help_desk_transitions_are_allowed() {
        use Status::*;
        for (from, to) in [
            (Open, Pending),
            (Open, Resolved),
            (Pending, Open),
            (Pending, Resolved),
            (Resolved, Open),
            (Resolved, Closed),
        ] {
            let changed = ticket(from)
                .patched(&patch(Some(to), None), 2_000)
                .unwrap()
                .unwrap();
            assert_eq!(changed.status, to);
            assert_eq!(changed.version, 2);
            assert_eq!(changed.updated_at, 2_000);
        }
    }

    #[test]
    fn other_transitions_are_conflicts_naming_the_allowed_ones() {
        use Status::*;
        for (from, to) in [(Open, Closed), (Pending, Closed)] {
            let err = ticket(from)
                .patched(&patch(Some(to), None), 2_000)
                .unwrap_err();
            assert_eq!(err.status(), 409);
            assert!(err.to_string().contains("resolved"), "{err}");
        }
    }

    #[test]
    fn closed_is_final() {
        let closed = ticket(Status::Closed);
        for change in [
            patch(Some(Status::Open), None),
            patch(None, Some(Priority::High)),
        ] {
            assert_eq!(
                closed.patched(&change, 2_000).unwrap_err(),
                SupportError::TicketClosed(7)
            );
        }
        // Asking for what it already is changes nothing, so a retried close still succeeds.
        assert_eq!(
            closed.patched(&patch(Some(Status::Closed), Some(Priority::Normal)), 2_000),
            Ok(None)
        );
    }

    #[test]
    fn resolving_stamps_the_time_and_reopening_clears_it() {
        let resolved = ticket(Status::Open)
            .patched(&patch(Some(Status::Resolved), None), 2_000)
            .unwrap()
            .unwrap();
        assert_eq!(resolved.resolved_at, Some(2_000));
        let closed = resolved
            .patched(&patch(Some(Status::Closed), None), 3_000)
            .unwrap()
            .unwrap();
        assert_eq!(closed.resolved_at, Some(2_000));
        let reopened = resolved
            .patched(&patch(Some(Status::Open), None), 3_000)
            .unwrap()
            .unwrap();
        assert_eq!(reopened.resolved_at, None);
        assert_eq!(reopened.version, 3);
        let reprioritised = resolved
            .patched(&patch(None, Some(Priority::Low)), 4_000)
            .unwrap()
            .unwrap();
        assert_eq!(reprioritised.resolved_at, Some(2_000));
    }

    #[test]
    fn a_patch_that_changes_nothing_is_a_no_op() {
        let open = ticket(Status::Open);
        assert_eq!(open.patched(&TicketPatch::default(), 2_000), Ok(None));
        assert_eq!(
            open.patched(&patch(Some(Status::Open), Some(Priority::Normal)), 2_000),
            Ok(None)
        );
        let both = open
            .patched(&patch(Some(Status::Pending), Some(Priority::High)), 2_000)
            .unwrap()
            .unwrap();
        assert_eq!(
            (both.status, both.priority, both.version),
            (Status::Pending, Priority::High, 2)
        );
    }

    #[test]
    fn patches_parse_status_and_priority_only() {
        assert_eq!(parse_patch(json!({})), Ok(TicketPatch::default()));
        assert_eq!(
            parse_patch(json!({ "status": "pending", "priority": "low" })),
            Ok(patch(Some(Status::Pending), Some(Priority::Low)))
        );
        let problem = |body: Value| parse_patch(body).unwrap_err().to_string();
        assert!(problem(json!({ "status": "done" })).contains("\"done\""));
        assert!(problem(json!({ "status": null })).contains("null"));
        assert!(problem(json!({ "priority": 3 })).starts_with("priority:"));
        assert!(problem(json!({ "subject": "x" })).contains("\"subject\""));
        assert!(problem(json!([])).contains("JSON object"));
    }

    #[test]
    fn the_summary_is_the_event_snapshot() {
        let summary = serde_json::to_value(ticket(Status::Open).summary()).unwrap();
        assert_eq!(
            summary,
            json!({
                "id": 7, "customer_id": "c1", "subject": "Printer on fire", "priority": "normal",
                "status": "open", "version": 1, "created_at": "1970-01-01T00:00:01Z",
                "updated_at": "1970-01-01T00:00:01Z", "resolved_at": null
            })
        );
        let view = serde_json::to_value(ticket(Status::Open).view()).unwrap();
        assert_eq!(view["description"], "");
        assert_eq!(view["id"], 7);
    }
}

#[cfg(test)]
mod fingerprint_tests {
    //! The fingerprint an `Idempotency-Key` is stored with sees the validated request.
    use super::parse_new_ticket;
    use serde_json::json;
    use service_kit::idempotency::fingerprint;

    fn print(body: serde_json::Value) -> String {
        fingerprint(&parse_new_ticket(body).unwrap())
    }

    #[test]
    fn the_same_request_has_the_same_fingerprint() {
        let a = print(json!({ "subject": "s", "description": "d", "priority": "normal" }));
        let b = print(
            serde_json::from_str(r#"{"priority":"normal",  "description":"d","subject":"s"}"#)
                .unwrap(),
        );
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        // Defaults are part of the request: omitting them is the same request.
        assert_eq!(
            print(json!({ "subject": "s", "description": "" })),
            print(json!({ "subject": "s", "priority": "normal" }))
        );
    }

    #[test]
    fn a_different_request_has_a_different_fingerprint() {
        let base = print(json!({ "subject": "s", "description": "d" }));
        assert_ne!(base, print(json!({ "subject": "s2", "description": "d" })));
        assert_ne!(base, print(json!({ "subject": "s", "description": "d2" })));
        assert_ne!(
            base,
            print(json!({ "subject": "s", "description": "d", "priority": "high" }))
        );
        // No ambiguity from where one field ends and the next begins.
        assert_ne!(
            print(json!({ "subject": "ab", "description": "c" })),
            print(json!({ "subject": "a", "description": "bc" }))
        );
    }
}
