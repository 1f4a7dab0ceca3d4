//! Visit counts: the service's types, validation rules and limits.
//! Plain Rust: nothing here does I/O or knows about Spin.

use serde::Serialize;
use serde_json::Value;
use service_kit::request::{json_i64, json_u64};

use crate::error::VisitsError;

/// An event id is 1 to this many ASCII digits.
pub const MAX_EVENT_ID_DIGITS: usize = 20;
/// Largest `EventCount` one `POST` may add (the smallest is 1).
pub const MAX_ADDED_COUNT: i64 = 1_000_000;
/// Largest `EventCount` a bulk load may set (the smallest is 0).
pub const MAX_LOADED_COUNT: i64 = 1_000_000_000;
/// Largest total a day may reach: 2^53 - 1, so JavaScript clients read every count exactly.
pub const MAX_DAY_TOTAL: i64 = 9_007_199_254_740_991;
/// Most rows one bulk load may carry.
pub const MAX_BULK_ROWS: usize = 10_000;
/// Largest request body accepted (4 MiB); 10,000 rows of JSON take about 0.6 MiB.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// An event id: 1 to 20 ASCII digits, kept as text (so `"0324"` and `"324"` are different events).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct EventId(String);

impl EventId {
    /// Accepts 1 to 20 ASCII digits.
    pub fn parse(text: &str) -> Result<Self, VisitsError> {
        let digits_only = text.bytes().all(|b| b.is_ascii_digit());
        if (1..=MAX_EVENT_ID_DIGITS).contains(&text.len()) && digits_only {
            Ok(EventId(text.to_owned()))
        } else {
            Err(VisitsError::InvalidEventId(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A calendar day written as the integer YYYYMMDD (so years 1000 to 9999).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct EventDay(u32);

impl EventDay {
    /// The first day that can be written YYYYMMDD.
    pub const MIN: u32 = 10000101;
    /// The last day that can be written YYYYMMDD.
    pub const MAX: u32 = 99991231;

    /// Accepts the integer YYYYMMDD of a real calendar day; the error says what is wrong.
    pub fn from_yyyymmdd(value: i64) -> Result<Self, DayError> {
        if !(i64::from(Self::MIN)..=i64::from(Self::MAX)).contains(&value) {
            return Err(DayError::Malformed(format!(
                "{value} is not a date of the form YYYYMMDD"
            )));
        }
        let (year, month, day) = (value / 10000, value / 100 % 100, value % 100);
        let is_calendar_day = time::Month::try_from(month as u8)
            .and_then(|month| time::Date::from_calendar_date(year as i32, month, day as u8))
            .is_ok();
        if is_calendar_day {
            Ok(EventDay(value as u32))
        } else {
            Err(DayError::NotACalendarDay(value))
        }
    }

    /// Accepts exactly eight ASCII digits YYYYMMDD naming a real calendar day.
    pub fn parse(text: &str) -> Result<Self, DayError> {
        let malformed =
            || DayError::Malformed(format!("{text:?} is not a date of the form YYYYMMDD"));
        if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        Self::from_yyyymmdd(text.parse().map_err(|_| malformed())?)
    }

    /// The day a `time::Date` falls on.
    pub fn from_date(date: time::Date) -> Self {
        let value =
            date.year() as u32 * 10000 + u8::from(date.month()) as u32 * 100 + date.day() as u32;
        EventDay(value)
    }

    pub fn as_u32(self) -> u32 {
        self.0
    }
}

/// Why a day was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayError {
    /// Not a day written YYYYMMDD (from 10000101 to 99991231) at all.
    Malformed(String),
    /// Written YYYYMMDD, but no calendar has that day (20170230).
    NotACalendarDay(i64),
}

impl DayError {
    /// The request's error for this day, placed by `invalid` (which names the parameter, field or
    /// row). A day that is well formed but not on the calendar is [`VisitsError::Unprocessable`]:
    /// the contract can say so only in words for an integer, so a request fitting its schema
    /// may still carry one.
    pub fn placed(self, invalid: impl FnOnce(String) -> VisitsError) -> VisitsError {
        match self {
            DayError::Malformed(problem) => invalid(problem),
            DayError::NotACalendarDay(value) => VisitsError::Unprocessable(Box::new(invalid(
                format!("{value} is not a calendar date"),
            ))),
        }
    }
}

/// One day's count for one event; the JSON shape of every row the service reads or writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VisitRow {
    #[serde(rename = "EventId")]
    pub event_id: EventId,
    #[serde(rename = "EventDay")]
    pub event_day: EventDay,
    /// The day's visits (0 to 2^53 - 1).
    #[serde(rename = "EventCount")]
    #[schema(schema_with = crate::contract::day_total)]
    pub event_count: i64,
}

/// The days a read covers; `None` leaves that side open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayRange {
    pub start: Option<EventDay>,
    pub end: Option<EventDay>,
}

/// Reads `startDate` and `endDate` (YYYYMMDD, inclusive) from a URL query; other parameters are ignored.
pub fn parse_day_range(query: &str) -> Result<DayRange, VisitsError> {
    let mut range = DayRange::default();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let (param, slot) = match name.as_ref() {
            "startDate" => ("startDate", &mut range.start),
            "endDate" => ("endDate", &mut range.end),
            _ => continue,
        };
        if slot.is_some() {
            let problem = "given more than once".to_owned();
            return Err(VisitsError::InvalidQuery { param, problem });
        }
        let day = EventDay::parse(&value)
            .map_err(|err| err.placed(|problem| VisitsError::InvalidQuery { param, problem }))?;
        *slot = Some(day);
    }
    if let (Some(start), Some(end)) = (range.start, range.end) {
        if start > end {
            let (start, end) = (start.as_u32(), end.as_u32());
            return Err(VisitsError::ReversedDateRange { start, end });
        }
    }
    Ok(range)
}

/// What one `POST` adds: `count` visits on `day`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddedVisits {
    pub day: EventDay,
    pub count: i64,
}

/// Reads a `POST` body: empty, or `{"EventDay": YYYYMMDD, "EventCount": n}` with both fields optional
/// (defaults: `today`, 1). A body of only whitespace is not JSON, so it is refused, not empty.
pub fn parse_added_visits(body: &[u8], today: EventDay) -> Result<AddedVisits, VisitsError> {
    let mut added = AddedVisits {
        day: today,
        count: 1,
    };
    if body.is_empty() {
        return Ok(added);
    }
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| VisitsError::InvalidBody(format!("not JSON: {e}")))?;
    let Value::Object(fields) = json else {
        return Err(VisitsError::InvalidBody("expected a JSON object".into()));
    };
    for (name, value) in &fields {
        let invalid = |field, problem| VisitsError::InvalidField { field, problem };
        match name.as_str() {
            "EventDay" => {
                added.day = json_day(value).map_err(|err| err.placed(|p| invalid("EventDay", p)))?
            }
            "EventCount" => {
                added.count =
                    json_count(value, 1, MAX_ADDED_COUNT).map_err(|p| invalid("EventCount", p))?
            }
            other => {
                let problem =
                    format!("unknown field {other:?}; expected EventDay and/or EventCount");
                return Err(VisitsError::InvalidBody(problem));
            }
        }
    }
    Ok(added)
}

/// A JSON `EventId`: a string of digits, or a non-negative integer.
pub(crate) fn json_event_id(value: &Value) -> Result<EventId, String> {
    let text = match (value, json_u64(value)) {
        (Value::String(text), _) => text.clone(),
        (_, Some(n)) => n.to_string(),
        _ => {
            return Err(format!(
                "expected a string of 1 to {MAX_EVENT_ID_DIGITS} digits, got {value}"
            ))
        }
    };
    EventId::parse(&text)
        .map_err(|_| format!("expected 1 to {MAX_EVENT_ID_DIGITS} digits, got {text:?}"))
}

/// A JSON `EventDay`: the integer YYYYMMDD of a calendar day.
pub(crate) fn json_day(value: &Value) -> Result<EventDay, DayError> {
    match json_i64(value) {
        Some(n) => EventDay::from_yyyymmdd(n),
        None => Err(DayError::Malformed(format!(
            "expected an integer YYYYMMDD, got {value}"
        ))),
    }
}

/// A JSON `EventCount`: an integer from `min` to `max`.
pub(crate) fn json_count(value: &Value, min: i64, max: i64) -> Result<i64, String> {
    match json_i64(value) {
        Some(n) => check_count(n, min, max),
        None => Err(format!(
            "expected an integer from {min} to {max}, got {value}"
        )),
    }
}

/// A count from `min` to `max`.
pub(crate) fn check_count(n: i64, min: i64, max: i64) -> Result<i64, String> {
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n} is out of range: expected {min} to {max}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(value: i64) -> EventDay {
        EventDay::from_yyyymmdd(value).unwrap()
    }

    #[test]
    fn event_ids_are_one_to_twenty_digits() {
        assert_eq!(EventId::parse("324").unwrap().as_str(), "324");
        assert!(EventId::parse("0").is_ok());
        assert!(EventId::parse(&"9".repeat(20)).is_ok());
        for bad in ["", "abc", "12a", "-1", "+1", " 1", "1.5", "%31", "１２"] {
            assert_eq!(
                EventId::parse(bad),
                Err(VisitsError::InvalidEventId(bad.into())),
                "{bad:?}"
            );
        }
        assert!(EventId::parse(&"9".repeat(21)).is_err());
    }

    #[test]
    fn leading_zeros_make_a_different_event_id() {
        assert_ne!(
            EventId::parse("0324").unwrap(),
            EventId::parse("324").unwrap()
        );
    }

    #[test]
    fn days_must_be_real_calendar_dates() {
        assert_eq!(day(20171012).as_u32(), 20171012);
        assert!(EventDay::from_yyyymmdd(20170230).is_err());
        assert!(EventDay::from_yyyymmdd(20171301).is_err());
        assert!(EventDay::from_yyyymmdd(20171000).is_err());
        assert!(EventDay::from_yyyymmdd(20170431).is_err());
        assert!(EventDay::from_yyyymmdd(99991231).is_ok());
        assert!(EventDay::from_yyyymmdd(10101).is_err());
        assert!(EventDay::from_yyyymmdd(-20171012).is_err());
        assert!(EventDay::from_yyyymmdd(100000101).is_err());
    }

    #[test]
    fn february_29_exists_only_in_leap_years() {
        assert!(EventDay::from_yyyymmdd(20240229).is_ok());
        assert!(EventDay::from_yyyymmdd(20000229).is_ok());
        assert!(EventDay::from_yyyymmdd(20230229).is_err());
        assert!(EventDay::from_yyyymmdd(19000229).is_err());
        assert!(EventDay::from_yyyymmdd(21000229).is_err());
    }

    #[test]
    fn day_text_must_be_exactly_eight_digits() {
        assert_eq!(EventDay::parse("20171012"), Ok(day(20171012)));
        for bad in [
            "",
            "2017101",
            "201710120",
            "2017-10-12",
            "+2017101",
            "20171012 ",
        ] {
            assert!(EventDay::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            EventDay::parse("20170230"),
            Err(DayError::NotACalendarDay(20170230))
        );
    }

    #[test]
    fn days_convert_from_dates() {
        let date = time::Date::from_calendar_date(2017, time::Month::October, 2).unwrap();
        assert_eq!(EventDay::from_date(date), day(20171002));
    }

    #[test]
    fn rows_serialise_with_the_classic_field_names() {
        let row = VisitRow {
            event_id: EventId::parse("324").unwrap(),
            event_day: day(20171012),
            event_count: 10,
        };
        assert_eq!(
            serde_json::to_string(&row).unwrap(),
            r#"{"EventId":"324","EventDay":20171012,"EventCount":10}"#
        );
    }

    #[test]
    fn a_query_without_dates_is_unbounded() {
        assert_eq!(parse_day_range(""), Ok(DayRange::default()));
        assert_eq!(parse_day_range("foo=bar&x"), Ok(DayRange::default()));
    }

    #[test]
    fn a_query_reads_start_and_end_dates() {
        let range = parse_day_range("startDate=20171012&other=1&endDate=20171014").unwrap();
        assert_eq!(
            range,
            DayRange {
                start: Some(day(20171012)),
                end: Some(day(20171014))
            }
        );
        let range = parse_day_range("endDate=20171014").unwrap();
        assert_eq!(
            range,
            DayRange {
                start: None,
                end: Some(day(20171014))
            }
        );
    }

    #[test]
    fn a_query_with_a_bad_date_names_the_parameter() {
        let err = parse_day_range("startDate=2017-10-12").unwrap_err();
        assert!(
            matches!(
                err,
                VisitsError::InvalidQuery {
                    param: "startDate",
                    ..
                }
            ),
            "{err:?}"
        );
        let err = parse_day_range("startDate=20170230").unwrap_err();
        assert_eq!(err.status(), 422);
        assert_eq!(
            err.to_string(),
            "query parameter startDate: 20170230 is not a calendar date"
        );
        let err = parse_day_range("endDate=").unwrap_err();
        assert!(
            matches!(
                err,
                VisitsError::InvalidQuery {
                    param: "endDate",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_query_may_name_each_date_once() {
        let err = parse_day_range("startDate=20171012&startDate=20171013").unwrap_err();
        assert!(
            matches!(
                err,
                VisitsError::InvalidQuery {
                    param: "startDate",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_query_rejects_a_start_after_its_end() {
        assert_eq!(
            parse_day_range("startDate=20171014&endDate=20171012"),
            Err(VisitsError::ReversedDateRange {
                start: 20171014,
                end: 20171012
            })
        );
        assert!(parse_day_range("startDate=20171012&endDate=20171012").is_ok());
    }

    #[test]
    fn an_empty_post_body_adds_one_visit_today() {
        let today = day(20240101);
        let expected = AddedVisits {
            day: today,
            count: 1,
        };
        assert_eq!(parse_added_visits(b"", today), Ok(expected));
        assert_eq!(parse_added_visits(b"{}", today), Ok(expected));
        assert!(matches!(
            parse_added_visits(b" \n", today),
            Err(VisitsError::InvalidBody(_))
        ));
    }

    #[test]
    fn a_post_body_may_set_day_and_count() {
        let today = day(20240101);
        let body = br#"{"EventDay": 20171012, "EventCount": 5}"#;
        assert_eq!(
            parse_added_visits(body, today),
            Ok(AddedVisits {
                day: day(20171012),
                count: 5
            })
        );
        let body = br#"{"EventCount": 1000000}"#;
        assert_eq!(
            parse_added_visits(body, today),
            Ok(AddedVisits {
                day: today,
                count: 1_000_000
            })
        );
    }

    #[test]
    fn a_post_count_must_be_from_one_to_a_million() {
        let today = day(20240101);
        for body in [
            r#"{"EventCount": 0}"#,
            r#"{"EventCount": 1000001}"#,
            r#"{"EventCount": -1}"#,
            r#"{"EventCount": 1.5}"#,
            r#"{"EventCount": "3"}"#,
        ] {
            let err = parse_added_visits(body.as_bytes(), today).unwrap_err();
            assert!(
                matches!(
                    err,
                    VisitsError::InvalidField {
                        field: "EventCount",
                        ..
                    }
                ),
                "{body}: {err:?}"
            );
        }
    }

    #[test]
    fn a_post_day_must_be_a_calendar_date() {
        let err = parse_added_visits(br#"{"EventDay": 20170230}"#, day(20240101)).unwrap_err();
        assert_eq!(err.to_string(), "EventDay: 20170230 is not a calendar date");
        assert_eq!(err.status(), 422);
        let err = parse_added_visits(br#"{"EventDay": 2017023}"#, day(20240101)).unwrap_err();
        assert!(
            matches!(
                err,
                VisitsError::InvalidField {
                    field: "EventDay",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn json_integers_may_be_written_with_a_zero_fraction() {
        let added = parse_added_visits(
            br#"{"EventDay": 2.0171012e7, "EventCount": 3.0}"#,
            day(20240101),
        );
        let expected = AddedVisits {
            day: day(20171012),
            count: 3,
        };
        assert_eq!(added, Ok(expected));
        assert_eq!(
            json_event_id(&serde_json::json!(324.0)).unwrap().as_str(),
            "324"
        );
        assert!(parse_added_visits(br#"{"EventCount": 2.5}"#, day(20240101)).is_err());
    }

    #[test]
    fn a_post_body_must_be_a_json_object_of_known_fields() {
        let today = day(20240101);
        for body in ["{", "[]", "5", r#"{"eventCount": 2}"#] {
            let err = parse_added_visits(body.as_bytes(), today).unwrap_err();
            assert!(
                matches!(err, VisitsError::InvalidBody(_)),
                "{body}: {err:?}"
            );
        }
    }

    #[test]
    fn json_event_ids_may_be_strings_or_integers() {
        assert_eq!(
            json_event_id(&serde_json::json!("324")).unwrap().as_str(),
            "324"
        );
        assert_eq!(
            json_event_id(&serde_json::json!(324)).unwrap().as_str(),
            "324"
        );
        for bad in [
            serde_json::json!(-1),
            serde_json::json!(3.5),
            serde_json::json!("x"),
            serde_json::json!(null),
        ] {
            assert!(json_event_id(&bad).is_err(), "{bad}");
        }
    }
}
