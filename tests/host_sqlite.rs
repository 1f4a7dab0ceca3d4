//! Host conformance: SQLite (`fermyon:spin/sqlite`): values and types, errors, the first-statement rule, the
//! `ATTACH` guard, labels and their access rules, persistence and concurrent writers.
//!
//! Part of the host conformance suite, split by capability like the host: the behaviours of Spin
//! that our components rely on (see /work/shared/spin-compat.md), checked against a running
//! server with the probe component (tests/components/probe; helpers in the harness's `probe` and
//! `probe_app`). Runs unchanged against the real Spin (`SPIN_BIN=...`) or our host (default);
//! tests of host-only behaviour skip themselves on the real Spin, saying why.
//!
//! Needs the probe built: `cargo build --target wasm32-wasip2 --release -p probe`.

use integration_tests::{fetch, probe_json, sql, sql_ok, start_conformance_app};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// SQLite

#[test]
fn sqlite_values_round_trip_by_storage_class() {
    let app = start_conformance_app();
    sql_ok(
        &app,
        "default",
        "CREATE TABLE t (i INTEGER, r REAL, s TEXT, n, b BLOB)",
        json!([]),
    );
    sql_ok(
        &app,
        "default",
        "INSERT INTO t VALUES (?, ?, ?, ?, ?)",
        json!([-42, 1.5, "text ✓", null, { "blob": [0, 1, 255] }]),
    );
    let result = sql(&app, "default", "SELECT i, r, s, n, b FROM t", json!([]));
    assert_eq!(result["columns"], json!(["i", "r", "s", "n", "b"]));
    assert_eq!(
        result["rows"],
        json!([[-42, 1.5, "text ✓", null, { "blob": [0, 1, 255] }]])
    );
    assert!(
        result["rows"][0][0].is_i64() && result["rows"][0][1].is_f64(),
        "{result}"
    );
}

#[test]
fn sqlite_cell_type_follows_stored_value_not_declared_type() {
    let app = start_conformance_app();
    sql_ok(&app, "default", "CREATE TABLE t (x TEXT)", json!([]));
    sql_ok(&app, "default", "INSERT INTO t VALUES (?)", json!([2.0]));
    let rows = sql_ok(&app, "default", "SELECT x, typeof(x) FROM t", json!([]));
    // TEXT affinity turns the real into text; the value comes back as text.
    assert_eq!(rows, json!([["2.0", "text"]]));
    let rows = sql_ok(&app, "default", "SELECT 2.0, 3", json!([]));
    assert!(rows[0][0].is_f64() && rows[0][1].is_i64(), "{rows}");
}

#[test]
fn sqlite_result_columns_follow_aliases() {
    let app = start_conformance_app();
    let result = sql(&app, "default", "SELECT 1 AS one, 'x' AS letter", json!([]));
    assert_eq!(result["columns"], json!(["one", "letter"]));
    let result = sql(&app, "default", "CREATE TABLE t (x)", json!([]));
    assert_eq!(result, json!({ "columns": [], "rows": [] }));
}

#[test]
fn sqlite_bad_statement_is_io_error() {
    let app = start_conformance_app();
    let result = sql(&app, "default", "SELEC 1", json!([]));
    assert_eq!(result["error"], "io", "{result}");
    assert!(
        result["message"]
            .as_str()
            .unwrap_or_default()
            .contains("syntax error"),
        "{result}"
    );
}

#[test]
fn sqlite_wrong_parameter_count_is_io_error() {
    let app = start_conformance_app();
    let result = sql(&app, "default", "SELECT ?, ?", json!([1]));
    assert_eq!(result["error"], "io", "{result}");
}

#[test]
fn sqlite_runs_only_the_first_statement() {
    let app = start_conformance_app();
    assert_eq!(
        sql_ok(&app, "default", "SELECT 1; SELECT 2", json!([])),
        json!([[1]])
    );
    sql_ok(
        &app,
        "default",
        "CREATE TABLE t (x); INSERT INTO t VALUES (1)",
        json!([]),
    );
    assert_eq!(
        sql_ok(&app, "default", "SELECT count(*) FROM t", json!([])),
        json!([[0]])
    );
}

#[test]
fn sqlite_attach_of_file_is_not_authorized() {
    let app = start_conformance_app();
    let file = app.temp_dir().join("attached.db");
    let statement = format!("ATTACH DATABASE '{}' AS other", file.display());
    let result = sql(&app, "default", &statement, json!([]));
    assert_eq!(result["error"], "io", "{result}");
    assert!(
        result["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not authorized"),
        "{result}"
    );
    assert!(!file.exists(), "the attached file must not be created");
}

#[test]
fn sqlite_undeclared_label_is_access_denied() {
    let app = start_conformance_app();
    let result = sql(&app, "not_declared", "SELECT 1", json!([]));
    assert_eq!(result["error"], "access-denied", "{result}");
}

#[test]
fn sqlite_default_not_declared_by_component_is_access_denied() {
    let app = start_conformance_app();
    let body = json!({ "sql": "SELECT 1", "params": [] }).to_string();
    let result = fetch(
        &app,
        "http://echo.spin.internal/probe/sqlite/default",
        "POST",
        &[],
        &body,
    );
    assert_eq!(result["status"], 200, "{result}");
    let inner: Value =
        serde_json::from_str(result["body"].as_str().unwrap_or_default()).expect("json");
    assert_eq!(inner["error"], "access-denied", "{inner}");
}

#[test]
fn sqlite_labels_are_separate_databases() {
    let app = start_conformance_app();
    sql_ok(
        &app,
        "default",
        "CREATE TABLE only_in_default (x)",
        json!([]),
    );
    let result = sql(&app, "probe_db", "SELECT * FROM only_in_default", json!([]));
    assert_eq!(result["error"], "io", "{result}");
}

#[test]
fn sqlite_data_persists_across_restart() {
    let mut app = start_conformance_app();
    for label in ["default", "probe_db"] {
        sql_ok(&app, label, "CREATE TABLE t (x TEXT)", json!([]));
        sql_ok(
            &app,
            label,
            "INSERT INTO t VALUES (?)",
            json!([format!("kept in {label}")]),
        );
    }
    app.kill_hard();
    app.restart();
    for label in ["default", "probe_db"] {
        assert_eq!(
            sql_ok(&app, label, "SELECT x FROM t", json!([])),
            json!([[format!("kept in {label}")]])
        );
    }
}

#[test]
fn sqlite_concurrent_writers_never_see_database_is_locked() {
    const WRITERS: usize = 16;
    const WRITES_EACH: usize = 10;
    let app = start_conformance_app();
    sql_ok(
        &app,
        "default",
        "CREATE TABLE hits (writer INTEGER, n INTEGER)",
        json!([]),
    );
    std::thread::scope(|scope| {
        for writer in 0..WRITERS {
            let app = &app;
            scope.spawn(move || {
                for n in 0..WRITES_EACH {
                    // A transaction spanning two statements holds the write
                    // lock across calls, which is where `database is locked`
                    // shows up without a busy timeout.
                    let batch = json!({ "batch": [
                        { "sql": "BEGIN IMMEDIATE" },
                        { "sql": "INSERT INTO hits VALUES (?, ?)", "params": [writer, n] },
                        { "sql": "SELECT count(*) FROM hits" },
                        { "sql": "COMMIT" },
                    ]});
                    let result = probe_json(app.post(
                        "/probe/sqlite/default",
                        "application/json",
                        batch.to_string(),
                    ));
                    let results = result["results"].as_array().expect("batch results");
                    assert!(
                        results.len() == 4 && results.iter().all(|r| r.get("error").is_none()),
                        "writer {writer} write {n}: {result}"
                    );
                }
            });
        }
    });
    let rows = sql_ok(&app, "default", "SELECT count(*) FROM hits", json!([]));
    assert_eq!(rows, json!([[WRITERS * WRITES_EACH]]));
}
