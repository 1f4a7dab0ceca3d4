//! The read cache: answers repeated `GET`s of the services named in `cached_reads` (default
//! visits) from the gateway's own SQLite database instead of a second instance.
//!
//! Correctness rests on the gateway seeing every write: services are private, so each change to
//! a cached service passes through here. Every write gives the service a new *generation* once
//! its service has answered; a cached answer is only served while the generation it was read
//! under is still current, and for at most `cache_ttl_seconds`. A read that raced a write stored
//! its answer under the old generation, so it is never served. A client that saw its write
//! acknowledged therefore never reads an answer from before it. (If the gateway dies between a
//! write and its generation change, the TTL bounds how long old answers live.)

use service_kit::db::{col_int, col_opt_text, col_text, exec, int, text, with_schema};
use service_kit::ApiError;
use spin_sdk::sqlite::{Connection, Value};

use crate::forwarding::Header;
use crate::reply::Reply;

const LABEL: &str = "gateway";
/// Larger answers are not kept.
const MAX_BODY_BYTES: usize = 256 * 1024;
/// Entries kept at most; the oldest go first.
const MAX_ENTRIES: i64 = 10_000;
/// One store in this many also prunes expired and surplus entries.
const PRUNE_EVERY: i64 = 64;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS cache_generations (
        service TEXT PRIMARY KEY,
        generation TEXT NOT NULL
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS cached_responses (
        key TEXT PRIMARY KEY,
        generation TEXT NOT NULL,
        stored_at INTEGER NOT NULL,
        status INTEGER NOT NULL,
        headers TEXT NOT NULL,
        body BLOB NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS cached_responses_by_age ON cached_responses (stored_at)",
];

/// What a lookup found.
pub enum Lookup {
    Hit(Reply),
    /// Not cached (or stale): fetch, then [`store`] under this generation.
    Miss {
        generation: String,
    },
}

/// Whether a request may be answered from (and stored in) the cache: plain `GET`s of a cached
/// service, but never a health check, which must look at the stores each time.
pub fn is_cacheable(method: &str, path: &str) -> bool {
    method == "GET" && !path.trim_end_matches('/').ends_with("/health")
}

/// Whether a request's `cache-control` value asks for a fresh answer.
pub fn forbids_cached_answer(cache_control: &str) -> bool {
    let value = cache_control.to_ascii_lowercase();
    value.contains("no-cache") || value.contains("no-store") || value.contains("max-age=0")
}

/// The cached answer for `key` if it is younger than `ttl_millis` and of the service's current
/// generation; else a miss naming the generation to store the fresh answer under.
pub fn lookup(
    service: &str,
    key: &str,
    now_millis: i64,
    ttl_millis: i64,
) -> Result<Lookup, ApiError> {
    let conn = Connection::open(LABEL)?;
    with_schema(&conn, SCHEMA, |conn| {
        let result = exec(
            conn,
            "SELECT g.generation AS current, c.generation AS stored, c.stored_at, c.status,
                    c.headers, c.body
             FROM cache_generations g LEFT JOIN cached_responses c ON c.key = ?
             WHERE g.service = ?",
            &[text(key), text(service)],
        )?;
        let Some(row) = result.rows().next() else {
            return Ok(Lookup::Miss {
                generation: new_generation(conn, service)?,
            });
        };
        let current = col_text(&row, "current");
        let fresh = col_opt_text(&row, "stored").as_deref() == Some(current.as_str())
            && now_millis - col_int(&row, "stored_at") < ttl_millis;
        if !fresh {
            return Ok(Lookup::Miss {
                generation: current,
            });
        }
        let body = row.get::<&[u8]>("body").unwrap_or_default().to_vec();
        Ok(Lookup::Hit(Reply {
            status: col_int(&row, "status") as u16,
            headers: decode_headers(&col_text(&row, "headers")),
            body,
        }))
    })
}

/// Keeps a `200` answer (within size, and not marked `no-store`/`private`) under `generation`.
pub fn store(key: &str, generation: &str, reply: &Reply, now_millis: i64) -> Result<(), ApiError> {
    if reply.status != 200 || reply.body.len() > MAX_BODY_BYTES || forbids_storing(&reply.headers) {
        return Ok(());
    }
    let conn = Connection::open(LABEL)?;
    exec(
        &conn,
        "INSERT OR REPLACE INTO cached_responses (key, generation, stored_at, status, headers, body)
         VALUES (?, ?, ?, ?, ?, ?)",
        &[
            text(key),
            text(generation),
            int(now_millis),
            int(i64::from(reply.status)),
            text(encode_headers(&reply.headers)),
            Value::Blob(reply.body.clone()),
        ],
    )?;
    if now_millis % PRUNE_EVERY == 0 {
        prune(&conn)?;
    }
    Ok(())
}

/// After a write to `service`: everything cached for it before is no longer served.
pub fn invalidate(service: &str) -> Result<(), ApiError> {
    let conn = Connection::open(LABEL)?;
    with_schema(&conn, SCHEMA, |conn| {
        new_generation(conn, service).map(drop)
    })
}

fn new_generation(conn: &Connection, service: &str) -> Result<String, ApiError> {
    let generation = uuid::Uuid::new_v4().to_string();
    exec(
        conn,
        "INSERT OR REPLACE INTO cache_generations (service, generation) VALUES (?, ?)",
        &[text(service), text(generation.as_str())],
    )?;
    Ok(generation)
}

/// Drops entries of replaced generations and, past `MAX_ENTRIES`, the oldest.
fn prune(conn: &Connection) -> Result<(), ApiError> {
    exec(
        conn,
        "DELETE FROM cached_responses WHERE generation NOT IN
             (SELECT generation FROM cache_generations)",
        &[],
    )?;
    exec(
        conn,
        "DELETE FROM cached_responses WHERE key IN (SELECT key FROM cached_responses
             ORDER BY stored_at DESC LIMIT -1 OFFSET ?)",
        &[int(MAX_ENTRIES)],
    )?;
    Ok(())
}

fn forbids_storing(headers: &[Header]) -> bool {
    headers.iter().any(|(name, value)| {
        name == "cache-control" && {
            let value = String::from_utf8_lossy(value).to_ascii_lowercase();
            value.contains("no-store") || value.contains("private")
        }
    })
}

/// Headers as JSON pairs (values are text in practice; anything else is dropped).
fn encode_headers(headers: &[Header]) -> String {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), std::str::from_utf8(value).ok()?)))
        .collect();
    serde_json::to_string(&pairs).unwrap_or_else(|_| "[]".into())
}

fn decode_headers(json: &str) -> Vec<Header> {
    serde_json::from_str::<Vec<(String, String)>>(json)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| (name, value.into_bytes()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_gets_other_than_health_are_cacheable() {
        assert!(is_cacheable("GET", "/visits/324"));
        assert!(!is_cacheable("HEAD", "/visits/324"));
        assert!(!is_cacheable("POST", "/visits/324"));
        assert!(!is_cacheable("GET", "/visits/health"));
        assert!(!is_cacheable("GET", "/visits/health/"));
    }

    #[test]
    fn clients_may_ask_for_a_fresh_answer() {
        assert!(forbids_cached_answer("no-cache"));
        assert!(forbids_cached_answer("Max-Age=0"));
        assert!(!forbids_cached_answer("max-age=60"));
    }

    #[test]
    fn headers_round_trip_and_no_store_is_honoured() {
        let headers: Vec<Header> = vec![
            ("content-type".into(), b"application/json".to_vec()),
            ("etag".into(), b"\"3\"".to_vec()),
        ];
        assert_eq!(decode_headers(&encode_headers(&headers)), headers);
        assert!(!forbids_storing(&headers));
        assert!(forbids_storing(&[(
            "cache-control".into(),
            b"private, max-age=0".to_vec()
        )]));
    }
}
