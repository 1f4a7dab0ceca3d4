//! Bulk loads: a `PUT /visits` body (a JSON array or CSV) checked row by row before anything is written.
//! Rows are numbered from 1 in the order given, not counting the CSV header.

use std::collections::HashMap;

use serde_json::Value;
use service_kit::request::media_type;

use crate::domain::{
    check_count, json_count, json_day, json_event_id, EventDay, EventId, VisitRow, MAX_BULK_ROWS,
    MAX_LOADED_COUNT,
};
use crate::error::VisitsError;

/// The header line a CSV bulk load must start with.
pub const CSV_HEADER: [&str; 3] = ["EventId", "EventDay", "EventCount"];

/// How a bulk body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkFormat {
    Json,
    Csv,
}

impl BulkFormat {
    /// Picks the format from the request's content-type; JSON when there is none.
    pub fn from_content_type(content_type: Option<&str>) -> Result<Self, VisitsError> {
        let Some(content_type) = content_type else {
            return Ok(BulkFormat::Json);
        };
        match media_type(content_type).as_str() {
            "application/json" | "" => Ok(BulkFormat::Json),
            "text/csv" => Ok(BulkFormat::Csv),
            _ => Err(VisitsError::UnsupportedMediaType(content_type.to_owned())),
        }
    }
}

/// Parses and checks a whole bulk load: at most `MAX_BULK_ROWS` rows, each valid, no (EventId, EventDay) twice.
pub fn parse_bulk(body: &[u8], format: BulkFormat) -> Result<Vec<VisitRow>, VisitsError> {
    let rows = match format {
        BulkFormat::Json => parse_json_rows(body)?,
        BulkFormat::Csv => parse_csv_rows(body)?,
    };
    reject_repeated_days(&rows)?;
    Ok(rows)
}

fn parse_json_rows(body: &[u8]) -> Result<Vec<VisitRow>, VisitsError> {
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| VisitsError::InvalidBody(format!("not JSON: {e}")))?;
    let Value::Array(items) = json else {
        return Err(VisitsError::InvalidBody(
            "expected a JSON array of rows".into(),
        ));
    };
    if items.len() > MAX_BULK_ROWS {
        return Err(VisitsError::TooManyRows);
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| json_row(i + 1, item))
        .collect()
}

fn json_row(row: usize, item: &Value) -> Result<VisitRow, VisitsError> {
    let Value::Object(fields) = item else {
        return Err(VisitsError::InvalidRow {
            row,
            problem: format!("expected an object, got {item}"),
        });
    };
    if let Some(unknown) = fields
        .keys()
        .find(|name| !CSV_HEADER.contains(&name.as_str()))
    {
        let problem =
            format!("unknown field {unknown:?}; expected EventId, EventDay and EventCount");
        return Err(VisitsError::InvalidRow { row, problem });
    }
    let field = |field: &'static str| {
        fields
            .get(field)
            .ok_or_else(|| VisitsError::InvalidRowField {
                row,
                field,
                problem: "missing".into(),
            })
    };
    let invalid = |field, problem| VisitsError::InvalidRowField {
        row,
        field,
        problem,
    };
    Ok(VisitRow {
        event_id: json_event_id(field("EventId")?).map_err(|p| invalid("EventId", p))?,
        event_day: json_day(field("EventDay")?)
            .map_err(|err| err.placed(|p| invalid("EventDay", p)))?,
        event_count: json_count(field("EventCount")?, 0, MAX_LOADED_COUNT)
            .map_err(|p| invalid("EventCount", p))?,
    })
}

fn parse_csv_rows(body: &[u8]) -> Result<Vec<VisitRow>, VisitsError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(body);
    let header_ok = reader
        .headers()
        .map(|header| header.iter().eq(CSV_HEADER))
        .unwrap_or(false);
    if !header_ok {
        let problem = format!(
            "CSV must start with the header line {}",
            CSV_HEADER.join(",")
        );
        return Err(VisitsError::InvalidBody(problem));
    }
    // Count first, so an oversized load is refused as such whatever its rows hold.
    let records: Vec<_> = reader.records().take(MAX_BULK_ROWS + 1).collect();
    if records.len() > MAX_BULK_ROWS {
        return Err(VisitsError::TooManyRows);
    }
    records
        .into_iter()
        .enumerate()
        .map(|(i, record)| csv_row(i + 1, record))
        .collect()
}

fn csv_row(row: usize, record: csv::Result<csv::StringRecord>) -> Result<VisitRow, VisitsError> {
    let record = record.map_err(|e| VisitsError::InvalidRow {
        row,
        problem: e.to_string(),
    })?;
    if record.len() != CSV_HEADER.len() {
        let problem = format!("expected {} fields, got {}", CSV_HEADER.len(), record.len());
        return Err(VisitsError::InvalidRow { row, problem });
    }
    let (id, day, count) = (&record[0], &record[1], &record[2]);
    let invalid = |field, problem| VisitsError::InvalidRowField {
        row,
        field,
        problem,
    };
    let count = count
        .parse::<i64>()
        .map_err(|_| format!("expected an integer from 0 to {MAX_LOADED_COUNT}, got {count:?}"))
        .and_then(|n| check_count(n, 0, MAX_LOADED_COUNT));
    Ok(VisitRow {
        event_id: EventId::parse(id)
            .map_err(|_| invalid("EventId", format!("expected 1 to 20 digits, got {id:?}")))?,
        event_day: EventDay::parse(day).map_err(|err| err.placed(|p| invalid("EventDay", p)))?,
        event_count: count.map_err(|p| invalid("EventCount", p))?,
    })
}

/// A load sets each day's count once; giving a day twice is ambiguous, so it is refused (422:
/// the contract's schema cannot say that two rows differ).
fn reject_repeated_days(rows: &[VisitRow]) -> Result<(), VisitsError> {
    let mut first_seen: HashMap<(&EventId, EventDay), usize> = HashMap::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        if let Some(first) = first_seen.insert((&row.event_id, row.event_day), i + 1) {
            let problem = format!("same EventId and EventDay as row {first}");
            return Err(VisitsError::Unprocessable(Box::new(
                VisitsError::InvalidRowField {
                    row: i + 1,
                    field: "EventDay",
                    problem,
                },
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE_JSON: &str = include_str!("../fixtures/sample.json");
    const SAMPLE_CSV: &str = include_str!("../fixtures/sample.csv");

    fn row(id: &str, day: i64, count: i64) -> VisitRow {
        VisitRow {
            event_id: EventId::parse(id).unwrap(),
            event_day: EventDay::from_yyyymmdd(day).unwrap(),
            event_count: count,
        }
    }

    /// The row and field a bad row's error names, whatever its status.
    fn bad_row_field(err: VisitsError) -> (usize, &'static str) {
        match err {
            VisitsError::InvalidRowField { row, field, .. } => (row, field),
            VisitsError::Unprocessable(inner) => bad_row_field(*inner),
            other => panic!("expected a bad row field, got {other:?}"),
        }
    }

    #[test]
    fn content_types_pick_the_format() {
        assert_eq!(BulkFormat::from_content_type(None), Ok(BulkFormat::Json));
        assert_eq!(
            BulkFormat::from_content_type(Some("application/json")),
            Ok(BulkFormat::Json)
        );
        assert_eq!(
            BulkFormat::from_content_type(Some("text/csv; charset=utf-8")),
            Ok(BulkFormat::Csv)
        );
        assert_eq!(
            BulkFormat::from_content_type(Some("Text/CSV")),
            Ok(BulkFormat::Csv)
        );
        assert!(matches!(
            BulkFormat::from_content_type(Some("application/xml")),
            Err(VisitsError::UnsupportedMediaType(_))
        ));
    }

    #[test]
    fn the_json_and_csv_fixtures_hold_the_same_rows() {
        let from_json = parse_bulk(SAMPLE_JSON.as_bytes(), BulkFormat::Json).unwrap();
        let from_csv = parse_bulk(SAMPLE_CSV.as_bytes(), BulkFormat::Csv).unwrap();
        assert_eq!(from_json.len(), 9);
        assert_eq!(from_json, from_csv);
        assert!(from_json.contains(&row("324", 20171012, 10)));
        assert!(from_json.contains(&row("300", 20171014, 30)));
    }

    #[test]
    fn json_rows_accept_numeric_event_ids() {
        let body = br#"[{"EventId": 324, "EventDay": 20171012, "EventCount": 0}]"#;
        assert_eq!(
            parse_bulk(body, BulkFormat::Json),
            Ok(vec![row("324", 20171012, 0)])
        );
    }

    #[test]
    fn an_empty_load_is_valid() {
        assert_eq!(parse_bulk(b"[]", BulkFormat::Json), Ok(vec![]));
        assert_eq!(
            parse_bulk(b"EventId,EventDay,EventCount\n", BulkFormat::Csv),
            Ok(vec![])
        );
    }

    #[test]
    fn json_bad_rows_are_named_by_index_and_field() {
        let body = br#"[
            {"EventId": "1", "EventDay": 20171012, "EventCount": 1},
            {"EventId": "1", "EventDay": 20170230, "EventCount": 1}
        ]"#;
        let err = parse_bulk(body, BulkFormat::Json).unwrap_err();
        assert_eq!(
            err.to_string(),
            "row 2: EventDay: 20170230 is not a calendar date"
        );
        assert_eq!(err.status(), 422);
        assert_eq!(bad_row_field(err), (2, "EventDay"));
        let body = br#"[{"EventId": "x", "EventDay": 20171012, "EventCount": 1}]"#;
        assert_eq!(
            bad_row_field(parse_bulk(body, BulkFormat::Json).unwrap_err()),
            (1, "EventId")
        );
        let body = br#"[{"EventId": "1", "EventDay": 20171012, "EventCount": 1000000001}]"#;
        assert_eq!(
            bad_row_field(parse_bulk(body, BulkFormat::Json).unwrap_err()),
            (1, "EventCount")
        );
        let body = br#"[{"EventId": "1", "EventDay": 20171012}]"#;
        assert_eq!(
            bad_row_field(parse_bulk(body, BulkFormat::Json).unwrap_err()),
            (1, "EventCount")
        );
    }

    #[test]
    fn json_rows_must_be_objects_of_known_fields() {
        let body = br#"[{"EventId": "1", "EventDay": 20171012, "EventCount": 1, "Extra": 1}, 5]"#;
        assert!(matches!(
            parse_bulk(body, BulkFormat::Json),
            Err(VisitsError::InvalidRow { row: 1, .. })
        ));
        let body = br#"[{"EventId": "1", "EventDay": 20171012, "EventCount": 1}, 5]"#;
        assert!(matches!(
            parse_bulk(body, BulkFormat::Json),
            Err(VisitsError::InvalidRow { row: 2, .. })
        ));
    }

    #[test]
    fn a_json_load_must_be_an_array() {
        for body in ["", "{", r#"{"EventId": "1"}"#] {
            assert!(
                matches!(
                    parse_bulk(body.as_bytes(), BulkFormat::Json),
                    Err(VisitsError::InvalidBody(_))
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn csv_bad_rows_are_named_by_index_and_field() {
        let body = b"EventId,EventDay,EventCount\n1,20171012,1\n1,20171013,-1\n";
        assert_eq!(
            bad_row_field(parse_bulk(body, BulkFormat::Csv).unwrap_err()),
            (2, "EventCount")
        );
        let body = b"EventId,EventDay,EventCount\n1,2017-10-12,1\n";
        assert_eq!(
            bad_row_field(parse_bulk(body, BulkFormat::Csv).unwrap_err()),
            (1, "EventDay")
        );
        let body = b"EventId,EventDay,EventCount\nabc,20171012,1\n";
        assert_eq!(
            bad_row_field(parse_bulk(body, BulkFormat::Csv).unwrap_err()),
            (1, "EventId")
        );
    }

    #[test]
    fn csv_rows_need_exactly_three_fields() {
        let body = b"EventId,EventDay,EventCount\n1,20171012,1\n1,20171013\n";
        assert!(matches!(
            parse_bulk(body, BulkFormat::Csv),
            Err(VisitsError::InvalidRow { row: 2, .. })
        ));
    }

    #[test]
    fn csv_needs_the_header_line() {
        for body in ["", "1,20171012,1\n", "EventDay,EventId,EventCount\n"] {
            assert!(
                matches!(
                    parse_bulk(body.as_bytes(), BulkFormat::Csv),
                    Err(VisitsError::InvalidBody(_))
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn csv_fields_may_be_padded_with_spaces() {
        let body = b"EventId, EventDay, EventCount\r\n324 , 20171012, 7\r\n";
        assert_eq!(
            parse_bulk(body, BulkFormat::Csv),
            Ok(vec![row("324", 20171012, 7)])
        );
    }

    #[test]
    fn a_day_given_twice_is_refused() {
        let body = b"EventId,EventDay,EventCount\n1,20171012,1\n2,20171012,1\n1,20171012,5\n";
        let err = parse_bulk(body, BulkFormat::Csv).unwrap_err();
        assert_eq!(err.status(), 422);
        assert_eq!(bad_row_field(err), (3, "EventDay"));
    }

    #[test]
    fn more_than_the_row_limit_is_refused_whatever_the_rows_hold() {
        let rows: Vec<String> = (0..=MAX_BULK_ROWS)
            .map(|i| format!("1,{},bad", 20000101 + i))
            .collect();
        let body = format!("EventId,EventDay,EventCount\n{}\n", rows.join("\n"));
        assert_eq!(
            parse_bulk(body.as_bytes(), BulkFormat::Csv),
            Err(VisitsError::TooManyRows)
        );
        let json = serde_json::to_vec(&vec![serde_json::json!({}); MAX_BULK_ROWS + 1]).unwrap();
        assert_eq!(
            parse_bulk(&json, BulkFormat::Json),
            Err(VisitsError::TooManyRows)
        );
    }

    #[test]
    fn exactly_the_row_limit_is_accepted() {
        let start = time::Date::from_calendar_date(2000, time::Month::January, 1).unwrap();
        let rows: Vec<String> = (0..MAX_BULK_ROWS)
            .map(|i| {
                let day = EventDay::from_date(start + time::Duration::days(i as i64));
                format!("7,{},1", day.as_u32())
            })
            .collect();
        let body = format!("EventId,EventDay,EventCount\n{}\n", rows.join("\n"));
        assert_eq!(
            parse_bulk(body.as_bytes(), BulkFormat::Csv).unwrap().len(),
            MAX_BULK_ROWS
        );
    }
}
