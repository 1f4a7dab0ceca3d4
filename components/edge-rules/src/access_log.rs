//! One JSON line per request on stdout (Spin keeps component output in its logs): enough to
//! follow a request (its id), attribute it (the key), and see where its time went (the
//! upstream's share of the total).

use std::time::Instant;

use serde::Serialize;

use crate::guard::{RequestHead, Trace};

#[derive(Debug, Default, Serialize)]
pub struct AccessLog {
    pub time: String,
    pub request_id: String,
    pub key_id: Option<String>,
    pub method: String,
    pub path: String,
    /// The answer's status; `null` when the edge middleware handed the request to its service,
    /// which then answered the client itself (`wasi:http` 0.2 gives a middleware no view of it).
    pub status: Option<u16>,
    pub duration_ms: f64,
    /// The service the request was passed to, if any.
    pub upstream: Option<String>,
    pub upstream_ms: Option<f64>,
    /// `hit` or `miss` for a cacheable read; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<&'static str>,
}

impl AccessLog {
    /// The line for a request that started at `started` and was answered with `status`.
    pub fn of(
        head: &RequestHead,
        trace: Trace,
        status: Option<u16>,
        started: Instant,
    ) -> AccessLog {
        AccessLog {
            time: service_kit::clock::now_rfc3339(),
            request_id: head.request_id.clone(),
            key_id: trace.key_id,
            method: head.method.clone(),
            path: head.path.clone(),
            status,
            duration_ms: millis(started.elapsed()),
            upstream: trace.upstream,
            upstream_ms: trace.upstream_time.map(millis),
            cache: trace.cache,
        }
    }

    pub fn write(&self) {
        let Ok(mut line) = serde_json::to_vec(self) else {
            return;
        };
        line.push(b'\n');
        write_stdout(&line);
    }
}

/// One `blocking-write-and-flush` of the whole line: a single host call, where `println!` goes
/// through the standard library's line buffering and several stream calls.
#[cfg(target_arch = "wasm32")]
fn write_stdout(bytes: &[u8]) {
    let _ = wasi::cli::stdout::get_stdout().blocking_write_and_flush(bytes);
}

#[cfg(not(target_arch = "wasm32"))]
fn write_stdout(bytes: &[u8]) {
    use std::io::Write;
    let _ = std::io::stdout().write_all(bytes);
}

/// Milliseconds, to the microsecond.
pub fn millis(duration: std::time::Duration) -> f64 {
    (duration.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_with_every_field() {
        let log = AccessLog {
            request_id: "r1".into(),
            method: "GET".into(),
            path: "/visits/1".into(),
            status: Some(200),
            duration_ms: millis(std::time::Duration::from_micros(1234)),
            upstream: Some("visits".into()),
            ..AccessLog::default()
        };
        let line = serde_json::to_string(&log).unwrap();
        assert!(!line.contains('\n'));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["duration_ms"], 1.234);
        assert_eq!(value["key_id"], serde_json::Value::Null);
        for field in ["time", "upstream_ms", "status", "path"] {
            assert!(value.get(field).is_some(), "{field}");
        }
    }
}
