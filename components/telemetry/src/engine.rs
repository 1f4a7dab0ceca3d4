//! The rule engine: turns one sensor's new readings, in time order, into the sensor's next hot
//! state and the alert events to publish. Plain Rust, no storage: the caller loads the state,
//! stores what comes out, and decides which readings are new (duplicates never get here).
//!
//! An *episode* starts when a reading breaks a rule while the sensor is normal: one warning, one
//! alert. Further bad readings only update that alert (last and peak value); the first reading
//! that breaks no rule ends the episode with one recovered event. So a run of hot readings is
//! one warning and one recovery, never a storm.
//!
//! Readings older than the sensor's latest (late, out of order) are stored by the caller for
//! history and statistics, but judged here not at all: the present state is decided by the
//! newest readings, and a late reading replayed into the past must not raise, resolve or
//! re-open anything.

use serde::{Deserialize, Serialize};

use crate::rules::Rules;

/// Gaps longer than this carry no rate of change: the delta rule ignores them.
pub const MAX_DELTA_GAP_MILLIS: i64 = 10 * 60 * 1000;

/// A value at a time (milliseconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub celsius: f64,
    pub at: i64,
}

/// Which rule a reading broke: above `max_celsius`, below `min_celsius`, or changing faster than
/// `max_delta_per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    AboveMax,
    BelowMin,
    TooFast,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::AboveMax => "above_max",
            Reason::BelowMin => "below_min",
            Reason::TooFast => "too_fast",
        }
    }

    pub fn parse(text: &str) -> Option<Reason> {
        [Reason::AboveMax, Reason::BelowMin, Reason::TooFast]
            .into_iter()
            .find(|reason| reason.as_str() == text)
    }
}

/// One episode of a sensor breaking its rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The database id; 0 for an alert raised in this batch and not stored yet.
    pub id: i64,
    pub sensor_id: String,
    /// The rule the first bad reading broke (kept for the whole episode).
    pub reason: Reason,
    /// The first bad reading's value, and the rule's threshold it crossed.
    pub celsius: f64,
    pub threshold: f64,
    pub raised_at: i64,
    pub resolved_at: Option<i64>,
    /// The episode's latest reading (for a resolved alert: the reading that ended it).
    pub last_celsius: f64,
    /// The episode's reading furthest from the middle of the allowed range.
    pub peak_celsius: f64,
}

impl Alert {
    pub fn is_active(&self) -> bool {
        self.resolved_at.is_none()
    }

    pub fn state(&self) -> &'static str {
        if self.is_active() {
            "active"
        } else {
            "resolved"
        }
    }
}

/// A sensor's current state, as the engine needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HotState {
    /// The version of the sensor's alert and rules (see `store`); 0 for a sensor not stored yet.
    pub version: i64,
    /// The newest reading (never moved back by a late one).
    pub latest: Option<Point>,
    /// The open episode's alert, if the sensor is in warning.
    pub alert: Option<Alert>,
    pub rules: Rules,
}

impl HotState {
    pub fn new(rules: Rules) -> HotState {
        HotState {
            version: 0,
            latest: None,
            alert: None,
            rules,
        }
    }

    pub fn state(&self) -> &'static str {
        if self.alert.is_some() {
            "warning"
        } else {
            "normal"
        }
    }

    /// No open alert and the default rules: nothing to know beyond the latest reading.
    pub fn is_plain(&self) -> bool {
        self.alert.is_none() && self.rules == Rules::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// `telemetry.temperature.warning`: an episode started.
    Warning,
    /// `telemetry.temperature.recovered`: an episode ended.
    Recovered,
}

impl EventKind {
    pub fn event_type(self) -> &'static str {
        match self {
            EventKind::Warning => "telemetry.temperature.warning",
            EventKind::Recovered => "telemetry.temperature.recovered",
        }
    }
}

/// An alert raised or resolved, with the alert as it was at that moment.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertEvent {
    pub kind: EventKind,
    pub alert: Alert,
}

/// What judging one sensor's new readings produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaluation {
    /// Raised and resolved alerts, in time order.
    pub events: Vec<AlertEvent>,
    /// Readings older than the latest: kept as history, not judged.
    pub out_of_order: usize,
    /// The still-open alert's last/peak values changed and must be stored.
    pub alert_updated: bool,
    /// The hot state changed (latest reading or alert).
    pub changed: bool,
}

/// Judges `readings` (new, of one sensor, sorted by time) against `state`, updating it.
pub fn evaluate(sensor_id: &str, state: &mut HotState, readings: &[Point]) -> Evaluation {
    let mut result = Evaluation::default();
    for &reading in readings {
        if state.latest.is_some_and(|latest| reading.at <= latest.at) {
            result.out_of_order += 1;
            continue;
        }
        let broken = judge(&state.rules, state.latest, reading);
        match (&mut state.alert, broken) {
            (None, None) => {}
            (None, Some((reason, threshold))) => {
                let alert = Alert {
                    id: 0,
                    sensor_id: sensor_id.to_owned(),
                    reason,
                    celsius: reading.celsius,
                    threshold,
                    raised_at: reading.at,
                    resolved_at: None,
                    last_celsius: reading.celsius,
                    peak_celsius: reading.celsius,
                };
                result.events.push(AlertEvent {
                    kind: EventKind::Warning,
                    alert: alert.clone(),
                });
                state.alert = Some(alert);
            }
            (Some(alert), Some(_)) => {
                alert.last_celsius = reading.celsius;
                if distance_from_middle(&state.rules, reading.celsius)
                    > distance_from_middle(&state.rules, alert.peak_celsius)
                {
                    alert.peak_celsius = reading.celsius;
                }
                result.alert_updated = true;
            }
            (Some(alert), None) => {
                alert.last_celsius = reading.celsius;
                alert.resolved_at = Some(reading.at);
                result.events.push(AlertEvent {
                    kind: EventKind::Recovered,
                    alert: alert.clone(),
                });
                state.alert = None;
                result.alert_updated = false;
            }
        }
        state.latest = Some(reading);
        result.changed = true;
    }
    result
}

/// The rule `reading` breaks, with its threshold: the range first, then the rate of change
/// against the previous in-order reading (only over gaps of more than 0 and at most 10 minutes).
pub fn judge(rules: &Rules, previous: Option<Point>, reading: Point) -> Option<(Reason, f64)> {
    if reading.celsius > rules.max_celsius {
        return Some((Reason::AboveMax, rules.max_celsius));
    }
    if reading.celsius < rules.min_celsius {
        return Some((Reason::BelowMin, rules.min_celsius));
    }
    let previous = previous?;
    let gap = reading.at - previous.at;
    if gap <= 0 || gap > MAX_DELTA_GAP_MILLIS {
        return None;
    }
    let per_minute = (reading.celsius - previous.celsius).abs() / (gap as f64 / 60_000.0);
    (per_minute > rules.max_delta_per_minute)
        .then_some((Reason::TooFast, rules.max_delta_per_minute))
}

fn distance_from_middle(rules: &Rules, celsius: f64) -> f64 {
    (celsius - (rules.min_celsius + rules.max_celsius) / 2.0).abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;
    const T0: i64 = 1_795_428_900_000;

    fn at(minutes: i64, celsius: f64) -> Point {
        Point {
            celsius,
            at: T0 + minutes * MINUTE,
        }
    }

    fn kinds(evaluation: &Evaluation) -> Vec<EventKind> {
        evaluation.events.iter().map(|e| e.kind).collect()
    }

    fn fresh() -> HotState {
        HotState::new(Rules::default())
    }

    #[test]
    fn normal_readings_raise_nothing() {
        let mut state = fresh();
        let result = evaluate("s", &mut state, &[at(0, 20.0), at(1, 21.0), at(2, 22.5)]);
        assert!(result.events.is_empty());
        assert_eq!(state.latest, Some(at(2, 22.5)));
        assert_eq!(state.state(), "normal");
        assert!(result.changed);
    }

    #[test]
    fn a_hot_run_is_one_warning_and_one_recovery() {
        let mut state = fresh();
        let readings = [
            at(0, 33.0),
            at(1, 36.0),
            at(2, 38.0),
            at(3, 40.0),
            at(4, 37.0),
            at(5, 34.0),
            at(6, 33.0),
        ];
        let result = evaluate("s", &mut state, &readings);
        assert_eq!(kinds(&result), [EventKind::Warning, EventKind::Recovered]);
        let raised = &result.events[0].alert;
        assert_eq!(raised.reason, Reason::AboveMax);
        assert_eq!((raised.celsius, raised.threshold), (36.0, 35.0));
        assert_eq!(raised.raised_at, T0 + MINUTE);
        assert!(raised.is_active());
        let resolved = &result.events[1].alert;
        assert_eq!(resolved.resolved_at, Some(T0 + 5 * MINUTE));
        assert_eq!(resolved.last_celsius, 34.0);
        assert_eq!(resolved.peak_celsius, 40.0);
        assert_eq!(resolved.state(), "resolved");
        assert_eq!(state.alert, None);
    }

    #[test]
    fn an_episode_spans_batches_without_repeating_the_warning() {
        let mut state = fresh();
        let first = evaluate("s", &mut state, &[at(0, 20.0), at(1, -12.0)]);
        assert_eq!(kinds(&first), [EventKind::Warning]);
        assert_eq!(state.state(), "warning");
        let second = evaluate("s", &mut state, &[at(2, -15.0), at(3, -11.0)]);
        assert!(second.events.is_empty());
        assert!(second.alert_updated);
        let alert = state.alert.as_ref().unwrap();
        assert_eq!(alert.reason, Reason::BelowMin);
        assert_eq!((alert.last_celsius, alert.peak_celsius), (-11.0, -15.0));
        let third = evaluate("s", &mut state, &[at(4, -9.5)]);
        assert_eq!(kinds(&third), [EventKind::Recovered]);
        assert!(!third.alert_updated);
    }

    #[test]
    fn a_new_episode_after_recovery_warns_again() {
        let mut state = fresh();
        let readings = [at(0, 36.0), at(1, 34.0), at(2, 36.0)];
        let result = evaluate("s", &mut state, &readings);
        assert_eq!(
            kinds(&result),
            [EventKind::Warning, EventKind::Recovered, EventKind::Warning]
        );
    }

    #[test]
    fn changing_too_fast_warns_with_the_rate_threshold() {
        let mut state = fresh();
        // 20 -> 26 in one minute: 6 °C/min > 5.
        let result = evaluate("s", &mut state, &[at(0, 20.0), at(1, 26.0)]);
        assert_eq!(kinds(&result), [EventKind::Warning]);
        let alert = &result.events[0].alert;
        assert_eq!((alert.reason, alert.threshold), (Reason::TooFast, 5.0));
        // Exactly 5 °C/min is allowed and in range: recovered.
        let result = evaluate("s", &mut state, &[at(2, 31.0)]);
        assert_eq!(kinds(&result), [EventKind::Recovered]);
    }

    #[test]
    fn the_delta_rule_scales_with_the_gap_and_ignores_long_gaps() {
        let rules = Rules::default();
        // 9 °C over 2 minutes is 4.5 °C/min: fine.
        assert_eq!(judge(&rules, Some(at(0, 20.0)), at(2, 29.0)), None);
        // 9 °C over 30 seconds: too fast.
        let half = Point {
            celsius: 29.0,
            at: T0 + MINUTE / 2,
        };
        assert_eq!(
            judge(&rules, Some(at(0, 20.0)), half),
            Some((Reason::TooFast, 5.0))
        );
        // Up to ten minutes counts; beyond, no rate at all.
        assert!(judge(&rules, Some(at(0, -5.0)), at(10, 34.0)).is_none());
        assert_eq!(
            judge(&rules, Some(at(0, -20.0)), at(10, 34.0)),
            Some((Reason::TooFast, 5.0))
        );
        assert_eq!(judge(&rules, Some(at(0, -20.0)), at(11, 34.0)), None);
        // No previous reading, or none earlier: no rate.
        assert_eq!(judge(&rules, None, at(0, 34.0)), None);
        assert_eq!(judge(&rules, Some(at(1, 0.0)), at(1, 30.0)), None);
    }

    #[test]
    fn the_range_wins_over_the_rate() {
        let rules = Rules::default();
        assert_eq!(
            judge(&rules, Some(at(0, 20.0)), at(1, 40.0)),
            Some((Reason::AboveMax, 35.0))
        );
        assert_eq!(
            judge(&rules, None, at(0, -10.5)),
            Some((Reason::BelowMin, -10.0))
        );
        assert_eq!(judge(&rules, None, at(0, 35.0)), None);
        assert_eq!(judge(&rules, None, at(0, -10.0)), None);
    }

    #[test]
    fn recovery_needs_a_reading_in_range_and_not_too_fast() {
        let mut state = fresh();
        evaluate("s", &mut state, &[at(0, 40.0)]);
        // Back in range but 40 -> 30 in one minute is too fast: still the same episode.
        let result = evaluate("s", &mut state, &[at(1, 30.0)]);
        assert!(result.events.is_empty());
        assert_eq!(state.state(), "warning");
        assert_eq!(state.alert.as_ref().unwrap().reason, Reason::AboveMax);
        let result = evaluate("s", &mut state, &[at(2, 29.0)]);
        assert_eq!(kinds(&result), [EventKind::Recovered]);
    }

    #[test]
    fn late_readings_change_neither_state_nor_alerts() {
        let mut state = fresh();
        evaluate("s", &mut state, &[at(10, 20.0)]);
        let before = state.clone();
        // A hot reading from the past: history only.
        let result = evaluate("s", &mut state, &[at(5, 50.0), at(10, 60.0)]);
        assert_eq!(result.out_of_order, 2);
        assert!(result.events.is_empty());
        assert!(!result.changed);
        assert_eq!(state, before);

        // In warning, a late normal reading does not resolve.
        evaluate("s", &mut state, &[at(11, 50.0)]);
        let result = evaluate("s", &mut state, &[at(9, 20.0)]);
        assert!(result.events.is_empty());
        assert_eq!(state.state(), "warning");
        assert_eq!(state.latest, Some(at(11, 50.0)));
    }

    #[test]
    fn a_resent_batch_raises_nothing_twice() {
        // The store drops re-sent readings before they get here; even if one slipped through,
        // a reading at or before the latest is never judged again.
        let mut state = fresh();
        let readings = [at(0, 20.0), at(1, 40.0)];
        let first = evaluate("s", &mut state, &readings);
        assert_eq!(kinds(&first), [EventKind::Warning]);
        let again = evaluate("s", &mut state, &readings);
        assert!(again.events.is_empty());
        assert_eq!(again.out_of_order, 2);
        assert!(!again.changed && !again.alert_updated);
    }

    #[test]
    fn late_readings_mixed_with_new_ones_are_skipped_in_order() {
        let mut state = fresh();
        evaluate("s", &mut state, &[at(10, 20.0)]);
        let result = evaluate("s", &mut state, &[at(8, 80.0), at(11, 21.0), at(12, 22.0)]);
        assert_eq!(result.out_of_order, 1);
        assert!(result.events.is_empty());
        assert_eq!(state.latest, Some(at(12, 22.0)));
    }

    #[test]
    fn the_rules_in_the_state_are_used() {
        let mut state = HotState::new(Rules {
            min_celsius: 2.0,
            max_celsius: 8.0,
            max_delta_per_minute: 1.0,
        });
        let result = evaluate("fridge", &mut state, &[at(0, 5.0), at(1, 9.0)]);
        let alert = &result.events[0].alert;
        assert_eq!((alert.reason, alert.threshold), (Reason::AboveMax, 8.0));
        assert_eq!(alert.sensor_id, "fridge");
    }

    #[test]
    fn a_sensor_is_plain_without_an_alert_and_with_default_rules() {
        let mut state = fresh();
        assert!(state.is_plain());
        evaluate("s", &mut state, &[at(0, 50.0)]);
        assert!(!state.is_plain());
        // 50 -> 30 over five minutes: 4 °C/min, in range: recovered.
        evaluate("s", &mut state, &[at(5, 30.0)]);
        assert!(state.is_plain());
        let own_rules = HotState::new(Rules {
            max_celsius: 50.0,
            ..Rules::default()
        });
        assert!(!own_rules.is_plain());
    }

    #[test]
    fn hot_state_round_trips_as_json() {
        let mut state = fresh();
        evaluate("s", &mut state, &[at(0, 50.0)]);
        let json = serde_json::to_string(&state).unwrap();
        assert!(json.contains("\"above_max\""), "{json}");
        assert_eq!(serde_json::from_str::<HotState>(&json).unwrap(), state);
        assert_eq!(Reason::parse("too_fast"), Some(Reason::TooFast));
        assert_eq!(Reason::parse("cold"), None);
    }
}
