//! `GET /support/tickets`: the query (filters, page size, cursor) and the opaque cursor.
//!
//! Tickets are listed newest first, i.e. by id descending (ids only grow). A cursor holds the id of
//! the last ticket of the page, so the next page is "ids below it": stable while tickets are added,
//! each ticket seen exactly once. It is base64url so clients treat it as opaque.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use service_kit::request::Query;
use service_kit::ApiError;

use crate::customer::parse_customer_id;
use crate::error::{invalid, SupportError};
use crate::ticket::Status;

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;
const CURSOR_PREFIX: &str = "t1:";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub customer: Option<String>,
    pub status: Option<Status>,
    pub limit: i64,
    /// Only tickets with a smaller id (from the cursor).
    pub before: Option<i64>,
}

pub fn parse_list_query(query: &str) -> Result<ListQuery, ApiError> {
    let query = Query::parse(query, &["customer", "status", "limit", "cursor"])?;
    let customer = query
        .get("customer")
        .map(|id| parse_customer_id(id).map_err(|err| invalid("customer", err)))
        .transpose()?;
    let status = query
        .get("status")
        .map(|text| {
            Status::parse(text).ok_or_else(|| {
                invalid(
                    "status",
                    format!("must be open, pending, resolved or closed; got {text:?}"),
                )
            })
        })
        .transpose()?;
    let limit = query.integer("limit", 1, MAX_LIMIT, DEFAULT_LIMIT)?;
    let before = query.get("cursor").map(decode_cursor).transpose()?;
    Ok(ListQuery {
        customer,
        status,
        limit,
        before,
    })
}

pub fn encode_cursor(last_id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{last_id}"))
}

pub fn decode_cursor(cursor: &str) -> Result<i64, SupportError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix(CURSOR_PREFIX)?.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            invalid(
                "cursor",
                format!("{cursor:?} is not a cursor this service gave out; use next_cursor of a previous page"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_look_opaque() {
        for id in [1, 42, i64::MAX] {
            let cursor = encode_cursor(id);
            assert!(
                cursor
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{cursor}"
            );
            assert!(!cursor.contains(&id.to_string()), "{cursor}");
            assert_eq!(decode_cursor(&cursor), Ok(id));
        }
    }

    #[test]
    fn junk_cursors_are_refused() {
        let forged = URL_SAFE_NO_PAD.encode("t1:-5");
        let other = URL_SAFE_NO_PAD.encode("x:5");
        for junk in ["", "42", "!!!", "dDE6", forged.as_str(), other.as_str()] {
            let err = decode_cursor(junk).unwrap_err();
            assert_eq!(err.status(), 400, "{junk}");
            assert!(err.to_string().starts_with("cursor:"), "{err}");
        }
    }

    #[test]
    fn the_query_has_defaults() {
        let query = parse_list_query("").unwrap();
        assert_eq!(
            query,
            ListQuery {
                customer: None,
                status: None,
                limit: 20,
                before: None
            }
        );
    }

    #[test]
    fn every_parameter_is_read() {
        let text = format!(
            "customer=c-1&status=pending&limit=100&cursor={}",
            encode_cursor(9)
        );
        let query = parse_list_query(&text).unwrap();
        assert_eq!(
            query,
            ListQuery {
                customer: Some("c-1".into()),
                status: Some(Status::Pending),
                limit: 100,
                before: Some(9)
            }
        );
    }

    #[test]
    fn bad_parameters_are_400_naming_them() {
        for (text, word) in [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=ten", "limit"),
            ("status=done", "status"),
            ("customer=a%20b", "customer"),
            ("cursor=zzz", "cursor"),
            ("page=2", "page"),
        ] {
            let err = parse_list_query(text).unwrap_err();
            assert_eq!(err.status, 400, "{text}");
            assert!(err.message.contains(word), "{text}: {}", err.message);
        }
    }
}
