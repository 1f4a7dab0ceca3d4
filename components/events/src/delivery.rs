//! Push delivery: at-least-once and in order per (subscription, topic).
//!
//! A deliverer first takes the cursor's lease (a conditional UPDATE: exactly one wins; it
//! expires after [`LEASE_MS`], or `delivery_lease_ms`, so a crashed instance blocks nobody for long), then posts the
//! events after the cursor one by one; acknowledgements advance the cursor and extend the lease
//! (recorded at least every [`ACK_INTERVAL_MS`] and at the end of each batch). A failure records
//! the attempt and a backoff and gives the lease back; the attempt that reaches `max_attempts`
//! moves the event to the dead letters and goes on with the next.
//! After releasing, the deliverer looks at the cursor again: a publisher that found the lease
//! taken relies on this re-check, so its events never wait for the next dispatch.

use futures::StreamExt;
use service_kit::clock::now_millis;
use service_kit::ApiError;
use spin_sdk::sqlite::Connection;

use crate::domain::{backoff_ms, parse_retry_base};
use crate::outbound::push;
use crate::store::{self, Claim, Due, Target};

/// How long a lease is good for without an acknowledgement, unless the `delivery_lease_ms`
/// variable says otherwise: the longest a replica that died mid-delivery holds up its cursor.
pub const LEASE_MS: i64 = 30_000;
const LEASE_VARIABLE: &str = "delivery_lease_ms";
/// Events read per claim.
const BATCH: i64 = 64;
/// Longest time a delivered event may go unrecorded on its cursor during a batch.
const ACK_INTERVAL_MS: i64 = 250;
/// Cursors delivered at once (different subscribers, so one slow endpoint delays no other).
const CONCURRENT_CURSORS: usize = 16;

/// What a delivery run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Events acknowledged by their subscriber.
    pub delivered: i64,
    /// Failed attempts that will be retried after their backoff.
    pub retrying: i64,
    /// Events moved to dead letters.
    pub dead_lettered: i64,
}

impl Report {
    fn add(&mut self, other: Report) {
        self.delivered += other.delivered;
        self.retrying += other.retrying;
        self.dead_lettered += other.dead_lettered;
    }
}

/// Delivers every cursor `which` selects that is due now, until `deadline` (Unix millis).
pub async fn deliver_due(
    conn: &Connection,
    which: Due<'_>,
    deadline: i64,
) -> Result<Report, ApiError> {
    let targets = store::due(conn, which, now_millis())?;
    let mut runs = futures::stream::iter(targets)
        .map(|target| deliver_cursor(conn, target, deadline))
        .buffer_unordered(CONCURRENT_CURSORS);
    let mut report = Report::default();
    while let Some(run) = runs.next().await {
        report.add(run);
    }
    Ok(report)
}

/// Delivers one cursor while it is due and the deadline allows. Storage problems are logged
/// (the caller's response is long gone) and the lease given back.
async fn deliver_cursor(conn: &Connection, target: Target, deadline: i64) -> Report {
    let token = uuid::Uuid::new_v4().to_string();
    let lease_ms = service_kit::lease::lease_ms(LEASE_VARIABLE, LEASE_MS);
    let mut report = Report::default();
    let result: Result<(), ApiError> = async {
        loop {
            let now = now_millis();
            if now >= deadline {
                return Ok(());
            }
            let Some(claim) = store::claim(conn, &target, &token, now, now + lease_ms)? else {
                return Ok(());
            };
            let finished = deliver_claimed(
                conn,
                &target,
                &token,
                claim,
                deadline,
                lease_ms,
                &mut report,
            )
            .await?;
            // Released: look again, for events published while the lease was held.
            if !finished || !store::is_due(conn, &target, now_millis())? {
                return Ok(());
            }
        }
    }
    .await;
    if let Err(err) = result {
        eprintln!(
            "events: delivering {} to {}: {:?}",
            target.topic,
            target.subscription,
            err.detail.as_deref().unwrap_or(&err.message)
        );
        let _ = store::release(conn, &target, &token, 0);
    }
    report
}

/// Delivers a claimed batch. `Ok(true)` when it ended with the lease released after the
/// batch; `Ok(false)` when the run must stop (a failure waits for its backoff, the lease was
/// lost, or the deadline passed).
///
/// Acknowledgements are recorded at least every [`ACK_INTERVAL_MS`] and at the end of the batch
/// (with the release), not one write per event: a crash repeats at most that much, which
/// at-least-once allows, and publishers meet far fewer writers on the database lock.
async fn deliver_claimed(
    conn: &Connection,
    target: &Target,
    token: &str,
    claim: Claim,
    deadline: i64,
    lease_ms: i64,
    report: &mut Report,
) -> Result<bool, ApiError> {
    let events = store::events_after(conn, &target.topic, claim.delivered, BATCH)?;
    let mut attempts = claim.attempts;
    // Acknowledged by the subscriber, and when the cursor row last recorded it.
    let mut delivered = claim.delivered;
    let mut recorded_at = now_millis();
    let last = events.len().saturating_sub(1);
    for (index, event) in events.iter().enumerate() {
        if now_millis() >= deadline {
            store::release(conn, target, token, delivered)?;
            return Ok(false);
        }
        let outcome = push(&target.endpoint, event).await;
        let now = now_millis();
        match outcome {
            Ok(()) => {
                report.delivered += 1;
                attempts = 0;
                delivered = event.offset;
                if index == last {
                    return store::ack(conn, target, token, delivered, None);
                }
                if now - recorded_at >= ACK_INTERVAL_MS {
                    if !store::ack(conn, target, token, delivered, Some(now + lease_ms))? {
                        return Ok(false);
                    }
                    recorded_at = now;
                }
            }
            Err(error) => {
                attempts += 1;
                if attempts < target.max_attempts {
                    report.retrying += 1;
                    let next = now + backoff_ms(retry_base_ms(), attempts);
                    store::fail(conn, target, token, delivered, attempts, next, &error, now)?;
                    return Ok(false);
                }
                report.dead_lettered += 1;
                let lease = now + lease_ms;
                let moved = store::dead_letter(
                    conn,
                    target,
                    token,
                    event.offset,
                    attempts,
                    &error,
                    now,
                    lease,
                )?;
                if !moved {
                    return Ok(false);
                }
                attempts = 0;
                delivered = event.offset;
                recorded_at = now;
                if index == last {
                    store::release(conn, target, token, delivered)?;
                    return Ok(true);
                }
            }
        }
    }
    // Nothing after the cursor (the head moved back? never): give the lease back.
    store::release(conn, target, token, delivered)?;
    Ok(false)
}

/// The `retry_base_ms` variable, read when a failure needs it.
fn retry_base_ms() -> i64 {
    parse_retry_base(spin_sdk::variables::get("retry_base_ms").ok().as_deref())
}

/// Re-delivers a subscription's dead letters in order (per topic, stopping a topic at its first
/// failure so its letters keep their order); delivered ones are removed. Returns how many were
/// delivered and how many remain.
pub async fn replay(
    conn: &Connection,
    name: &str,
    endpoint: &str,
    deadline: i64,
) -> Result<(i64, i64), ApiError> {
    let letters = store::replayable(conn, name, 1000)?;
    let mut failed_topics: Vec<String> = Vec::new();
    let mut replayed = 0;
    for letter in letters {
        if failed_topics.contains(&letter.topic) || now_millis() >= deadline {
            continue;
        }
        match push(endpoint, &letter.event).await {
            Ok(()) => {
                store::remove_dead_letter(conn, name, &letter.topic, letter.event.offset)?;
                replayed += 1;
            }
            Err(error) => {
                store::replay_failed(
                    conn,
                    name,
                    &letter.topic,
                    letter.event.offset,
                    &error,
                    now_millis(),
                )?;
                failed_topics.push(letter.topic);
            }
        }
    }
    Ok((replayed, store::dead_letter_count(conn, name)?))
}
