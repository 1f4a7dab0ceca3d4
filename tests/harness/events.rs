//! The events service's log, as the service tests use it: publish a batch, read a topic, wait
//! for events to arrive.

use std::time::Duration;

use serde_json::Value;

use crate::app::TestApp;
use crate::wait::eventually;

/// A structured-mode CloudEvent.
pub const CE_JSON: &str = "application/cloudevents+json";
/// A batch of CloudEvents.
pub const CE_BATCH: &str = "application/cloudevents-batch+json";

/// How long [`TestApp::wait_for_events`] waits for events to reach a log.
const EVENT_LOG_TIMEOUT: Duration = Duration::from_secs(10);

impl TestApp {
    /// Appends `events` to `topic` of the events service's log as one batch,
    /// asserting `201`; returns their offsets.
    pub fn publish_events(&self, topic: &str, events: &[Value]) -> Vec<u64> {
        let body = Value::from(events.to_vec()).to_string();
        let response = self.post(&format!("/events/{topic}"), CE_BATCH, body);
        assert_eq!(
            response.status,
            201,
            "POST /events/{topic}: {}",
            response.text()
        );
        let answer = response.json();
        assert_eq!(answer["topic"], topic, "{answer}");
        answer["offsets"]
            .as_array()
            .unwrap_or_else(|| panic!("no offsets in {answer}"))
            .iter()
            .map(|offset| offset.as_u64().expect("offset"))
            .collect()
    }

    /// The CloudEvents in the events service's log of `topic`
    /// (`GET /events/{topic}?after=0`), in offset order; `Err` with the answer
    /// if the service does not answer `200`.
    pub fn try_event_log(&self, topic: &str) -> Result<Vec<Value>, String> {
        let response = self.get(&format!("/events/{topic}?after=0&limit=1000"));
        if response.status != 200 {
            return Err(format!(
                "GET /events/{topic}: {} {}",
                response.status,
                response.text()
            ));
        }
        let log = response.json();
        log["events"]
            .as_array()
            .map(|entries| entries.iter().map(|entry| entry["event"].clone()).collect())
            .ok_or_else(|| format!("no events array in {log}"))
    }

    /// Like [`TestApp::try_event_log`], panicking if the log cannot be read.
    pub fn event_log(&self, topic: &str) -> Vec<Value> {
        self.try_event_log(topic).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Polls the log of `topic` until it holds at least `count` events that
    /// `keep` selects; returns those.
    pub fn wait_for_events(
        &self,
        topic: &str,
        count: usize,
        keep: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        eventually(
            EVENT_LOG_TIMEOUT,
            &format!("{count} events on {topic}"),
            || {
                let found: Vec<Value> = self
                    .try_event_log(topic)?
                    .into_iter()
                    .filter(&keep)
                    .collect();
                if found.len() >= count {
                    Ok(found)
                } else {
                    Err(format!("{} of them: {}", found.len(), Value::from(found)))
                }
            },
        )
    }
    /// Polls `GET /<service>/outbox` until nothing is pending: a write's events are forwarded
    /// after its response, so they leave the outbox a moment after the client has its answer.
    pub fn wait_for_empty_outbox(&self, service: &str) {
        eventually(
            EVENT_LOG_TIMEOUT,
            &format!("an empty {service} outbox"),
            || {
                let outbox = self.get_json(&format!("/{service}/outbox"));
                if outbox["pending"] == 0 {
                    Ok(())
                } else {
                    Err(outbox.to_string())
                }
            },
        )
    }
}
