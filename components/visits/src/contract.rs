//! The service's contract: the OpenAPI 3.1 document served at `GET /visits/openapi.json`.
//!
//! It is generated (with `utoipa`) from the types the service really reads and writes: the rows
//! (`VisitRow`, `EventId`, `EventDay`) and the bodies; the health report and the error body are
//! the ones every service shares (`service_kit::contract`). Limits and patterns come from the
//! constants in `domain` and `bulk`, so they cannot drift from the checks; the unit tests below
//! check each pattern against the parser it describes and each documented route and method
//! against `route`.
//!
//! Every `pub fn` with `#[utoipa::path]` below is an operation descriptor: it holds no code, only
//! the operation's parameters, body and the statuses the service answers it with; the `500` of
//! every operation on the database is added by `STORAGE_ERRORS`. `handlers` serves them.

use std::borrow::Cow;

use service_kit::contract::{ErrorBody, Health, SQLITE_SERVICE_ENDPOINTS, STORAGE_ERRORS};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{RefOr, Required};
use utoipa::{Modify, Number, OpenApi, PartialSchema, ToSchema};

use crate::bulk::CSV_HEADER;
use crate::domain::{
    EventDay, EventId, VisitRow, MAX_ADDED_COUNT, MAX_BULK_ROWS, MAX_DAY_TOTAL,
    MAX_EVENT_ID_DIGITS, MAX_LOADED_COUNT,
};
use crate::wire::{AddVisits, BulkRow, Loaded};

/// The service name: the first path segment of every route.
pub const SERVICE: &str = "visits";

/// A calendar day written YYYYMMDD (years 1000 to 9999), as a regular expression without anchors:
/// every month's days, and 29 February in leap years only.
pub const CALENDAR_DAY: &str = concat!(
    "(?:[1-9][0-9]{3}(?:(?:0[13578]|1[02])(?:0[1-9]|[12][0-9]|3[01])",
    "|(?:0[469]|11)(?:0[1-9]|[12][0-9]|30)|02(?:0[1-9]|1[0-9]|2[0-8]))",
    "|(?:[1-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[13579][26])00)0229)"
);

#[derive(OpenApi)]
#[openapi(
    paths(
        read_event_visits,
        add_event_visits,
        preflight_event_visits,
        load_visits,
        preflight_visits,
        preflight_health,
        preflight_openapi_document,
    ),
    components(schemas(BulkRow, DayText, EventId, ErrorBody, Health)),
    modifiers(&OptionalBodies, &STORAGE_ERRORS, &SQLITE_SERVICE_ENDPOINTS),
    tags((name = "visits", description = "Visit counts per event and day")),
)]
pub struct ApiDoc;

/// The document as the component serves it: document() serialised by the unit tests into
/// `openapi.json` (`UPDATE_OPENAPI=1 cargo test -p visits` rewrites it), so that the component
/// links none of utoipa's document building.
pub const DOCUMENT: &str = include_str!("../openapi.json");

/// The document as served: utoipa's, plus the one bound utoipa cannot write exactly. Its integers
/// are `isize`/`usize` (32 bits in wasm), and the float 2^64, though exact, misleads tools that
/// compute with floats near it (schemathesis generates "valid" ids above it); the integer
/// `u64::MAX` is exact for every reader with 64-bit integers.
pub fn document() -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("an OpenAPI document serialises");
    let numeric_id = doc.pointer_mut("/components/schemas/BulkRow/properties/EventId/oneOf/1");
    if let Some(serde_json::Value::Object(schema)) = numeric_id {
        schema.insert("maximum".into(), u64::MAX.into());
    }
    doc
}

/// Marks the bodies the service does not require as optional (utoipa requires every body it is
/// given as a type, and writes `Option<T>` as "T or null", while a JSON `null` is refused).
struct OptionalBodies;

impl Modify for OptionalBodies {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let add_visits = doc
            .paths
            .paths
            .get_mut("/visits/{event_id}")
            .and_then(|item| item.post.as_mut())
            .and_then(|operation| operation.request_body.as_mut());
        if let Some(RefOr::T(body)) = add_visits {
            body.required = Some(Required::False);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The types on the wire written by hand (the derived ones are in `wire`)

/// A JSON bulk load: at most `MAX_BULK_ROWS` rows, no (EventId, EventDay) twice.
pub struct BulkRows;

/// A CSV bulk load: the header line, then one `EventId,EventDay,EventCount` line per row.
pub struct BulkCsv;

/// A day in a query parameter: YYYYMMDD, a real calendar date.
pub struct DayText;

impl PartialSchema for EventId {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(event_id_pattern()))
            .description(Some(format!(
                "An event id: 1 to {MAX_EVENT_ID_DIGITS} ASCII digits (leading zeros make another id)"
            )))
            .examples(["324"])
            .into()
    }
}

impl ToSchema for EventId {}

impl PartialSchema for EventDay {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(number(EventDay::MIN)))
            .maximum(Some(number(EventDay::MAX)))
            .description(Some(
                "A day as the integer YYYYMMDD; it must be a real calendar date",
            ))
            .examples([20171012])
            .into()
    }
}

impl ToSchema for EventDay {}

impl PartialSchema for DayText {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(format!("^{CALENDAR_DAY}$")))
            .examples(["20171012"])
            .into()
    }
}

impl ToSchema for DayText {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("DayText")
    }
}

impl PartialSchema for BulkRows {
    fn schema() -> RefOr<Schema> {
        ArrayBuilder::new()
            .items(BulkRow::schema_ref())
            .max_items(Some(MAX_BULK_ROWS))
            .into()
    }
}

impl ToSchema for BulkRows {}

impl PartialSchema for BulkCsv {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(csv_pattern()))
            .description(Some(format!(
                "The header line `{}`, then at most {MAX_BULK_ROWS} rows, no (EventId, EventDay) twice",
                CSV_HEADER.join(",")
            )))
            .examples(["EventId,EventDay,EventCount\n324,20171012,10\n"])
            .into()
    }
}

impl ToSchema for BulkCsv {}

trait SchemaRef {
    fn schema_ref() -> RefOr<Schema>;
}

impl<T: ToSchema> SchemaRef for T {
    fn schema_ref() -> RefOr<Schema> {
        RefOr::Ref(utoipa::openapi::Ref::from_schema_name(T::name()))
    }
}

fn event_id_pattern() -> String {
    format!("^[0-9]{{1,{MAX_EVENT_ID_DIGITS}}}$")
}

/// An integer bound, as a float (exact up to 2^53): utoipa's integers are `isize`, 32 bits in wasm.
fn number(value: impl Into<f64>) -> Number {
    Number::Float(value.into())
}

fn count(min: i64, max: i64, description: &str) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(number(min as f64)))
        .maximum(Some(number(max as f64)))
        .description(Some(description))
        .into()
}

/// A day's total visits.
pub(crate) fn day_total() -> Schema {
    count(0, MAX_DAY_TOTAL, "The day's visits")
}

pub(crate) fn added_count() -> Schema {
    count(1, MAX_ADDED_COUNT, "How many visits to add. Default: 1.")
}

pub(crate) fn loaded_count() -> Schema {
    count(
        0,
        MAX_LOADED_COUNT,
        "The day's count, replacing what was there",
    )
}

/// A bulk row's `EventId`: a string of digits, or a non-negative integer (up to 2^64 - 1, the
/// `maximum` that [`document`] adds).
pub(crate) fn bulk_event_id() -> Schema {
    OneOfBuilder::new()
        .item(EventId::schema_ref())
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(number(0))),
        )
        .into()
}

/// A CSV bulk load in its canonical form (no spaces, no quotes): the header, then rows.
fn csv_pattern() -> String {
    let header = CSV_HEADER.join(",");
    let id = format!("[0-9]{{1,{MAX_EVENT_ID_DIGITS}}}");
    let digits = MAX_LOADED_COUNT.to_string().len() - 1;
    // 0 to MAX_LOADED_COUNT (a power of ten), leading zeros and a plus sign allowed.
    assert_eq!(MAX_LOADED_COUNT, 10_i64.pow(digits as u32));
    let count = format!("\\+?0*(?:[0-9]{{1,{digits}}}|{MAX_LOADED_COUNT})");
    format!("^{header}(?:\\r?\\n{id},{CALENDAR_DAY},{count})*(?:\\r?\\n)?$")
}

// ---------------------------------------------------------------------------------------------
// The operations

/// An event's visit counts, by day
///
/// The event's rows ordered by day (both dates inclusive when given); an unknown event id has
/// no rows. Other query parameters are ignored.
#[utoipa::path(
    get,
    path = "/visits/{event_id}",
    tag = "visits",
    params(
        ("event_id" = EventId, Path, description = "The event"),
        ("startDate" = Option<DayText>, Query, description = "First day included (YYYYMMDD); given at most once"),
        ("endDate" = Option<DayText>, Query, description = "Last day included (YYYYMMDD), not before startDate; given at most once"),
    ),
    responses(
        (status = 200, description = "The event's rows by day", body = Vec<VisitRow>),
        (status = 400, description = "A date is not written YYYYMMDD or is given twice", body = ErrorBody),
        (status = 404, description = "The event id is not 1 to 20 digits", body = ErrorBody),
        (status = 422, description = "A date names no calendar day, or startDate is after endDate", body = ErrorBody),
    )
)]
pub fn read_event_visits() {}

/// Adds visits to an event's day
///
/// Adds `EventCount` visits (default 1) to `EventDay` (default today, UTC) and returns the
/// day's new total. An empty body adds one visit today. The body is read as JSON whatever its
/// content type.
#[utoipa::path(
    post,
    path = "/visits/{event_id}",
    tag = "visits",
    params(("event_id" = EventId, Path, description = "The event")),
    request_body(content = AddVisits, content_type = "application/json",
        description = "Optional: an empty body adds one visit today"),
    responses(
        (status = 200, description = "The day's row after the addition", body = VisitRow),
        (status = 400, description = "The body is not such an object, or a field is out of range", body = ErrorBody),
        (status = 404, description = "The event id is not 1 to 20 digits", body = ErrorBody),
        (status = 413, description = "The body is over 4 MiB", body = ErrorBody),
        (status = 422, description = "EventDay names no calendar day, or the day's total would pass 2^53 - 1", body = ErrorBody),
    )
)]
pub fn add_event_visits() {}

/// Loads many days' counts at once
///
/// Sets the count of every given (EventId, EventDay), replacing what was there, in one
/// transaction: all rows or none. The body is JSON (also without a content type) or CSV.
#[utoipa::path(
    put,
    path = "/visits",
    tag = "visits",
    request_body(
        description = "At most 10,000 rows; the same (EventId, EventDay) may not appear twice",
        content(
            (BulkRows = "application/json"),
            (BulkCsv = "text/csv"),
        )
    ),
    responses(
        (status = 200, description = "Every row was set", body = Loaded),
        (status = 400, description = "A row is invalid (named with its index and field); nothing was written", body = ErrorBody),
        (status = 413, description = "More than 10,000 rows, or a body over 4 MiB", body = ErrorBody),
        (status = 415, description = "The content type is neither JSON nor text/csv", body = ErrorBody),
        (status = 422, description = "A row's EventDay names no calendar day, or a row repeats another's (EventId, EventDay); nothing was written", body = ErrorBody),
    )
)]
pub fn load_visits() {}

/// Which methods the resource answers (a CORS preflight is answered by the gateway)
#[utoipa::path(
    options,
    path = "/visits/{event_id}",
    tag = "visits",
    params(("event_id" = EventId, Path, description = "The event")),
    responses(
        (status = 204, description = "Allowed: GET, POST, OPTIONS (in `allow`)"),
        (status = 404, description = "The event id is not 1 to 20 digits", body = ErrorBody),
    )
)]
pub fn preflight_event_visits() {}

/// Which methods the resource answers (a CORS preflight is answered by the gateway)
#[utoipa::path(
    options,
    path = "/visits",
    tag = "visits",
    responses((status = 204, description = "Allowed: PUT, OPTIONS (in `allow`)"))
)]
pub fn preflight_visits() {}

/// Which methods the resource answers (a CORS preflight is answered by the gateway)
#[utoipa::path(
    options,
    path = "/visits/health",
    tag = "visits",
    responses((status = 204, description = "Allowed: GET, OPTIONS (in `allow`)"))
)]
pub fn preflight_health() {}

/// Which methods the resource answers (a CORS preflight is answered by the gateway)
#[utoipa::path(
    options,
    path = "/visits/openapi.json",
    tag = "visits",
    responses((status = 204, description = "Allowed: GET, OPTIONS (in `allow`)"))
)]
pub fn preflight_openapi_document() {}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;
    use service_kit::contract::{operations, property_names};

    use crate::bulk::{parse_bulk, BulkFormat};
    use crate::domain::parse_day_range;
    use crate::route::{self, Resource};

    fn doc() -> Value {
        document()
    }

    #[test]
    fn the_embedded_document_is_the_generated_one() {
        service_kit::assert_embedded_document!(DOCUMENT, &document());
    }

    fn regex(pattern: &str) -> regex::Regex {
        regex::Regex::new(pattern).unwrap()
    }

    /// A path of each resource: the match breaks the build when a resource is added.
    fn sample_path(resource: &Resource) -> &'static str {
        match resource {
            Resource::AllVisits => "/visits",
            Resource::EventVisits(_) => "/visits/{event_id}",
            Resource::Health => "/visits/health",
            Resource::OpenApi => "/visits/openapi.json",
        }
    }

    #[test]
    fn the_document_passes_the_shared_checks() {
        service_kit::assert_document!(&doc());
    }

    #[test]
    fn every_route_is_documented_with_exactly_the_methods_it_answers() {
        let mut served = BTreeSet::new();
        for concrete in [
            "/visits",
            "/visits/324",
            "/visits/health",
            "/visits/openapi.json",
        ] {
            let resource = route::resource(concrete).unwrap();
            for method in resource.allowed_methods().split(", ") {
                served.insert((sample_path(&resource).to_owned(), method.to_owned()));
            }
        }
        assert_eq!(operations(&doc()), served);
    }

    #[test]
    fn the_day_pattern_accepts_exactly_the_calendar_days() {
        let pattern = regex(&format!("^{CALENDAR_DAY}$"));
        let years = [
            1000, 1001, 1004, 1100, 1200, 1600, 1700, 1800, 1896, 1900, 1999, 2000, 2023, 2024,
            2100, 2400, 9996, 9999,
        ];
        for year in years {
            for month_day in 0..10000 {
                let text = format!("{year}{month_day:04}");
                assert_eq!(
                    pattern.is_match(&text),
                    EventDay::parse(&text).is_ok(),
                    "{text}"
                );
            }
        }
        for text in [
            "",
            "0999123",
            "09991231",
            "100001011",
            "2017101",
            "2017-10-12",
        ] {
            assert!(!pattern.is_match(text), "{text}");
            assert!(EventDay::parse(text).is_err(), "{text}");
        }
        let doc = doc();
        let day_text = &doc["components"]["schemas"]["DayText"]["pattern"];
        assert_eq!(day_text, &Value::from(format!("^{CALENDAR_DAY}$")));
        assert!(parse_day_range("startDate=20240229&endDate=20240301").is_ok());
    }

    #[test]
    fn the_event_id_pattern_accepts_exactly_the_event_ids() {
        let pattern = regex(&event_id_pattern());
        let long = "9".repeat(MAX_EVENT_ID_DIGITS);
        let too_long = "9".repeat(MAX_EVENT_ID_DIGITS + 1);
        for text in [
            "0", "324", "0324", &long, "", "a", "1a", "-1", " 1", &too_long,
        ] {
            assert_eq!(
                pattern.is_match(text),
                EventId::parse(text).is_ok(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn csv_bodies_matching_the_pattern_load() {
        let pattern = regex(&csv_pattern());
        let fixture = include_str!("../fixtures/sample.csv");
        let bodies = [
            fixture,
            "EventId,EventDay,EventCount",
            "EventId,EventDay,EventCount\r\n",
            "EventId,EventDay,EventCount\n1,20240229,0\r\n2,99991231,1000000000",
            "EventId,EventDay,EventCount\n00000000000000000001,10000101,+0007",
        ];
        for body in bodies {
            assert!(pattern.is_match(body), "{body:?}");
            assert!(
                parse_bulk(body.as_bytes(), BulkFormat::Csv).is_ok(),
                "{body:?}"
            );
        }
        let refused = [
            "",
            "EventId,EventDay\n",
            "EventId,EventDay,EventCount\n1,20230229,1\n",
            "EventId,EventDay,EventCount\n1,20240229,1000000001\n",
            "EventId,EventDay,EventCount\n1,20240229,-1\n",
            "EventId,EventDay,EventCount\n123456789012345678901,20240229,1\n",
        ];
        for body in refused {
            assert!(!pattern.is_match(body), "{body:?}");
            assert!(
                parse_bulk(body.as_bytes(), BulkFormat::Csv).is_err(),
                "{body:?}"
            );
        }
    }

    #[test]
    fn body_limits_come_from_the_domain() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        let add = &schemas["AddVisits"];
        assert_eq!(add["additionalProperties"], false);
        assert!(add.get("required").is_none());
        assert_eq!(add["properties"]["EventCount"]["minimum"], 1);
        assert_eq!(add["properties"]["EventCount"]["maximum"], MAX_ADDED_COUNT);
        let row = &schemas["BulkRow"];
        assert_eq!(row["additionalProperties"], false);
        assert_eq!(row["required"], serde_json::json!(CSV_HEADER));
        let properties = property_names(row);
        assert_eq!(properties, BTreeSet::from(CSV_HEADER));
        assert_eq!(row["properties"]["EventCount"]["maximum"], MAX_LOADED_COUNT);
        assert_eq!(schemas["BulkRows"]["maxItems"], MAX_BULK_ROWS);
        assert_eq!(schemas["EventDay"]["minimum"], EventDay::MIN);
        assert_eq!(schemas["EventDay"]["maximum"], EventDay::MAX);
        assert_eq!(
            schemas["VisitRow"]["properties"]["EventCount"]["maximum"],
            MAX_DAY_TOTAL
        );
        let post = &doc["paths"]["/visits/{event_id}"]["post"];
        assert_eq!(post["requestBody"]["required"], false);
    }

    #[test]
    fn a_numeric_bulk_event_id_may_be_any_u64() {
        let body = format!(
            r#"[{{"EventId": {}, "EventDay": 20171012, "EventCount": 1}}]"#,
            u64::MAX
        );
        assert!(parse_bulk(body.as_bytes(), BulkFormat::Json).is_ok());
        let beyond = body.replace(&u64::MAX.to_string(), "18446744073709551616");
        assert!(parse_bulk(beyond.as_bytes(), BulkFormat::Json).is_err());
        let doc = doc();
        let numeric = &doc["components"]["schemas"]["BulkRow"]["properties"]["EventId"]["oneOf"][1];
        assert_eq!(numeric["maximum"].as_u64(), Some(u64::MAX));
    }
}
