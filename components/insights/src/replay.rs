//! Reading the event log back from the `events` service, for a rebuild.
//!
//! Pull reads only: `GET /events/topics`, then `GET /events/{topic}?after=N&limit=1000` page by
//! page. What is read is decoded straight away into the (small) changes the views need, and held
//! in memory until it is applied in one transaction; `MAX_REPLAY_EVENTS` bounds that memory.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use spin_sdk::http::{Request, Response};

use crate::event::{cloud_event_from_value, decode, Change, Decoded};

/// Most events one rebuild holds in memory (each pass: the full read, and the catch-up).
/// Beyond it the rebuild is refused (507) rather than risk running out of instance memory.
pub const MAX_REPLAY_EVENTS: usize = 200_000;

/// Events asked for per page (the most `events` serves).
pub const PAGE_SIZE: usize = 1000;

/// The topics the views are built from (the same patterns the `insights` subscription uses).
pub fn is_replayed_topic(name: &str) -> bool {
    name.starts_with("support.") || name.starts_with("telemetry.")
}

/// Why reading the log failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayError {
    /// `events` was unreachable or answered something other than what its API promises.
    Upstream(String),
    /// More than `MAX_REPLAY_EVENTS` events.
    TooMany,
}

/// What has been read so far: the changes to apply in order, counts, and each topic's last offset.
#[derive(Debug, Default)]
pub struct Replay {
    pub changes: Vec<(String, Change)>,
    /// Events read (applied or not).
    pub read: usize,
    /// Events of a known type whose data the views cannot use (poison: skipped, as a live
    /// delivery of them would have been dead-lettered).
    pub skipped: usize,
    /// The last offset read per topic.
    pub cursors: BTreeMap<String, i64>,
}

#[derive(Debug, Deserialize)]
pub struct TopicList {
    pub topics: Vec<TopicInfo>,
}

#[derive(Debug, Deserialize)]
pub struct TopicInfo {
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct Page {
    #[serde(default)]
    pub head: i64,
    pub events: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
pub struct Entry {
    pub offset: i64,
    pub event: Value,
}

impl Replay {
    /// Takes in one page of `topic` read after offset `after`; `Ok(true)` when the topic has more.
    pub fn absorb(&mut self, topic: &str, after: i64, page: Page) -> Result<bool, ReplayError> {
        let Some(last) = page.events.last().map(|entry| entry.offset) else {
            return Ok(false);
        };
        if last <= after {
            // A log that does not move forward would make us loop forever.
            return Err(ReplayError::Upstream(format!(
                "{topic}: page after offset {after} ended at offset {last}"
            )));
        }
        if self.read + page.events.len() > MAX_REPLAY_EVENTS {
            return Err(ReplayError::TooMany);
        }
        for entry in page.events {
            self.read += 1;
            match cloud_event_from_value(entry.event).and_then(|event| {
                let decoded = decode(&event)?;
                Ok((event.id, decoded))
            }) {
                Ok((id, Decoded::Apply(change))) => self.changes.push((id, change)),
                Ok((_, Decoded::Ignored)) => {}
                Err(err) => {
                    eprintln!(
                        "insights: rebuild: {topic} offset {}: skipped: {err}",
                        entry.offset
                    );
                    self.skipped += 1;
                }
            }
        }
        self.cursors.insert(topic.to_owned(), last);
        Ok(page.head == 0 || last < page.head)
    }
}

/// The `events` service's read API.
pub struct EventsClient {
    base: String,
}

impl EventsClient {
    pub fn new(base: &str) -> EventsClient {
        EventsClient {
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// The names of the topics the views are built from, sorted.
    pub async fn replayed_topics(&self) -> Result<Vec<String>, ReplayError> {
        let list: TopicList = self.get_json("/events/topics").await?;
        let mut names: Vec<String> = list
            .topics
            .into_iter()
            .map(|topic| topic.name)
            .filter(|name| is_replayed_topic(name))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Reads `topic` from after offset `after` to its end into `replay`.
    pub async fn read_topic(
        &self,
        topic: &str,
        after: i64,
        replay: &mut Replay,
    ) -> Result<(), ReplayError> {
        let mut after = after;
        loop {
            let page: Page = self
                .get_json(&format!("/events/{topic}?after={after}&limit={PAGE_SIZE}"))
                .await?;
            if !replay.absorb(topic, after, page)? {
                return Ok(());
            }
            after = replay.cursors[topic];
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, ReplayError> {
        let mut request = Request::get(format!("{}{path}", self.base))
            .header("accept", "application/json")
            .build();
        // So the log's reads show up under the rebuild that caused them.
        service_kit::trace::propagate(&mut request);
        let response: Response = spin_sdk::http::send(request)
            .await
            .map_err(|err| ReplayError::Upstream(format!("GET {path}: {err}")))?;
        let status = *response.status();
        if status != 200 {
            let body = String::from_utf8_lossy(response.body());
            let body: String = body.chars().take(200).collect();
            return Err(ReplayError::Upstream(format!(
                "GET {path}: events answered {status}: {body}"
            )));
        }
        serde_json::from_slice(response.body())
            .map_err(|err| ReplayError::Upstream(format!("GET {path}: unexpected answer: {err}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn customer_event(id: &str, version: i64) -> Value {
        json!({"specversion": "1.0", "id": id, "source": "/support", "type": "support.customer.upserted",
            "data": {"customer": {"id": "c-1", "name": "Ada", "tier": "pro", "version": version}}})
    }

    fn page(head: i64, events: Vec<(i64, Value)>) -> Page {
        Page {
            head,
            events: events
                .into_iter()
                .map(|(offset, event)| Entry { offset, event })
                .collect(),
        }
    }

    #[test]
    fn only_support_and_telemetry_topics_are_replayed() {
        assert!(is_replayed_topic("support.tickets"));
        assert!(is_replayed_topic("telemetry.alerts"));
        assert!(!is_replayed_topic("support"));
        assert!(!is_replayed_topic("billing.invoices"));
        assert!(!is_replayed_topic("supportx.tickets"));
    }

    #[test]
    fn pages_are_decoded_counted_and_tracked() {
        let mut replay = Replay::default();
        let unknown = json!({"specversion": "1.0", "id": "u", "source": "/x", "type": "x.y"});
        let poison = json!({"specversion": "1.0", "id": "p", "source": "/x", "type": "support.ticket.opened",
            "data": {"ticket": "nope"}});
        let more = replay
            .absorb(
                "support.customers",
                0,
                page(
                    5,
                    vec![(1, customer_event("a", 1)), (2, unknown), (3, poison)],
                ),
            )
            .unwrap();
        assert!(more, "head 5 is past offset 3");
        assert_eq!(
            (replay.read, replay.skipped, replay.changes.len()),
            (3, 1, 1)
        );
        assert_eq!(replay.cursors["support.customers"], 3);
        let more = replay
            .absorb(
                "support.customers",
                3,
                page(5, vec![(5, customer_event("b", 2))]),
            )
            .unwrap();
        assert!(!more, "the head is reached");
        assert!(!replay
            .absorb("support.customers", 5, page(5, vec![]))
            .unwrap());
        assert_eq!(replay.changes.len(), 2);
    }

    #[test]
    fn a_log_that_does_not_advance_is_an_upstream_error() {
        let mut replay = Replay::default();
        let err = replay
            .absorb(
                "support.customers",
                4,
                page(9, vec![(4, customer_event("a", 1))]),
            )
            .unwrap_err();
        assert!(matches!(err, ReplayError::Upstream(_)));
    }

    #[test]
    fn replays_beyond_the_cap_are_refused() {
        let mut replay = Replay {
            read: MAX_REPLAY_EVENTS,
            ..Replay::default()
        };
        let err = replay
            .absorb(
                "support.customers",
                0,
                page(1, vec![(1, customer_event("a", 1))]),
            )
            .unwrap_err();
        assert_eq!(err, ReplayError::TooMany);
    }

    #[test]
    fn event_log_answers_parse() {
        let topics: TopicList =
            serde_json::from_value(json!({"topics": [{"name": "support.tickets", "head": 3}]}))
                .unwrap();
        assert_eq!(topics.topics[0].name, "support.tickets");
        let page: Page = serde_json::from_value(json!({"topic": "t", "head": 1,
            "events": [{"offset": 1, "event": customer_event("a", 1)}]}))
        .unwrap();
        assert_eq!(page.events[0].offset, 1);
    }
}
