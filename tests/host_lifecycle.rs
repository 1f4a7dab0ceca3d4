//! Host conformance: The life of an instance and of the server: traps, hangs cut off at the request timeout,
//! the memory limit, and a clean stop on SIGTERM.
//!
//! Part of the host conformance suite, split by capability like the host: the behaviours of Spin
//! that our components rely on (see /work/shared/spin-compat.md), checked against a running
//! server with the probe component (tests/components/probe; helpers in the harness's `probe` and
//! `probe_app`). Runs unchanged against the real Spin (`SPIN_BIN=...`) or our host (default);
//! tests of host-only behaviour skip themselves on the real Spin, saying why.
//!
//! Needs the probe built: `cargo build --target wasm32-wasip2 --release -p probe`.

use std::time::{Duration, Instant};

use integration_tests::{
    echo, eventually, eventually_contains, is_real_spin, probe_json, start_conformance_app,
    start_conformance_app_with,
};

// ---------------------------------------------------------------------------
// Instance lifecycle: traps, hangs, memory

#[test]
fn trap_gives_500_with_empty_body_and_next_request_is_served() {
    let app = start_conformance_app();
    let response = app.get("/probe/trap");
    assert_eq!(response.status, 500);
    assert!(response.body.is_empty(), "body: {:?}", response.text());
    assert_eq!(echo(&app, "/probe/after-trap").component(), "probe");
}

#[test]
fn hang_is_cut_off_at_request_timeout_while_host_keeps_serving() {
    if is_real_spin() {
        eprintln!("skipped: --request-timeout is a flag of our host only");
        return;
    }
    let app = start_conformance_app_with(|spec| {
        spec.extra_args
            .extend(["--request-timeout".into(), "2".into()])
    });
    std::thread::scope(|scope| {
        let started = Instant::now();
        let hanging = scope.spawn(|| app.try_request("GET", "/probe/hang", &[], ""));
        let log = eventually_contains(|| app.stderr(), "probe: hang started");
        assert!(
            log.contains("probe: hang started"),
            "the guest never started hanging: {log}"
        );
        assert_eq!(
            echo(&app, "/probe/during-hang").component(),
            "probe",
            "host must serve while a request hangs"
        );
        let response = hanging.join().expect("hang thread");
        let elapsed = started.elapsed();
        let response = response
            .unwrap_or_else(|e| panic!("hung request got no response after {elapsed:?}: {e}"));
        assert!(
            response.status >= 500,
            "hung request: status {}",
            response.status
        );
        assert!(
            elapsed < Duration::from_secs(15),
            "hung request took {elapsed:?}"
        );
    });
    assert_eq!(echo(&app, "/probe/after-hang").component(), "probe");
}

#[test]
fn memory_beyond_instance_limit_gives_500_and_host_survives() {
    let limit = 64 * 1024 * 1024;
    let app = start_conformance_app_with(|spec| {
        spec.extra_args
            .extend(["--max-instance-memory".into(), limit.to_string()])
    });
    let response = app.get("/probe/memory?mb=128");
    assert_eq!(
        response.status,
        500,
        "allocating 128 MiB under a 64 MiB cap: {}",
        response.text()
    );
    let small = probe_json(app.get("/probe/memory?mb=8"));
    assert_eq!(small["ok"], 8);
}

// ---------------------------------------------------------------------------
// Stopping (host-only: Spin gives no drain guarantee)

#[test]
fn sigterm_lets_an_in_flight_request_finish_then_exits_cleanly() {
    if is_real_spin() {
        eprintln!(
            "skipped: the drain on SIGTERM (in-flight requests finish, exit 0) is our host's \
             own promise; spin-compat records no such behaviour of Spin's"
        );
        return;
    }
    use std::io::{Read, Write};
    use std::sync::mpsc;

    // An upstream that answers only when released, so the test knows the
    // request is inside the host when the signal arrives.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind upstream");
    let port = listener.local_addr().expect("upstream addr").port();
    let (arrived_tx, arrived_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let upstream = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("upstream accept");
        let mut head = [0u8; 8192];
        let _ = stream.read(&mut head);
        arrived_tx.send(()).expect("test is waiting");
        release_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("released");
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-length: 8\r\nconnection: close\r\n\r\nfinished",
        );
    });

    let mut app = start_conformance_app();
    let url = app.url(&format!("/probe/fetch?url=http://127.0.0.1:{port}/slow"));
    let client = std::thread::spawn(move || {
        let mut response = ureq::get(&url)
            .call()
            .expect("in-flight request is answered");
        response.body_mut().read_to_string().expect("body")
    });
    arrived_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("request reached the upstream");
    app.terminate();
    // Release the upstream only once the host has stopped accepting, so the
    // request is still in flight while the host is shutting down.
    let addr = app.base_url.trim_start_matches("http://").to_string();
    eventually(
        Duration::from_secs(20),
        "the host stops accepting after SIGTERM",
        || match std::net::TcpStream::connect(&addr) {
            Ok(_) => Err("still accepting".to_owned()),
            Err(_) => Ok(()),
        },
    );
    release_tx.send(()).expect("upstream is waiting");

    let body = client.join().expect("client thread");
    assert!(body.contains("finished"), "in-flight response: {body}");
    let status = app
        .wait_exit(Duration::from_secs(20))
        .expect("host exits after SIGTERM");
    assert!(status.success(), "exit status {status}");
    assert!(app.stderr().contains("Shutting down"), "{}", app.stderr());
    upstream.join().expect("upstream thread");
}
