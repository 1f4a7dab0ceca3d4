//! The listings' query: a page of posts, newest first (a user's own posts, or a timeline).
//!
//! Post ids grow with every post (the store assigns them inside its write transaction and never
//! reuses one), so "newest first" is "id descending", a total order. A cursor holds the id of the
//! page's last post and the next page is "ids below it": a post published while paging has a
//! larger id than every post already listed, so it lands ahead of the cursor (at the start of the
//! next listing) and can neither repeat nor push a post past the page boundary. The cursor and the
//! page cut are service-kit's `paging`.

use service_kit::paging::decode_cursor;
use service_kit::request::Query;
use service_kit::ApiError;

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

#[cfg(test)]
mod tests {
    use super::*;
    use service_kit::paging::encode_cursor;

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
}
