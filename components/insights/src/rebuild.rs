//! `POST /insights/rebuild`: drop the views and the processed set, and replay the logs from offset 0.
//!
//! 1. Read every `support.*` and `telemetry.*` topic from offset 0 (nothing is changed yet, so if
//!    `events` fails here the old views stay as they were: 502).
//! 2. In ONE transaction: empty the views and the processed set, apply everything read.
//! 3. Catch up: read again after the last offsets seen (and any topic that appeared meanwhile) and
//!    apply with the usual dedupe. An event pushed to us while step 1 ran may have been applied and
//!    then wiped by step 2; it was in the log before it was pushed, so step 3 reads it again.
//!    Pushes arriving after step 2 are applied normally (step 2's write lock makes them wait).

use service_kit::api::ApiError;
use spin_sdk::sqlite::Connection;

use crate::replay::{EventsClient, Replay, ReplayError, MAX_REPLAY_EVENTS};
use crate::store;
use crate::wire::RebuildReport;

pub async fn rebuild(conn: &Connection, events_url: &str) -> Result<RebuildReport, ApiError> {
    let client = EventsClient::new(events_url);
    let unchanged = |err| refused(err, "rebuild aborted, the views are unchanged");

    let mut topics = client.replayed_topics().await.map_err(unchanged)?;
    let mut full = Replay::default();
    for topic in &topics {
        client
            .read_topic(topic, 0, &mut full)
            .await
            .map_err(unchanged)?;
    }
    let mut applied = store::replace_all(conn, &full.changes)?;

    let partial = "the views were rebuilt, but the catch-up read failed; \
                   events pushed during the rebuild may be missing until the next rebuild";
    let caught_up = catch_up(&client, &full, &mut topics)
        .await
        .map_err(|err| refused(err, partial))?;
    applied += store::record_all(conn, &caught_up.changes)?;

    Ok(RebuildReport {
        replayed: full.read + caught_up.read,
        applied,
        skipped: full.skipped + caught_up.skipped,
        topics,
    })
}

/// Reads what was appended after the first pass; adds new topics to `topics`.
async fn catch_up(
    client: &EventsClient,
    full: &Replay,
    topics: &mut Vec<String>,
) -> Result<Replay, ReplayError> {
    let mut replay = Replay::default();
    for topic in client.replayed_topics().await? {
        let after = full.cursors.get(&topic).copied().unwrap_or(0);
        client.read_topic(&topic, after, &mut replay).await?;
        if !topics.contains(&topic) {
            topics.push(topic);
        }
    }
    topics.sort();
    Ok(replay)
}

fn refused(err: ReplayError, context: &str) -> ApiError {
    match err {
        ReplayError::Upstream(detail) => ApiError {
            detail: Some(detail.clone()),
            ..ApiError::new(
                502,
                format!(
                    "{context}: could not read the event log from the events service ({detail})"
                ),
            )
        },
        ReplayError::TooMany => ApiError::new(
            507,
            format!(
                "{context}: the logs hold more than {MAX_REPLAY_EVENTS} events, \
                 the most one rebuild replays (it holds them in memory)"
            ),
        ),
    }
}
