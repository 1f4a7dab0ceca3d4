//! End-to-end tests of telemetry's staged readings (components/telemetry `store.rs`): new
//! readings are appended to `recent_readings` and move to `readings` together once 2000 are
//! staged. Nothing of that shows in the API: duplicates are found in either table, and the
//! readings list and the sensor view's statistics span both.
//!
//! Needs the components built (`cargo xtask build`).

use integration_tests::{now_millis, rfc3339, TestApp};
use serde_json::{json, Value};

const SECOND: i64 = 1000;
/// Staged readings that make the next batch move them (the service's `FOLD_ROWS`).
const FOLD_ROWS: i64 = 2000;

/// Readings of `sensor` one second apart from `start`, `first` to `first + count - 1`.
fn steady(sensor: &str, start: i64, first: i64, count: i64) -> Value {
    (first..first + count)
        .map(|i| json!({ "sensor_id": sensor, "celsius": 21.5, "at": rfc3339(start + i * SECOND) }))
        .collect()
}

/// Posts readings, asserting 202; returns (accepted, duplicates).
fn ingest(app: &TestApp, body: &Value) -> (i64, i64) {
    let response = app.post_json("/telemetry/readings", body);
    assert_eq!(response.status, 202, "ingest: {}", response.text());
    let answer = response.json();
    (
        answer["accepted"].as_i64().unwrap(),
        answer["duplicates"].as_i64().unwrap(),
    )
}

fn listed_ats(app: &TestApp, query: &str) -> Vec<String> {
    let answer = app.get_json(&format!("/telemetry/sensors/duct/readings{query}"));
    answer["readings"]
        .as_array()
        .expect("readings")
        .iter()
        .map(|r| r["at"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn readings_moved_out_of_staging_and_still_staged_read_and_dedupe_as_one_table() {
    let app = TestApp::start_main_app();
    // 40 minutes ago on a whole second: 2150 seconds of readings stay in the last hour.
    let start = (now_millis() - 40 * 60 * SECOND) / SECOND * SECOND;
    let moved = FOLD_ROWS + 100;
    for first in (0..moved).step_by(700) {
        let count = 700.min(moved - first);
        assert_eq!(
            ingest(&app, &steady("duct", start, first, count)),
            (count, 0)
        );
    }
    // Staged after the move.
    assert_eq!(ingest(&app, &steady("duct", start, moved, 50)), (50, 0));

    // Re-sent readings are duplicates wherever they are: moved, staged, or some of each.
    assert_eq!(ingest(&app, &steady("duct", start, 0, 10)), (0, 10));
    assert_eq!(ingest(&app, &steady("duct", start, moved, 10)), (0, 10));
    assert_eq!(ingest(&app, &steady("duct", start, moved - 5, 10)), (0, 10));
    // A new one next to them is still accepted.
    assert_eq!(ingest(&app, &steady("duct", start, moved + 50, 1)), (1, 0));
    let total = moved + 51;

    let view = app.get_json("/telemetry/sensors/duct");
    assert_eq!(view["last_hour"]["count"], total);
    assert_eq!(view["last_hour"]["mean"], 21.5);

    // The list is in time order across both tables.
    let since = rfc3339(start + (moved - 3) * SECOND);
    let expected: Vec<String> = (moved - 3..total)
        .map(|i| rfc3339(start + i * SECOND))
        .collect();
    assert_eq!(
        listed_ats(&app, &format!("?since={since}&limit=1000")),
        expected
    );
    let first_two = listed_ats(&app, &format!("?since={}&limit=2", rfc3339(start)));
    assert_eq!(first_two, [rfc3339(start), rfc3339(start + SECOND)]);
}
