//! End-to-end tests of the telemetry service (components/telemetry) on a running server: ingest,
//! rules, episodes of alerts (one warning, one recovery), late and repeated readings, the sensor
//! views, the outbox and the events it publishes. Each test starts its own app with fresh stores;
//! waits poll with a deadline, never a fixed sleep.
//!
//! Timestamps are relative to now (within the last hour), since the sensor view's statistics and
//! the default `since` of the readings list are "the last hour".
//!
//! Needs the components built (`cargo xtask build`).

use integration_tests::{
    assert_error, assert_methods_not_allowed, now_millis, rfc3339, TestApp, TestResponse, JSON,
};
use serde_json::{json, Value};

const MINUTE: i64 = 60_000;

// ---------------------------------------------------------------------------------------------
// Helpers

/// A base time 40 minutes ago, on a whole minute: readings at `base + k minutes` stay in the
/// last hour and in the past for the length of a test.
fn base() -> i64 {
    (now_millis() - 40 * MINUTE) / MINUTE * MINUTE
}

fn reading(sensor: &str, celsius: f64, at: i64) -> Value {
    json!({ "sensor_id": sensor, "celsius": celsius, "at": rfc3339(at) })
}

/// One reading per minute from `start`, with these values.
fn series(sensor: &str, start: i64, values: &[f64]) -> Value {
    Value::Array(
        values
            .iter()
            .enumerate()
            .map(|(i, c)| reading(sensor, *c, start + i as i64 * MINUTE))
            .collect(),
    )
}

fn ingest_raw(app: &TestApp, body: &Value) -> TestResponse {
    app.post_json("/telemetry/readings", body)
}

/// Posts readings, asserting 202; returns the answer.
fn ingest(app: &TestApp, body: &Value) -> Value {
    let response = ingest_raw(app, body);
    assert_eq!(response.status, 202, "ingest: {}", response.text());
    assert_eq!(response.header("content-type"), Some(JSON));
    response.json()
}

fn sensor(app: &TestApp, id: &str) -> Value {
    app.get_json(&format!("/telemetry/sensors/{id}"))
}

fn alerts(app: &TestApp, query: &str) -> Vec<Value> {
    app.get_json(&format!("/telemetry/alerts{query}"))["alerts"]
        .as_array()
        .unwrap()
        .clone()
}

/// The states of the alerts an ingest answer lists.
fn alert_states(answer: &Value) -> Vec<String> {
    answer["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["state"].as_str().unwrap().to_owned())
        .collect()
}

fn put_rules(app: &TestApp, id: &str, body: &Value) -> TestResponse {
    app.put_json(&format!("/telemetry/sensors/{id}/rules"), body)
}

/// Waits until the event log's `telemetry.alerts` holds `count` events for `sensor` (an ingest
/// forwards its events before it answers, so normally at once); returns them.
fn wait_for_events(app: &TestApp, sensor: &str, count: usize) -> Vec<Value> {
    let subject = format!("sensors/{sensor}");
    app.wait_for_events("telemetry.alerts", count, |event| {
        event["subject"] == subject.as_str()
    })
}

// ---------------------------------------------------------------------------------------------
// Ingest

#[test]
fn a_single_reading_is_accepted_and_becomes_the_latest() {
    let app = TestApp::start_main_app();
    let answer = ingest(&app, &json!({"sensor_id": "lab-1", "celsius": 21.5}));
    assert_eq!(
        answer,
        json!({"accepted": 1, "duplicates": 0, "out_of_order": 0, "alerts": []})
    );
    let view = sensor(&app, "lab-1");
    assert_eq!(view["sensor_id"], "lab-1");
    assert_eq!(view["state"], "normal");
    assert_eq!(view["active_alert"], Value::Null);
    assert_eq!(view["latest"]["celsius"], 21.5);
    // `at` defaulted to now: this minute (or the one before, at a minute's turn).
    let latest_at = view["latest"]["at"].as_str().unwrap();
    let minute = |millis: i64| rfc3339(millis / MINUTE * MINUTE)[..16].to_owned();
    assert!(
        [minute(now_millis()), minute(now_millis() - MINUTE)].contains(&latest_at[..16].to_owned()),
        "{latest_at}"
    );
    assert_eq!(view["last_hour"]["count"], 1);
    assert_eq!(
        view["rules"],
        json!({"sensor_id": "lab-1", "min_celsius": -10.0, "max_celsius": 35.0, "max_delta_per_minute": 5.0})
    );
}

#[test]
fn a_batch_of_many_sensors_is_accepted_in_one_request() {
    let app = TestApp::start_main_app();
    let start = base();
    let readings: Vec<Value> = (0..300)
        .map(|i| {
            reading(
                &format!("room-{}", i % 3),
                20.0 + (i / 3) as f64 * 0.01,
                start + (i / 3) * 1000,
            )
        })
        .collect();
    let answer = ingest(&app, &Value::Array(readings));
    assert_eq!(answer["accepted"], 300);
    assert_eq!(answer["duplicates"], 0);
    assert_eq!(answer["alerts"], json!([]));
    for room in ["room-0", "room-1", "room-2"] {
        let view = sensor(&app, room);
        assert_eq!(view["last_hour"]["count"], 100, "{room}");
        assert_eq!(view["latest"]["at"], rfc3339(start + 99 * 1000));
        assert_eq!(view["latest"]["celsius"], 20.99);
    }
}

#[test]
fn more_than_1000_readings_is_413_and_stores_nothing() {
    let app = TestApp::start_main_app();
    let start = base();
    let readings: Vec<Value> = (0..1001)
        .map(|i| reading("bulk", 20.0, start + i * 100))
        .collect();
    let response = ingest_raw(&app, &Value::Array(readings.clone()));
    assert_error(&response, 413, &["1001", "at most 1000"]);
    assert_error(&app.get("/telemetry/sensors/bulk"), 404, &["bulk"]);
    // Exactly 1000 is fine.
    let answer = ingest(&app, &Value::Array(readings[..1000].to_vec()));
    assert_eq!(answer["accepted"], 1000);
}

#[test]
fn an_invalid_reading_rejects_the_whole_request_naming_index_and_field() {
    let app = TestApp::start_main_app();
    let start = base();
    let good = reading("valid-1", 20.0, start);
    let future = rfc3339(now_millis() + 10 * MINUTE);
    // 400 for what the contract's schema refuses; 422 for what only the rules do (a time ahead).
    let cases = [
        (
            json!({"sensor_id": "s", "celsius": "warm"}),
            "readings[2].celsius",
        ),
        (
            json!({"sensor_id": "s", "celsius": 1000.5}),
            "readings[2].celsius",
        ),
        (
            json!({"sensor_id": "s", "celsius": -274}),
            "readings[2].celsius",
        ),
        (json!({"celsius": 20}), "readings[2].sensor_id"),
        (
            json!({"sensor_id": "bad id!", "celsius": 20}),
            "readings[2].sensor_id",
        ),
        (
            json!({"sensor_id": "x".repeat(65), "celsius": 20}),
            "readings[2].sensor_id",
        ),
        (
            json!({"sensor_id": "s", "celsius": 20, "at": "yesterday"}),
            "readings[2].at",
        ),
        (
            json!({"sensor_id": "s", "celsius": 20, "tmp": 1}),
            "readings[2].tmp",
        ),
        (json!("twenty"), "readings[2]"),
    ];
    let ahead = json!({"sensor_id": "s", "celsius": 20, "at": future});
    let cases = cases
        .into_iter()
        .map(|(bad, named)| (bad, named, 400))
        .chain([(ahead, "readings[2].at", 422)]);
    for (bad, named, status) in cases {
        let body = json!([good, reading("valid-2", 20.0, start), bad]);
        assert_error(&ingest_raw(&app, &body), status, &[named]);
    }
    assert_error(&ingest_raw(&app, &json!([])), 400, &["empty"]);
    assert_error(&ingest_raw(&app, &json!(42)), 400, &["reading"]);
    // All or nothing: the valid readings before the bad one were not stored.
    assert_error(&app.get("/telemetry/sensors/valid-1"), 404, &["valid-1"]);
    assert_error(&app.get("/telemetry/sensors/valid-2"), 404, &["valid-2"]);
}

// ---------------------------------------------------------------------------------------------
// Episodes

#[test]
fn a_run_of_hot_readings_raises_one_warning_and_one_recovery() {
    let app = TestApp::start_main_app();
    let start = base();
    // Entering the episode: one warning, in the answer.
    let answer = ingest(&app, &series("oven", start, &[30.0, 36.0, 37.0]));
    assert_eq!(alert_states(&answer), ["active"]);
    let raised = &answer["alerts"][0];
    assert_eq!(raised["sensor_id"], "oven");
    assert_eq!(raised["reason"], "above_max");
    assert_eq!(raised["celsius"], 36.0);
    assert_eq!(raised["threshold"], 35.0);
    assert_eq!(raised["raised_at"], rfc3339(start + MINUTE));
    assert_eq!(raised["resolved_at"], Value::Null);
    let id = raised["id"].clone();
    // Staying hot, one reading per request: never another warning.
    for (i, celsius) in [38.0, 39.5, 38.5].into_iter().enumerate() {
        let at = start + (3 + i as i64) * MINUTE;
        let answer = ingest(&app, &reading("oven", celsius, at));
        assert_eq!(answer["alerts"], json!([]), "reading {celsius}");
    }
    let view = sensor(&app, "oven");
    assert_eq!(view["state"], "warning");
    assert_eq!(view["active_alert"]["id"], id);
    assert_eq!(view["active_alert"]["last_celsius"], 38.5);
    assert_eq!(view["active_alert"]["peak_celsius"], 39.5);
    assert_eq!(alerts(&app, "?state=active").len(), 1);
    // Back in range: one recovery, then quiet.
    let answer = ingest(
        &app,
        &series("oven", start + 6 * MINUTE, &[34.0, 33.0, 32.5]),
    );
    assert_eq!(alert_states(&answer), ["resolved"]);
    let resolved = &answer["alerts"][0];
    assert_eq!(resolved["id"], id);
    assert_eq!(resolved["resolved_at"], rfc3339(start + 6 * MINUTE));
    assert_eq!(resolved["last_celsius"], 34.0);
    assert_eq!(resolved["peak_celsius"], 39.5);
    assert_eq!(sensor(&app, "oven")["state"], "normal");
    assert!(alerts(&app, "?state=active").is_empty());
    let all = alerts(&app, "");
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["state"], "resolved");
}

#[test]
fn cold_readings_warn_below_min() {
    let app = TestApp::start_main_app();
    let answer = ingest(&app, &series("freezer-door", base(), &[-9.0, -10.5, -11.0]));
    assert_eq!(alert_states(&answer), ["active"]);
    assert_eq!(answer["alerts"][0]["reason"], "below_min");
    assert_eq!(answer["alerts"][0]["threshold"], -10.0);
    assert_eq!(answer["alerts"][0]["last_celsius"], -10.5);
}

#[test]
fn changing_too_fast_warns_and_recovers_when_steady() {
    let app = TestApp::start_main_app();
    let start = base();
    // 20 -> 27 in one minute is 7 °C/min, above the default 5; in range all along.
    let answer = ingest(&app, &series("kettle", start, &[20.0, 27.0]));
    assert_eq!(alert_states(&answer), ["active"]);
    assert_eq!(answer["alerts"][0]["reason"], "too_fast");
    assert_eq!(answer["alerts"][0]["threshold"], 5.0);
    assert_eq!(answer["alerts"][0]["celsius"], 27.0);
    // Steady again: recovered.
    let answer = ingest(&app, &reading("kettle", 28.0, start + 2 * MINUTE));
    assert_eq!(alert_states(&answer), ["resolved"]);
    // A big change after a gap of more than ten minutes is no rate at all.
    let answer = ingest(&app, &reading("kettle", 5.0, start + 13 * MINUTE));
    assert_eq!(answer["alerts"], json!([]));
    assert_eq!(sensor(&app, "kettle")["state"], "normal");
}

#[test]
fn late_readings_are_stored_but_do_not_change_state_or_alerts() {
    let app = TestApp::start_main_app();
    let start = base();
    ingest(&app, &reading("cellar", 12.0, start + 10 * MINUTE));
    // A hot reading from before the latest: history only.
    let answer = ingest(&app, &reading("cellar", 50.0, start + 5 * MINUTE));
    assert_eq!(answer["accepted"], 1);
    assert_eq!(answer["out_of_order"], 1);
    assert_eq!(answer["alerts"], json!([]));
    let view = sensor(&app, "cellar");
    assert_eq!(view["state"], "normal");
    assert_eq!(view["latest"]["celsius"], 12.0);
    assert_eq!(view["latest"]["at"], rfc3339(start + 10 * MINUTE));
    assert_eq!(view["last_hour"]["count"], 2);
    assert_eq!(view["last_hour"]["max"], 50.0);
    let since = rfc3339(start);
    let listed = app.get_json(&format!("/telemetry/sensors/cellar/readings?since={since}"));
    let values: Vec<&Value> = listed["readings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["celsius"])
        .collect();
    assert_eq!(values, [&json!(50.0), &json!(12.0)]);

    // In warning, a late normal reading does not resolve.
    let answer = ingest(&app, &reading("cellar", 40.0, start + 11 * MINUTE));
    assert_eq!(alert_states(&answer), ["active"]);
    let answer = ingest(&app, &reading("cellar", 12.0, start + 6 * MINUTE));
    assert_eq!(
        (answer["out_of_order"].clone(), answer["alerts"].clone()),
        (json!(1), json!([]))
    );
    assert_eq!(sensor(&app, "cellar")["state"], "warning");
}

#[test]
fn resent_readings_are_duplicates_and_count_once() {
    let app = TestApp::start_main_app();
    let batch = series("boiler", base(), &[30.0, 40.0, 41.0]);
    let first = ingest(&app, &batch);
    assert_eq!(
        (first["accepted"].clone(), first["duplicates"].clone()),
        (json!(3), json!(0))
    );
    assert_eq!(alert_states(&first), ["active"]);
    let again = ingest(&app, &batch);
    assert_eq!(
        again,
        json!({"accepted": 0, "duplicates": 3, "out_of_order": 0, "alerts": []})
    );
    // The same (sensor, at) twice in one request counts once; the first value is kept.
    let at = base() + 5 * MINUTE;
    let answer = ingest(
        &app,
        &json!([reading("boiler", 42.0, at), reading("boiler", 99.0, at)]),
    );
    assert_eq!(
        (answer["accepted"].clone(), answer["duplicates"].clone()),
        (json!(1), json!(1))
    );
    let view = sensor(&app, "boiler");
    assert_eq!(view["last_hour"]["count"], 4);
    assert_eq!(view["latest"]["celsius"], 42.0);
    assert_eq!(alerts(&app, "").len(), 1);
}

#[test]
fn concurrent_hot_batches_for_one_sensor_raise_one_warning() {
    let app = TestApp::start_main_app();
    let start = base();
    ingest(&app, &reading("press", 20.0, start));
    std::thread::scope(|scope| {
        for t in 0..4_i64 {
            let app = &app;
            scope.spawn(move || {
                for i in 0..5_i64 {
                    let at = start + MINUTE + (t * 5 + i) * 1000;
                    ingest(app, &reading("press", 50.0 + t as f64, at));
                }
            });
        }
    });
    let all = alerts(&app, "?sensor=press");
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["state"], "active");
    assert_eq!(sensor(&app, "press")["last_hour"]["count"], 21);
}

// ---------------------------------------------------------------------------------------------
// Rules

#[test]
fn rules_default_until_set_and_put_keeps_defaults_for_omitted_fields() {
    let app = TestApp::start_main_app();
    let defaults = json!({"sensor_id": "fridge", "min_celsius": -10.0, "max_celsius": 35.0, "max_delta_per_minute": 5.0});
    assert_eq!(app.get_json("/telemetry/sensors/fridge/rules"), defaults);
    let response = put_rules(&app, "fridge", &json!({"min_celsius": 2, "max_celsius": 8}));
    assert_eq!(response.status, 200, "{}", response.text());
    let effective = json!({"sensor_id": "fridge", "min_celsius": 2.0, "max_celsius": 8.0, "max_delta_per_minute": 5.0});
    assert_eq!(response.json(), effective);
    assert_eq!(app.get_json("/telemetry/sensors/fridge/rules"), effective);
    // PUT replaces: what is left out goes back to its default.
    let response = put_rules(&app, "fridge", &json!({"max_delta_per_minute": 0.5}));
    assert_eq!(response.json()["max_celsius"], 35.0);
    assert_eq!(response.json()["max_delta_per_minute"], 0.5);
    // A sensor with rules but no readings is known.
    assert_eq!(sensor(&app, "fridge")["latest"], Value::Null);
}

#[test]
fn invalid_rules_are_refused_and_change_nothing() {
    let app = TestApp::start_main_app();
    let path = "/telemetry/sensors/vat/rules";
    // 422 for two fields against each other (no schema can state it), 400 for the rest.
    let cases = [
        (
            json!({"min_celsius": 30, "max_celsius": 20}),
            "below max_celsius",
            422,
        ),
        (json!({"min_celsius": 35}), "below max_celsius", 422),
        (
            json!({"max_delta_per_minute": 0}),
            "max_delta_per_minute",
            400,
        ),
        (
            json!({"max_delta_per_minute": -2}),
            "max_delta_per_minute",
            400,
        ),
        (json!({"max_celsius": "hot"}), "max_celsius", 400),
        (json!({"max_celsius": 2000}), "max_celsius", 400),
        (json!({"maximum": 3}), "maximum", 400),
        (json!([1, 2]), "object", 400),
    ];
    for (body, word, status) in cases {
        assert_error(&put_rules(&app, "vat", &body), status, &[word]);
    }
    assert_error(&app.put(path, JSON, "{"), 400, &["JSON"]);
    assert_error(&app.put(path, "text/plain", "{}"), 415, &["content-type"]);
    // Just past the bound, closer to it than a sloppy float parse can tell apart.
    let past_bound = r#"{"max_celsius": 1000.0000000000001}"#;
    assert_error(&app.put(path, JSON, past_bound), 400, &["max_celsius"]);
    assert_eq!(app.get_json(path)["max_celsius"], 35.0);
    assert_error(&app.get("/telemetry/sensors/vat"), 404, &["vat"]);
}

#[test]
fn new_rules_judge_the_next_readings() {
    let app = TestApp::start_main_app();
    let start = base();
    // Normal under the defaults; the sensor's hot state is now cached.
    assert_eq!(
        ingest(&app, &reading("greenhouse", 30.0, start))["alerts"],
        json!([])
    );
    assert_eq!(
        put_rules(&app, "greenhouse", &json!({"max_celsius": 25})).status,
        200
    );
    let answer = ingest(&app, &reading("greenhouse", 30.0, start + MINUTE));
    assert_eq!(alert_states(&answer), ["active"]);
    assert_eq!(answer["alerts"][0]["threshold"], 25.0);
    assert_eq!(sensor(&app, "greenhouse")["rules"]["max_celsius"], 25.0);
    // Raising the limit does not close the episode by itself; the next reading within it does.
    assert_eq!(
        put_rules(&app, "greenhouse", &json!({"max_celsius": 40})).status,
        200
    );
    assert_eq!(sensor(&app, "greenhouse")["state"], "warning");
    let answer = ingest(&app, &reading("greenhouse", 30.5, start + 2 * MINUTE));
    assert_eq!(alert_states(&answer), ["resolved"]);
}

// ---------------------------------------------------------------------------------------------
// Views

#[test]
fn the_sensor_view_has_last_hour_stats_and_unknown_sensors_are_404() {
    let app = TestApp::start_main_app();
    let now = now_millis();
    let body = json!([
        reading("hall", 5.0, now - 2 * 60 * MINUTE),
        reading("hall", 10.0, now - 30 * MINUTE),
        reading("hall", 20.0, now - 29 * MINUTE),
        reading("hall", 30.0, now - 28 * MINUTE),
    ]);
    ingest(&app, &body);
    let stats = &sensor(&app, "hall")["last_hour"];
    assert_eq!(stats["count"], 3);
    assert_eq!(stats["min"], 10.0);
    assert_eq!(stats["max"], 30.0);
    assert_eq!(stats["mean"], 20.0);
    assert_error(&app.get("/telemetry/sensors/nobody"), 404, &["nobody"]);
    assert_error(&app.get("/telemetry/sensors/bad%20id"), 404, &["sensor"]);
    assert_error(&app.get("/telemetry/sensors/hall?x=1"), 400, &["x"]);
}

#[test]
fn readings_are_listed_since_a_time_oldest_first_with_a_limit() {
    let app = TestApp::start_main_app();
    let start = base();
    ingest(&app, &series("duct", start, &[1.0, 2.0, 3.0, 4.0, 5.0]));
    let path = |query: &str| format!("/telemetry/sensors/duct/readings{query}");
    let values = |answer: &Value| -> Vec<f64> {
        answer["readings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["celsius"].as_f64().unwrap())
            .collect()
    };
    // Default: the last hour, ascending.
    let answer = app.get_json(&path(""));
    assert_eq!(values(&answer), [1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(answer["readings"][0]["at"], rfc3339(start));
    let since = rfc3339(start + 2 * MINUTE);
    assert_eq!(
        values(&app.get_json(&path(&format!("?since={since}")))),
        [3.0, 4.0, 5.0]
    );
    assert_eq!(
        values(&app.get_json(&path(&format!("?since={since}&limit=2")))),
        [3.0, 4.0]
    );
    // Offsets are accepted (`+` encoded).
    let answer = app.get_json(&path("?since=2000-01-01T01:00:00%2B01:00&limit=1"));
    assert_eq!(values(&answer), [1.0]);
    assert_eq!(answer["since"], "2000-01-01T00:00:00Z");
    assert_eq!(
        app.get_json("/telemetry/sensors/unknown/readings")["readings"],
        json!([])
    );
    assert_error(&app.get(&path("?since=tuesday")), 400, &["since"]);
    assert_error(&app.get(&path("?limit=0")), 400, &["limit"]);
    assert_error(&app.get(&path("?limit=1001")), 400, &["limit"]);
    assert_error(&app.get(&path("?from=1")), 400, &["from"]);
}

#[test]
fn alerts_are_filtered_by_state_and_sensor_newest_first() {
    let app = TestApp::start_main_app();
    let start = base();
    // "a": raised then resolved; "b": raised later, still active.
    ingest(&app, &series("a", start, &[36.0, 34.0]));
    ingest(&app, &series("b", start + 5 * MINUTE, &[-20.0]));
    let ids = |list: Vec<Value>| -> Vec<String> {
        list.iter()
            .map(|a| {
                format!(
                    "{}:{}",
                    a["sensor_id"].as_str().unwrap(),
                    a["state"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(ids(alerts(&app, "")), ["b:active", "a:resolved"]);
    assert_eq!(ids(alerts(&app, "?state=all")), ["b:active", "a:resolved"]);
    assert_eq!(ids(alerts(&app, "?state=active")), ["b:active"]);
    assert_eq!(ids(alerts(&app, "?state=resolved")), ["a:resolved"]);
    assert_eq!(ids(alerts(&app, "?sensor=a")), ["a:resolved"]);
    assert_eq!(ids(alerts(&app, "?limit=1")), ["b:active"]);
    let alert = &alerts(&app, "?sensor=a")[0];
    for field in [
        "id",
        "celsius",
        "threshold",
        "raised_at",
        "resolved_at",
        "last_celsius",
        "peak_celsius",
        "reason",
    ] {
        assert!(alert.get(field).is_some(), "{field} missing in {alert}");
    }
    assert_error(&app.get("/telemetry/alerts?state=open"), 400, &["state"]);
    assert_error(&app.get("/telemetry/alerts?limit=x"), 400, &["limit"]);
    assert_error(&app.get("/telemetry/alerts?sensor=a%20b"), 400, &["sensor"]);
}

// ---------------------------------------------------------------------------------------------
// HTTP errors

#[test]
fn unknown_paths_wrong_methods_and_bad_bodies_are_refused() {
    let app = TestApp::start_main_app();
    for path in [
        "/telemetry",
        "/telemetry/nothing",
        "/telemetry/sensors",
        "/telemetry/sensors/a/b",
    ] {
        assert_error(&app.get(path), 404, &["no such"]);
    }
    assert_methods_not_allowed(
        &app,
        &[
            ("GET", "/telemetry/readings", "POST"),
            ("DELETE", "/telemetry/sensors/a/rules", "GET, PUT"),
            ("POST", "/telemetry/sensors/a", "GET"),
            ("PUT", "/telemetry/alerts", "GET"),
            ("GET", "/telemetry/outbox/flush", "POST"),
            ("POST", "/telemetry/outbox", "GET"),
        ],
    );
    let post = |content_type: &str, body: &str| {
        app.post("/telemetry/readings", content_type, body.to_owned())
    };
    assert_error(
        &post("text/plain", r#"{"sensor_id":"a","celsius":1}"#),
        415,
        &["content-type"],
    );
    assert_error(&post(JSON, "{\"sensor_id\": "), 400, &["JSON"]);
    assert_error(&post(JSON, ""), 400, &["empty"]);
    let huge = format!(
        "[{}]",
        vec![r#"{"sensor_id":"a","celsius":1}"#; 40_000].join(",")
    );
    assert!(huge.len() > 1024 * 1024);
    assert_error(&post(JSON, &huge), 413, &["too large"]);
}

// ---------------------------------------------------------------------------------------------
// Hot state, outbox and events

#[test]
fn hot_state_survives_a_restart() {
    let mut app = TestApp::start_main_app();
    let start = base();
    let answer = ingest(&app, &series("kiln", start, &[30.0, 36.0]));
    let id = answer["alerts"][0]["id"].clone();
    app.restart();
    let view = sensor(&app, "kiln");
    assert_eq!(view["state"], "warning");
    assert_eq!(view["active_alert"]["id"], id);
    assert_eq!(view["latest"]["celsius"], 36.0);
    // Still the same episode: no second warning, and recovery resolves the same alert.
    assert_eq!(
        ingest(&app, &reading("kiln", 37.0, start + 2 * MINUTE))["alerts"],
        json!([])
    );
    let answer = ingest(&app, &reading("kiln", 34.0, start + 3 * MINUTE));
    assert_eq!(alert_states(&answer), ["resolved"]);
    assert_eq!(answer["alerts"][0]["id"], id);
}

#[test]
fn hot_state_is_rebuilt_from_sqlite_when_the_cache_is_lost() {
    let mut app = TestApp::start_main_app();
    let start = base();
    let answer = ingest(&app, &series("still", start, &[20.0, -15.0]));
    let id = answer["alerts"][0]["id"].clone();
    assert_eq!(
        put_rules(&app, "still", &json!({"min_celsius": -20})).status,
        200
    );
    // Lose the whole key-value store.
    app.kill_hard();
    let kv = app.temp_dir().join("telemetry_kv.db");
    std::fs::remove_file(&kv).expect("the key-value file exists");
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(kv.with_extension(format!("db{suffix}")));
    }
    app.restart();
    let view = sensor(&app, "still");
    assert_eq!(view["state"], "warning");
    assert_eq!(view["active_alert"]["id"], id);
    assert_eq!(view["rules"]["min_celsius"], -20.0);
    // Judged by the rebuilt state: -16 is within the new rules and steady, so it recovers.
    let answer = ingest(&app, &reading("still", -16.0, start + 2 * MINUTE));
    assert_eq!(alert_states(&answer), ["resolved"]);
    assert_eq!(answer["alerts"][0]["id"], id);
}

#[test]
fn warning_and_recovered_events_reach_the_event_log() {
    let app = TestApp::start_main_app();
    let start = base();
    ingest(&app, &series("tank", start, &[30.0, 36.0, 38.0, 37.0]));
    ingest(&app, &series("tank", start + 4 * MINUTE, &[34.0, 33.0]));
    let events = wait_for_events(&app, "tank", 2);
    assert_eq!(events.len(), 2, "one warning, one recovery: {events:?}");
    let (warning, recovered) = (&events[0], &events[1]);
    assert_eq!(warning["type"], "telemetry.temperature.warning");
    assert_eq!(recovered["type"], "telemetry.temperature.recovered");
    for event in [warning, recovered] {
        assert_eq!(event["specversion"], "1.0");
        assert_eq!(event["source"], "/telemetry");
        assert_eq!(event["subject"], "sensors/tank");
        assert_eq!(event["datacontenttype"], JSON);
    }
    let id = warning["data"]["alert"]["id"].clone();
    assert_eq!(
        warning["data"],
        json!({"alert": {
            "id": id, "sensor_id": "tank", "state": "active", "reason": "above_max",
            "celsius": 36.0, "threshold": 35.0, "raised_at": rfc3339(start + MINUTE),
            "resolved_at": null, "last_celsius": 36.0
        }})
    );
    assert_eq!(
        recovered["data"],
        json!({"alert": {
            "id": id, "sensor_id": "tank", "state": "resolved", "reason": "above_max",
            "celsius": 36.0, "threshold": 35.0, "raised_at": rfc3339(start + MINUTE),
            "resolved_at": rfc3339(start + 4 * MINUTE), "last_celsius": 34.0
        }})
    );
    app.wait_for_empty_outbox("telemetry");
}

#[test]
fn events_survive_an_unreachable_event_log_and_go_out_on_flush() {
    // An events_url the component may not call: every forward fails after the commit.
    let mut app = TestApp::start_main_app_with(&["--variable", "events_url=http://127.0.0.1:9"]);
    let start = base();
    let answer = ingest(&app, &series("pump", start, &[20.0, 50.0]));
    assert_eq!(
        alert_states(&answer),
        ["active"],
        "the ingest itself succeeds"
    );
    assert_eq!(app.get_json("/telemetry/outbox"), json!({"pending": 1}));
    let flushed = app.post("/telemetry/outbox/flush", JSON, "");
    assert_eq!(flushed.status, 200, "{}", flushed.text());
    let report = flushed.json();
    assert_eq!(
        (report["forwarded"].clone(), report["pending"].clone()),
        (json!(0), json!(1))
    );
    assert!(report["error"].is_string(), "{report}");

    // The event log reachable again: a flush sends what was left, exactly once.
    app.restart_with(&[]);
    let flushed = app.post("/telemetry/outbox/flush", JSON, "");
    assert_eq!(flushed.status, 200, "{}", flushed.text());
    assert_eq!(
        flushed.json(),
        json!({"forwarded": 1, "pending": 0}),
        "{}",
        flushed.text()
    );
    let events = wait_for_events(&app, "pump", 1);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "telemetry.temperature.warning");
    assert_eq!(app.get_json("/telemetry/outbox"), json!({"pending": 0}));
}
