//! Host conformance: SQLite writers queue for the database (see the host's
//! `capabilities/sqlite/write_queue.rs`). While one guest holds the write lock
//! in a transaction, other guests' writers wait in arrival order, at most the
//! busy timeout (then `io` "database is locked", as in Spin), and readers are
//! not held up at all (WAL).
//!
//! A guest holds the lock with the probe's batch: `BEGIN IMMEDIATE`, an insert,
//! then slow statements (recursive counts sized to the machine's speed), then
//! `COMMIT`. Needs the probe built:
//! `cargo build --target wasm32-wasip2 --release -p probe`.

use integration_tests::{is_real_spin, probe_json, sql, sql_ok, start_conformance_app, TestApp};
use serde_json::{json, Value};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The tests here time one request against another, so they take turns: a neighbour's load
/// would skew the calibration below and the waits the tests measure.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn take_turn() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// SQLite's (and so Spin's) busy timeout.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Counts to `?` one row at a time: a statement whose duration scales with its parameter.
const SLOW_COUNT: &str =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)
     SELECT count(*) FROM c";

/// A slow stretch of work for the lock holder: `chunks` statements of `rows` rows each.
/// Chunks of about 15 ms let the host's worker threads run others between them (a guest
/// holding the write turn still yields every few epoch ticks), as any real transaction would.
struct SlowWork {
    rows: u64,
    chunks: usize,
}

/// The work that keeps this machine busy for at least about `hold`. The fastest of a few
/// probes sets the pace: a probe slowed by other load on the machine would make the work
/// too short once that load is gone, and the lock would be released early.
fn slow_work(app: &TestApp, hold: Duration) -> SlowWork {
    const PROBE_ROWS: u64 = 1_000_000;
    const PROBES: usize = 3;
    const CHUNK: Duration = Duration::from_millis(15);
    let fastest = (0..PROBES)
        .map(|_| {
            let started = Instant::now();
            sql_ok(app, "default", SLOW_COUNT, json!([PROBE_ROWS]));
            started.elapsed()
        })
        .min()
        .expect("at least one probe");
    let per_row = fastest.as_secs_f64() / PROBE_ROWS as f64;
    SlowWork {
        rows: (CHUNK.as_secs_f64() / per_row) as u64,
        chunks: (hold.as_secs_f64() / CHUNK.as_secs_f64()) as usize,
    }
}

fn create_table(app: &TestApp) {
    sql_ok(app, "default", "CREATE TABLE t (who TEXT)", json!([]));
}

/// One request holding the write lock for as long as `work` takes.
fn hold_write_lock(app: &TestApp, work: &SlowWork) -> Value {
    let mut batch = vec![
        json!({ "sql": "BEGIN IMMEDIATE" }),
        json!({ "sql": "INSERT INTO t VALUES ('holder')" }),
    ];
    batch.extend((0..work.chunks).map(|_| json!({ "sql": SLOW_COUNT, "params": [work.rows] })));
    batch.push(json!({ "sql": "COMMIT" }));
    probe_json(app.post(
        "/probe/sqlite/default",
        "application/json",
        json!({ "batch": batch }).to_string(),
    ))
}

fn assert_all_succeeded(batch: &Value) {
    let results = batch["results"].as_array().expect("batch results");
    assert!(
        results.iter().all(|r| r.get("error").is_none()),
        "the lock holder's batch failed: {batch}"
    );
}

#[test]
fn a_writer_gives_up_after_the_busy_timeout_while_readers_go_on() {
    let _turn = take_turn();
    let app = start_conformance_app();
    create_table(&app);
    // Well past the busy timeout, so the waiting writer gives up first.
    let work = slow_work(&app, BUSY_TIMEOUT + Duration::from_secs(4));
    std::thread::scope(|scope| {
        let holder = scope.spawn(|| hold_write_lock(&app, &work));
        std::thread::sleep(Duration::from_millis(500));

        let started = Instant::now();
        let read = sql(&app, "default", "SELECT count(*) FROM t", json!([]));
        assert!(read.get("error").is_none(), "read failed: {read}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "a read waited {:?} for the writer",
            started.elapsed()
        );

        let started = Instant::now();
        let write = sql(&app, "default", "INSERT INTO t VALUES ('late')", json!([]));
        let waited = started.elapsed();
        assert_eq!(write["error"], "io", "the late writer got: {write}");
        assert!(
            write["message"]
                .as_str()
                .is_some_and(|m| m.contains("database is locked")),
            "{write}"
        );
        assert!(
            waited >= BUSY_TIMEOUT - Duration::from_millis(500)
                && waited < BUSY_TIMEOUT + Duration::from_secs(3),
            "the late writer gave up after {waited:?}"
        );
        assert_all_succeeded(&holder.join().unwrap());
    });
    assert_eq!(
        sql_ok(&app, "default", "SELECT who FROM t", json!([])),
        json!([["holder"]])
    );
}

#[test]
fn waiting_writers_write_in_the_order_they_arrived() {
    if is_real_spin() {
        eprintln!("skipped: first come, first served is our host's write queue; Spin's busy handler promises no order");
        return;
    }
    const WRITERS: usize = 6;
    let _turn = take_turn();
    let app = start_conformance_app();
    create_table(&app);
    // Long enough for every writer to arrive while the lock is held, short of the busy timeout.
    let work = slow_work(&app, Duration::from_millis(2500));
    std::thread::scope(|scope| {
        let holder = scope.spawn(|| hold_write_lock(&app, &work));
        std::thread::sleep(Duration::from_millis(300));
        let mut writers = Vec::new();
        for i in 0..WRITERS {
            let app = &app;
            writers.push(scope.spawn(move || {
                sql(
                    app,
                    "default",
                    "INSERT INTO t VALUES (?)",
                    json!([format!("w{i}")]),
                )
            }));
            std::thread::sleep(Duration::from_millis(150));
        }
        assert_all_succeeded(&holder.join().unwrap());
        for writer in writers {
            let result = writer.join().unwrap();
            assert!(result.get("error").is_none(), "a writer failed: {result}");
        }
    });
    let expected: Vec<Value> = std::iter::once("holder".to_owned())
        .chain((0..WRITERS).map(|i| format!("w{i}")))
        .map(|who| json!([who]))
        .collect();
    assert_eq!(
        sql_ok(
            &app,
            "default",
            "SELECT who FROM t ORDER BY rowid",
            json!([])
        ),
        Value::Array(expected)
    );
}

#[test]
fn many_concurrent_writers_lose_no_write() {
    const WRITERS: usize = 16;
    const ROUNDS: usize = 8;
    let _turn = take_turn();
    let app = start_conformance_app();
    create_table(&app);
    std::thread::scope(|scope| {
        for w in 0..WRITERS {
            let app = &app;
            scope.spawn(move || {
                for r in 0..ROUNDS {
                    // A transaction of two writes, then a write that is a transaction by itself.
                    let who = format!("w{w}r{r}");
                    let batch = json!({ "batch": [
                        { "sql": "BEGIN IMMEDIATE" },
                        { "sql": "INSERT INTO t VALUES (?)", "params": [format!("{who}a")] },
                        { "sql": "INSERT INTO t VALUES (?)", "params": [format!("{who}b")] },
                        { "sql": "COMMIT" },
                    ]});
                    let result = probe_json(app.post(
                        "/probe/sqlite/default",
                        "application/json",
                        batch.to_string(),
                    ));
                    assert_all_succeeded(&result);
                    let single = sql(app, "default", "INSERT INTO t VALUES (?)", json!([who]));
                    assert!(single.get("error").is_none(), "a write failed: {single}");
                }
            });
        }
    });
    assert_eq!(
        sql_ok(
            &app,
            "default",
            "SELECT count(*), count(DISTINCT who) FROM t",
            json!([])
        ),
        json!([[WRITERS * ROUNDS * 3, WRITERS * ROUNDS * 3]])
    );
}
