//! The visits service's contract and health, end to end: `GET /visits/openapi.json` describes
//! exactly the routes the service answers, real answers match their documented schemas, and
//! `GET /visits/health` checks the service's own database.
//!
//! Needs the components built (`cargo xtask build`).

#[path = "contract_check.rs"]
mod contract_check;

use contract_check::{
    assert_cases_fit, assert_health_fails_without_sqlite, assert_healthy, assert_serves_exactly,
    Contract, ContractCase,
};
use integration_tests::{TestApp, JSON};

/// Every (method, path) the service answers.
const SERVED: [(&str, &str); 9] = [
    ("get", "/visits/{event_id}"),
    ("post", "/visits/{event_id}"),
    ("options", "/visits/{event_id}"),
    ("put", "/visits"),
    ("options", "/visits"),
    ("get", "/visits/health"),
    ("options", "/visits/health"),
    ("get", "/visits/openapi.json"),
    ("options", "/visits/openapi.json"),
];

fn contract(app: &TestApp) -> Contract {
    Contract::fetch(app, "visits")
}

/// A concrete request path for a documented one.
fn concrete(path: &str) -> String {
    path.replace("{event_id}", "324")
}

/// A body the operation accepts.
fn sample_body(method: &str, path: &str) -> (&'static str, Vec<u8>) {
    match (method, path) {
        ("post", "/visits/{event_id}") => {
            (JSON, br#"{"EventDay": 20171012, "EventCount": 2}"#.to_vec())
        }
        ("put", "/visits") => (
            JSON,
            br#"[{"EventId": "324", "EventDay": 20171012, "EventCount": 10}]"#.to_vec(),
        ),
        _ => (JSON, Vec::new()),
    }
}

#[test]
fn health_is_ok_with_its_database_check() {
    let app = TestApp::start_main_app();
    assert_healthy(&app, "visits", &["sqlite"]);
}

#[test]
fn health_is_503_naming_the_check_when_the_database_cannot_be_opened() {
    let app = TestApp::start_main_app();
    assert_health_fails_without_sqlite(&app, "visits", "visits");
}

#[test]
fn the_contract_is_openapi_3_1_and_lists_exactly_the_routes_served() {
    let app = TestApp::start_main_app();
    let doc = contract(&app);
    assert_eq!(doc.doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(!doc.doc["info"]["description"].as_str().unwrap().is_empty());
    // Each documented operation is answered with a documented status and body; every other
    // method is refused with 405 and an `allow` header naming exactly the documented ones.
    assert_serves_exactly(&app, &doc, &SERVED, concrete, sample_body);
}

#[test]
fn real_answers_match_their_documented_schemas() {
    let app = TestApp::start_main_app();
    let doc = contract(&app);
    let sample = include_str!("../components/visits/fixtures/sample.json");
    let cases: Vec<ContractCase> = vec![
        ("put", "/visits", "/visits", JSON, sample.into(), 200),
        (
            "put",
            "/visits",
            "/visits",
            "text/csv",
            include_bytes!("../components/visits/fixtures/sample.csv").to_vec(),
            200,
        ),
        (
            "get",
            "/visits/{event_id}",
            "/visits/324?startDate=20171012",
            "",
            Vec::new(),
            200,
        ),
        (
            "get",
            "/visits/{event_id}",
            "/visits/999",
            "",
            Vec::new(),
            200,
        ),
        (
            "post",
            "/visits/{event_id}",
            "/visits/324",
            JSON,
            br#"{"EventDay": 20171012, "EventCount": 5}"#.to_vec(),
            200,
        ),
        (
            "post",
            "/visits/{event_id}",
            "/visits/7",
            JSON,
            Vec::new(),
            200,
        ),
        (
            "get",
            "/visits/{event_id}",
            "/visits/324?startDate=20170230",
            "",
            Vec::new(),
            422,
        ),
        (
            "get",
            "/visits/{event_id}",
            "/visits/abc",
            "",
            Vec::new(),
            404,
        ),
        (
            "post",
            "/visits/{event_id}",
            "/visits/324",
            JSON,
            br#"{"EventCount": 0}"#.to_vec(),
            400,
        ),
        (
            "put",
            "/visits",
            "/visits",
            "application/xml",
            b"<a/>".to_vec(),
            415,
        ),
        (
            "put",
            "/visits",
            "/visits",
            JSON,
            br#"[{"EventId": "1", "EventDay": 20171012}]"#.to_vec(),
            400,
        ),
        (
            "options",
            "/visits/{event_id}",
            "/visits/324",
            "",
            Vec::new(),
            204,
        ),
        (
            "get",
            "/visits/openapi.json",
            "/visits/openapi.json",
            "",
            Vec::new(),
            200,
        ),
    ];
    assert_cases_fit(&app, &doc, cases);
    let rows = app.get("/visits/324").json();
    assert!(
        rows.as_array().is_some_and(|rows| !rows.is_empty()),
        "{rows}"
    );
}
