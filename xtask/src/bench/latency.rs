//! End-to-end event latency: from the moment a publisher sends `POST /events/{topic}` to the
//! moment a push subscriber receives the event (it acknowledges at once).
//!
//! The subscriber is a loopback HTTP server of our own that records when each event id
//! arrives; the server under test must be allowed to call it (`subscriber_hosts`). Publishes go
//! through the gateway, with an API key.

use std::{
    collections::HashMap,
    io::{BufReader, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

use crate::http;

const TOPIC: &str = "bench.latency";
/// Pause between publishes: the figure is latency at a steady trickle, not under overload.
const PACING: Duration = Duration::from_millis(5);
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Latency percentiles over every published event.
pub struct Latency {
    pub events: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Subscribes a recording endpoint to `TOPIC`, publishes `count` events one at a time and
/// waits until every one has arrived.
pub fn measure(server: SocketAddr, key: &str, count: usize) -> Result<Latency> {
    let arrivals: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let subscriber = start_subscriber(Arc::clone(&arrivals))?;
    let subscription = format!(
        r#"{{"topics": ["{TOPIC}"], "endpoint": "http://{subscriber}/ack", "from": "latest", "max_attempts": 3}}"#
    );
    http::request_ok_as(
        server,
        Some(key),
        "PUT",
        "/events/subscriptions/bench-latency",
        Some(subscription.as_bytes()),
    )?;

    let run = std::process::id();
    let mut sent = Vec::with_capacity(count);
    for i in 0..count {
        let id = format!("latency-{run}-{i}");
        let event = format!(
            r#"{{"specversion":"1.0","id":"{id}","source":"/xtask/bench","type":"bench.latency.probe","data":{{"i":{i}}}}}"#
        );
        let started = Instant::now();
        let path = format!("/events/{TOPIC}");
        http::request_ok_as(server, Some(key), "POST", &path, Some(event.as_bytes()))?;
        sent.push((id, started));
        thread::sleep(PACING);
    }

    let deadline = Instant::now() + DRAIN_TIMEOUT;
    loop {
        let arrived = {
            let arrivals = arrivals.lock().expect("arrivals lock");
            sent.iter()
                .filter(|(id, _)| arrivals.contains_key(id))
                .count()
        };
        if arrived == count {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "only {arrived} of {count} events reached the subscriber within {DRAIN_TIMEOUT:?}"
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
    let arrivals = arrivals.lock().expect("arrivals lock");
    let mut latencies: Vec<f64> = sent
        .iter()
        .map(|(id, started)| {
            arrivals[id]
                .saturating_duration_since(*started)
                .as_secs_f64()
                * 1000.0
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    Ok(Latency {
        events: latencies.len(),
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        max_ms: latencies.last().copied().unwrap_or_default(),
    })
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (fraction * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Starts the recording subscriber on a free loopback port; it runs until the process exits.
fn start_subscriber(arrivals: Arc<Mutex<HashMap<String, Instant>>>) -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("could not bind the subscriber")?;
    let addr = listener.local_addr()?;
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let arrivals = Arc::clone(&arrivals);
            thread::spawn(move || serve(stream, &arrivals));
        }
    });
    Ok(addr)
}

/// Answers `200` to every request on the connection, recording the first arrival of each
/// event id (read from the CloudEvent body).
fn serve(stream: TcpStream, arrivals: &Mutex<HashMap<String, Instant>>) {
    let Ok(reader) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(reader);
    let mut writer = stream;
    while let Ok(Some(request)) = http::read_message(&mut reader, false) {
        let arrived = Instant::now();
        if let Some(id) = serde_json::from_slice::<serde_json::Value>(&request.body)
            .ok()
            .and_then(|event| event["id"].as_str().map(str::to_owned))
        {
            arrivals
                .lock()
                .expect("arrivals lock")
                .entry(id)
                .or_insert(arrived);
        }
        if writer
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.50), 50.0);
        assert_eq!(percentile(&values, 0.99), 99.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
