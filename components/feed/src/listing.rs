//! The listings' query: a page of posts, newest first (a user's own posts, or a timeline).
//!
//! Post ids grow with every post (the store assigns them inside its write transaction and never
//! reuses one), so "newest first" is "id descending", a total order. A cursor holds the id of the
//! page's last post and the next page is "ids below it": a post published while paging has a
//! larger id than every post already listed, so it lands ahead of the cursor (at the start of the
//! next listing) and can neither repeat nor push a post past the page boundary. The cursor is `c`
//! and 16 hex digits, so clients treat it as opaque and every string of that shape is one.

use service_kit::request::Query;
use service_kit::ApiError;

use crate::error::{invalid, FeedError};

pub const DEFAULT_POSTS: i64 = 20;
pub const MAX_POSTS: i64 = 100;

/// `?limit=&cursor=` of `GET .../timeline` and `GET .../posts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery {
    pub limit: i64,
    /// Only posts with a smaller id (from the cursor).
    pub before: Option<i64>,
}

pub fn parse_page_query(query: &str) -> Result<PageQuery, ApiError> {
    let query = Query::parse(query, &["limit", "cursor"])?;
    Ok(PageQuery {
        limit: query.integer("limit", 1, MAX_POSTS, DEFAULT_POSTS)?,
        before: query.get("cursor").map(decode_cursor).transpose()?,
    })
}

pub fn encode_cursor(post_id: i64) -> String {
    format!("c{post_id:016x}")
}

pub fn decode_cursor(cursor: &str) -> Result<i64, FeedError> {
    cursor
        .strip_prefix('c')
        .filter(|hex| hex.len() == 16 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .and_then(|hex| i64::from_str_radix(hex, 16).ok())
        .ok_or_else(|| {
            invalid(
                "cursor",
                format!("{cursor:?} is not a cursor this service gave out; use next_cursor of a previous page"),
            )
        })
}

/// Cuts a page fetched with one row more than asked down to `limit`; the cursor of the next page
/// when that extra row showed there is one.
pub fn paginate<T>(
    mut rows: Vec<T>,
    limit: i64,
    id: impl Fn(&T) -> i64,
) -> (Vec<T>, Option<String>) {
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = has_more
        .then(|| rows.last().map(|row| encode_cursor(id(row))))
        .flatten();
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        for id in [0, 1, 42, i64::MAX] {
            let cursor = encode_cursor(id);
            assert_eq!(cursor.len(), 17, "{cursor}");
            assert_eq!(decode_cursor(&cursor), Ok(id));
        }
    }

    #[test]
    fn junk_cursors_are_refused() {
        for junk in [
            "",
            "42",
            "c",
            "c8000000000000000",
            "C0000000000000001",
            "c000000000000000g",
            "c00000000000000001",
        ] {
            let err = decode_cursor(junk).unwrap_err();
            assert_eq!(err.status(), 400, "{junk}");
            assert!(err.to_string().starts_with("cursor:"), "{err}");
        }
    }

    #[test]
    fn page_queries_have_defaults_and_limits() {
        assert_eq!(
            parse_page_query("").unwrap(),
            PageQuery {
                limit: 20,
                before: None
            }
        );
        let text = format!("limit=100&cursor={}", encode_cursor(9));
        assert_eq!(
            parse_page_query(&text).unwrap(),
            PageQuery {
                limit: 100,
                before: Some(9)
            }
        );
        for (text, word) in [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=x", "limit"),
            ("cursor=zzz", "cursor"),
            ("page=2", "page"),
        ] {
            let err = parse_page_query(text).unwrap_err();
            assert_eq!(err.status, 400, "{text}");
            assert!(err.message.contains(word), "{text}: {}", err.message);
        }
    }

    #[test]
    fn a_page_with_an_extra_row_has_a_next_cursor_at_its_last_row() {
        let (rows, next) = paginate(vec![9, 7, 5], 2, |id| *id);
        assert_eq!(rows, vec![9, 7]);
        assert_eq!(next, Some(encode_cursor(7)));
        let (rows, next) = paginate(vec![9, 7], 2, |id| *id);
        assert_eq!(rows, vec![9, 7]);
        assert_eq!(next, None);
    }
}
