//! The transactional outbox: a service writes its state change and the events describing it in one
//! transaction of its own database, then forwards the events to the `events` service afterwards.
//! Nothing is lost if the forward fails or the process dies in between: the rows stay until the
//! `events` service has acknowledged them, and the next forward (a later write, or the service's
//! `outbox/flush` endpoint) sends them. The `events` service ignores ids it already holds, so a
//! forward repeated after a lost acknowledgement publishes nothing twice. After a write, only the
//! holder of the forwarder lease forwards (`forwarder`), so concurrent writers never send the same
//! rows at once.

use crate::api::{json_response, ApiError};
use crate::cloudevent::{CloudEvent, BATCH_CONTENT_TYPE};
use crate::db::{self, col_int, col_text, exec, int, text};
use crate::outgoing;
use serde::Serialize;
use spin_sdk::http::{Method, Response};
use spin_sdk::sqlite::Connection;
use utoipa::ToSchema;

pub mod forwarder;

/// The outbox's tables (the rows to forward, and the forwarder lease); part of every publishing
/// service's schema (see `db::with_schema_parts`).
pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    event TEXT NOT NULL,
    created_at INTEGER NOT NULL
)",
    forwarder::TABLE,
    forwarder::FREE_ROW,
];

/// Where the `events` service is reached unless the `events_url` variable says otherwise.
pub const DEFAULT_EVENTS_URL: &str = "http://events.spin.internal";

/// Rows forwarded per publish request (the `events` service takes at most 500 per request).
const BATCH: i64 = 500;

/// Stages `event` for `topic`; call inside the transaction that makes the change it describes.
pub fn enqueue(conn: &Connection, topic: &str, event: &CloudEvent) -> Result<(), ApiError> {
    let json = serde_json::to_string(event).map_err(ApiError::storage)?;
    exec(
        conn,
        "INSERT INTO outbox (topic, event, created_at) VALUES (?, ?, ?)",
        &[text(topic), text(json), int(crate::clock::now_millis())],
    )?;
    Ok(())
}

/// How many events wait to be forwarded.
pub fn pending(conn: &Connection) -> Result<i64, ApiError> {
    let result = exec(conn, "SELECT COUNT(*) AS n FROM outbox", &[])?;
    let count = result
        .rows()
        .next()
        .map(|row| col_int(&row, "n"))
        .unwrap_or(0);
    Ok(count)
}

/// What one forward achieved: the answer of `POST /<service>/outbox/flush`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ForwardReport {
    /// Events the event log acknowledged in this flush.
    #[schema(minimum = 0)]
    pub forwarded: i64,
    /// Events still waiting.
    #[schema(minimum = 0)]
    pub pending: i64,
    /// Why forwarding stopped early; absent when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error: Option<String>,
}

/// The answer of `GET /<service>/outbox`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OutboxStatus {
    /// Events committed but not yet acknowledged by the event log.
    #[schema(minimum = 0)]
    pub pending: i64,
}

/// `GET /<service>/outbox`: how many events wait to be forwarded, as `200 OutboxStatus`.
/// Run it where the service's schema exists (e.g. inside its `db::with_schema`).
pub fn status_response(conn: &Connection) -> Result<Response, ApiError> {
    let pending = pending(conn)?;
    Ok(json_response(200, &OutboxStatus { pending }))
}

/// `POST /<service>/outbox/flush`: forwards what is pending now, answering `200 ForwardReport`
/// (how far it got, and why it stopped early if it did). The schema must exist.
pub async fn flush_response(conn: &Connection) -> Result<Response, ApiError> {
    let report = forward(conn).await?;
    Ok(json_response(200, &report))
}

/// `GET /<service>/outbox` on a service's database, whose schema is `parts` (its own tables and
/// [`SCHEMA`]): creates the schema on a fresh database, then answers as [`status_response`].
pub fn status_endpoint(conn: &Connection, parts: &[&[&str]]) -> Result<Response, ApiError> {
    db::with_schema_parts(conn, parts, status_response)
}

/// `POST /<service>/outbox/flush` on a service's database, whose schema is `parts`: answers as
/// [`flush_response`].
pub async fn flush_endpoint(conn: &Connection, parts: &[&[&str]]) -> Result<Response, ApiError> {
    // Creates the schema on a fresh database, so forwarding has a table to read.
    db::with_schema_parts(conn, parts, pending)?;
    flush_response(conn).await
}

/// The contract's operation descriptors of a publisher's two outbox endpoints, `outbox_status`
/// (`GET $status`) and `flush_outbox` (`POST $flush`; alone when given only `$flush`), for its
/// `ApiDoc`'s `paths(...)`. A macro
/// because `#[utoipa::path]` takes its path as a literal; the caller imports `utoipa` and
/// `service_kit::outbox`.
#[macro_export]
macro_rules! outbox_operations {
    ($status:literal, $flush:literal) => {
        #[utoipa::path(
            get,
            path = $status,
            tag = "outbox",
            summary = "How many events wait to be forwarded",
            responses((status = 200, description = "The outbox's size.", body = outbox::OutboxStatus))
        )]
        pub fn outbox_status() {}

        $crate::outbox_operations!($flush);
    };
    ($flush:literal) => {
        #[utoipa::path(
            post,
            path = $flush,
            tag = "outbox",
            summary = "Forward the pending events now",
            description = "Forwards the outbox to the event log, oldest first, stopping at the first failure \
                (the report says why; the events stay for later).",
            responses((status = 200, description = "How far the flush got.", body = outbox::ForwardReport))
        )]
        pub fn flush_outbox() {}
    };
}

/// The base URL of the `events` service: the `events_url` variable, else service chaining.
pub fn events_url() -> String {
    spin_sdk::variables::get("events_url")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_EVENTS_URL.to_owned())
}

/// Forwards the events pending when it starts, in order, one publish per run of rows with the
/// same topic, deleting each run once `events` has acknowledged it. Stops at the first failure,
/// so a topic's events are never published out of order; the report says what is left and why.
/// Events committed meanwhile are left to their own writer's forward, so one call is bounded
/// even while writers keep adding.
pub async fn forward(conn: &Connection) -> Result<ForwardReport, ApiError> {
    let base = events_url();
    let mut report = ForwardReport::default();
    let newest = exec(
        conn,
        "SELECT COALESCE(MAX(seq), 0) AS up_to FROM outbox",
        &[],
    )?;
    let up_to = newest
        .rows()
        .next()
        .map(|row| col_int(&row, "up_to"))
        .unwrap_or(0);
    loop {
        let result = exec(
            conn,
            "SELECT seq, topic, event FROM outbox WHERE seq <= ? ORDER BY seq LIMIT ?",
            &[int(up_to), int(BATCH)],
        )?;
        let rows: Vec<(i64, String, String)> = result
            .rows()
            .map(|row| {
                (
                    col_int(&row, "seq"),
                    col_text(&row, "topic"),
                    col_text(&row, "event"),
                )
            })
            .collect();
        if rows.is_empty() {
            break;
        }
        // A batch that is not full held everything up to `up_to`.
        let more = rows.len() as i64 == BATCH;
        for run in rows.chunk_by(|a, b| a.1 == b.1) {
            let topic = &run[0].1;
            let body = format!(
                "[{}]",
                run.iter()
                    .map(|(_, _, event)| event.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            );
            if let Err(error) = publish(&base, topic, body).await {
                report.error = Some(error);
                report.pending = pending(conn)?;
                return Ok(report);
            }
            let (first, last) = (run[0].0, run[run.len() - 1].0);
            exec(
                conn,
                "DELETE FROM outbox WHERE seq BETWEEN ? AND ?",
                &[int(first), int(last)],
            )?;
            report.forwarded += run.len() as i64;
        }
        if !more {
            break;
        }
    }
    report.pending = pending(conn)?;
    Ok(report)
}

async fn publish(base: &str, topic: &str, body: String) -> Result<(), String> {
    let url = format!("{}/events/{topic}", base.trim_end_matches('/'));
    let length = body.len().to_string();
    // The log stamps it on forwarded events without a `requestid`: only those staged by a
    // request that had no id lack one, and the request sending them on is then the nearest cause.
    let request_id = crate::trace::request_id();
    let mut headers: Vec<(&str, &[u8])> = vec![
        ("content-type", BATCH_CONTENT_TYPE.as_bytes()),
        ("content-length", length.as_bytes()),
    ];
    if let Some(id) = &request_id {
        headers.push((crate::trace::HEADER, id.as_bytes()));
    }
    let failed = |err: String| format!("publishing to {topic}: {err}");
    let request = outgoing::request(&Method::Post, &url, &headers).map_err(failed)?;
    let sent = outgoing::send(request, Some(body.into_bytes()), None).await;
    let response = match sent.response {
        Ok(response) => response,
        Err(Some(code)) => return Err(failed(format!("{code:?}"))),
        Err(None) => return Err(failed("no response".to_owned())),
    };
    sent.body_written.map_err(failed)?;
    let status = response.status();
    if (200..300).contains(&status) {
        return Ok(());
    }
    let answer = response.into_body().await.unwrap_or_default();
    Err(failed(format!(
        "events answered {status}: {}",
        String::from_utf8_lossy(&answer)
    )))
}
