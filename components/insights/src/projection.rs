//! The projection rules (plain Rust, no Spin): which incoming snapshot replaces the stored one,
//! how tickets count, and the view shapes the API answers.
//!
//! Events arrive at least once and, across topics or after a retry, in any order. Every rule here
//! is therefore idempotent and order-tolerant: applying the same set of events in any order, any
//! number of times, ends in the same views.

use serde::Serialize;
use service_kit::clock::format_millis;
use utoipa::ToSchema;

use crate::event::{Alert, Ticket};
use crate::wire::{AlertView, CustomerView, OpenByPriority, Summary};

/// Ticket priorities, as support defines them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub fn parse(text: &str) -> Option<Priority> {
        match text {
            "low" => Some(Priority::Low),
            "normal" => Some(Priority::Normal),
            "high" => Some(Priority::High),
            "urgent" => Some(Priority::Urgent),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

/// Ticket statuses, as support defines them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketStatus {
    Open,
    Pending,
    Resolved,
    Closed,
}

impl TicketStatus {
    pub fn parse(text: &str) -> Option<TicketStatus> {
        match text {
            "open" => Some(TicketStatus::Open),
            "pending" => Some(TicketStatus::Pending),
            "resolved" => Some(TicketStatus::Resolved),
            "closed" => Some(TicketStatus::Closed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Open => "open",
            TicketStatus::Pending => "pending",
            TicketStatus::Resolved => "resolved",
            TicketStatus::Closed => "closed",
        }
    }

    /// Open work: open or pending (waiting on the customer is still open work).
    pub fn is_open(self) -> bool {
        matches!(self, TicketStatus::Open | TicketStatus::Pending)
    }
}

/// Alert states; `Resolved` is final for an alert id (an episode never re-opens: a new one gets a new id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(description = "Whether an alert's episode is still going on.")]
pub enum AlertState {
    Active,
    Resolved,
}

impl AlertState {
    pub fn parse(text: &str) -> Option<AlertState> {
        match text {
            "active" => Some(AlertState::Active),
            "resolved" => Some(AlertState::Resolved),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Active => "active",
            AlertState::Resolved => "resolved",
        }
    }
}

/// Whether a snapshot of version `incoming` replaces the stored one (`None`: nothing stored yet).
/// Only a strictly newer version does, so a stale or repeated event changes nothing.
pub fn supersedes(stored_version: Option<i64>, incoming_version: i64) -> bool {
    stored_version.is_none_or(|stored| incoming_version > stored)
}

/// Whether an alert snapshot in state `incoming` replaces the stored one. Alerts carry no version,
/// but their states only move forward (active -> resolved), so the later state wins whatever order
/// the warning and the recovery arrive in, and a repeat of the same state changes nothing.
pub fn alert_supersedes(stored: Option<AlertState>, incoming: AlertState) -> bool {
    stored.is_none_or(|stored| incoming > stored)
}

/// How long a finished ticket took, in milliseconds: counted only for resolved or closed tickets
/// that carry a resolution time; a clock skew that puts it before creation counts as zero.
pub fn resolve_millis(ticket: &Ticket) -> Option<i64> {
    if ticket.status.is_open() {
        return None;
    }
    ticket
        .resolved_at
        .map(|resolved| (resolved - ticket.created_at).max(0))
}

/// The mean of `count` durations summing to `total_millis`, in seconds (millisecond precision).
pub fn mean_seconds(total_millis: i64, count: i64) -> Option<f64> {
    if count <= 0 {
        return None;
    }
    Some((total_millis as f64 / count as f64).round() / 1000.0)
}

/// A customer's tickets, summed up by the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TicketTotals {
    pub total: i64,
    pub open: i64,
    /// Sum of `resolve_millis` over the tickets that have one, and how many those are.
    pub resolve_millis_sum: i64,
    pub resolve_count: i64,
}

impl CustomerView {
    /// The view, or `None` when nothing at all is known about the customer.
    pub fn new(
        customer_id: &str,
        details: Option<(String, String)>,
        totals: TicketTotals,
    ) -> Option<CustomerView> {
        if details.is_none() && totals.total == 0 {
            return None;
        }
        let (name, tier) = details.unzip();
        Some(CustomerView {
            customer_id: customer_id.to_owned(),
            name,
            tier,
            open: totals.open,
            // Statuses are validated on the way in, so whatever is not open is resolved or closed.
            resolved: totals.total - totals.open,
            total: totals.total,
            mean_time_to_resolve_seconds: mean_seconds(
                totals.resolve_millis_sum,
                totals.resolve_count,
            ),
        })
    }
}

impl OpenByPriority {
    pub fn add(&mut self, priority: Priority, count: i64) {
        match priority {
            Priority::Low => self.low += count,
            Priority::Normal => self.normal += count,
            Priority::High => self.high += count,
            Priority::Urgent => self.urgent += count,
        }
    }

    pub fn total(&self) -> i64 {
        self.low + self.normal + self.high + self.urgent
    }
}

impl Summary {
    pub fn new(open_by_priority: OpenByPriority, totals: TicketTotals, customers: i64) -> Summary {
        Summary {
            open_by_priority,
            open_total: open_by_priority.total(),
            tickets_total: totals.total,
            customers,
            mean_time_to_resolve_seconds: mean_seconds(
                totals.resolve_millis_sum,
                totals.resolve_count,
            ),
        }
    }
}

impl From<&Alert> for AlertView {
    fn from(alert: &Alert) -> AlertView {
        AlertView {
            id: alert.id.clone(),
            sensor_id: alert.sensor_id.clone(),
            state: alert.state,
            reason: alert.reason.clone(),
            celsius: alert.celsius,
            threshold: alert.threshold,
            last_celsius: alert.last_celsius,
            raised_at: format_millis(alert.raised_at),
            resolved_at: alert.resolved_at.map(format_millis),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{AlertId, Change, Customer};
    use std::collections::HashMap;

    /// The views in memory, folded with the same rules the store applies row by row.
    #[derive(Default, Debug, PartialEq)]
    struct Views {
        customers: HashMap<String, Customer>,
        tickets: HashMap<i64, Ticket>,
        alerts: HashMap<AlertId, Alert>,
    }

    impl Views {
        fn apply(&mut self, change: &Change) {
            match change {
                Change::Customer(c) => {
                    if supersedes(self.customers.get(&c.id).map(|s| s.version), c.version) {
                        self.customers.insert(c.id.clone(), c.clone());
                    }
                }
                Change::Ticket(t) => {
                    if supersedes(self.tickets.get(&t.id).map(|s| s.version), t.version) {
                        self.tickets.insert(t.id, t.clone());
                    }
                }
                Change::Alert(a) => {
                    if alert_supersedes(self.alerts.get(&a.id).map(|s| s.state), a.state) {
                        self.alerts.insert(a.id.clone(), a.clone());
                    }
                }
            }
        }
    }

    fn ticket(
        version: i64,
        status: TicketStatus,
        created_at: i64,
        resolved_at: Option<i64>,
    ) -> Ticket {
        Ticket {
            id: 1,
            customer_id: "c-1".into(),
            priority: Priority::Normal,
            status,
            version,
            created_at,
            resolved_at,
        }
    }

    fn alert(state: AlertState) -> Alert {
        Alert {
            id: AlertId::Text("a-1".into()),
            sensor_id: "s-1".into(),
            state,
            reason: "above_max".into(),
            celsius: 41.0,
            threshold: Some(35.0),
            last_celsius: None,
            raised_at: 1_000,
            resolved_at: (state == AlertState::Resolved).then_some(2_000),
        }
    }

    /// Every order of `items` (small inputs only).
    fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
        if items.len() <= 1 {
            return vec![items.to_vec()];
        }
        let mut all = Vec::new();
        for i in 0..items.len() {
            let mut rest = items.to_vec();
            let first = rest.remove(i);
            for mut tail in permutations(&rest) {
                tail.insert(0, first.clone());
                all.push(tail);
            }
        }
        all
    }

    #[test]
    fn only_a_newer_version_replaces_a_snapshot() {
        assert!(supersedes(None, 1));
        assert!(supersedes(Some(1), 2));
        assert!(!supersedes(Some(2), 2), "a repeat changes nothing");
        assert!(!supersedes(Some(3), 2), "a stale snapshot changes nothing");
    }

    #[test]
    fn recovered_wins_over_warning_in_either_order() {
        assert!(alert_supersedes(None, AlertState::Active));
        assert!(alert_supersedes(
            Some(AlertState::Active),
            AlertState::Resolved
        ));
        assert!(!alert_supersedes(
            Some(AlertState::Resolved),
            AlertState::Active
        ));
        assert!(!alert_supersedes(
            Some(AlertState::Active),
            AlertState::Active
        ));
        for order in permutations(&[alert(AlertState::Active), alert(AlertState::Resolved)]) {
            let mut views = Views::default();
            for a in &order {
                views.apply(&Change::Alert(a.clone()));
            }
            assert_eq!(
                views.alerts[&AlertId::Text("a-1".into())].state,
                AlertState::Resolved
            );
        }
    }

    #[test]
    fn ticket_versions_in_any_order_and_repeated_end_in_the_newest() {
        let versions = [
            ticket(1, TicketStatus::Open, 0, None),
            ticket(2, TicketStatus::Pending, 0, None),
            ticket(3, TicketStatus::Resolved, 0, Some(60_000)),
            ticket(2, TicketStatus::Pending, 0, None),
        ];
        let mut results = Vec::new();
        for order in permutations(&versions) {
            let mut views = Views::default();
            for t in &order {
                views.apply(&Change::Ticket(t.clone()));
            }
            results.push(views);
        }
        assert!(results.iter().all(|views| views.tickets[&1] == versions[2]));
    }

    #[test]
    fn customer_details_follow_the_newest_version() {
        let v = |version: i64, name: &str| Customer {
            id: "c-1".into(),
            name: name.into(),
            tier: "pro".into(),
            version,
        };
        let mut views = Views::default();
        for c in [v(2, "Ada L."), v(1, "Ada"), v(2, "Ada L.")] {
            views.apply(&Change::Customer(c));
        }
        assert_eq!(views.customers["c-1"].name, "Ada L.");
    }

    #[test]
    fn time_to_resolve_counts_finished_tickets_only() {
        assert_eq!(
            resolve_millis(&ticket(3, TicketStatus::Resolved, 1_000, Some(61_000))),
            Some(60_000)
        );
        assert_eq!(
            resolve_millis(&ticket(4, TicketStatus::Closed, 1_000, Some(2_000))),
            Some(1_000)
        );
        assert_eq!(
            resolve_millis(&ticket(2, TicketStatus::Open, 1_000, Some(2_000))),
            None,
            "re-opened"
        );
        assert_eq!(
            resolve_millis(&ticket(4, TicketStatus::Closed, 1_000, None)),
            None,
            "closed unresolved"
        );
        assert_eq!(
            resolve_millis(&ticket(3, TicketStatus::Resolved, 5_000, Some(1_000))),
            Some(0),
            "skew"
        );
    }

    #[test]
    fn mean_time_to_resolve_is_in_seconds_or_null() {
        assert_eq!(mean_seconds(0, 0), None);
        assert_eq!(mean_seconds(600_000 + 1_200_000, 2), Some(900.0));
        assert_eq!(mean_seconds(1_001, 2), Some(0.501));
    }

    #[test]
    fn a_customer_view_needs_something_known() {
        assert_eq!(
            CustomerView::new("c-9", None, TicketTotals::default()),
            None
        );
        let totals = TicketTotals {
            total: 3,
            open: 1,
            resolve_millis_sum: 90_000,
            resolve_count: 2,
        };
        let view = CustomerView::new("c-1", None, totals).unwrap();
        assert_eq!((view.open, view.resolved, view.total), (1, 2, 3));
        assert_eq!(view.name, None);
        assert_eq!(view.mean_time_to_resolve_seconds, Some(45.0));
        let view = CustomerView::new(
            "c-2",
            Some(("Bo".into(), "free".into())),
            TicketTotals::default(),
        );
        assert_eq!(view.unwrap().tier.as_deref(), Some("free"));
    }

    #[test]
    fn the_summary_totals_open_tickets_by_priority() {
        let mut open = OpenByPriority::default();
        open.add(Priority::High, 2);
        open.add(Priority::Low, 1);
        let summary = Summary::new(
            open,
            TicketTotals {
                total: 5,
                ..TicketTotals::default()
            },
            2,
        );
        assert_eq!(summary.open_total, 3);
        assert_eq!(summary.mean_time_to_resolve_seconds, None);
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(
            json["open_by_priority"],
            serde_json::json!({"low": 1, "normal": 0, "high": 2, "urgent": 0})
        );
    }

    #[test]
    fn statuses_split_into_open_and_finished() {
        assert!(TicketStatus::Open.is_open() && TicketStatus::Pending.is_open());
        assert!(!TicketStatus::Resolved.is_open() && !TicketStatus::Closed.is_open());
        for text in ["open", "pending", "resolved", "closed"] {
            assert_eq!(TicketStatus::parse(text).unwrap().as_str(), text);
        }
        for text in ["low", "normal", "high", "urgent"] {
            assert_eq!(Priority::parse(text).unwrap().as_str(), text);
        }
    }
}
