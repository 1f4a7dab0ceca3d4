//! Cursor pages over a total order that only grows (ids or activity numbers assigned inside the
//! write transaction): a cursor holds the key of the page's last row and the next page is "keys
//! below it", so rows added while paging land ahead of the cursor and none repeats or is skipped.
//! The cursor is `c` and 16 hex digits, so clients treat it as opaque and every string of that
//! shape is one.

use crate::ApiError;

/// The cursor of the page that continues below `key`.
pub fn encode_cursor(key: i64) -> String {
    format!("c{key:016x}")
}

/// The key a cursor holds; 400 naming `cursor` for anything this service did not give out.
pub fn decode_cursor(cursor: &str) -> Result<i64, ApiError> {
    cursor
        .strip_prefix('c')
        .filter(|hex| hex.len() == 16 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .and_then(|hex| i64::from_str_radix(hex, 16).ok())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "cursor: {cursor:?} is not a cursor this service gave out; use next_cursor of a previous page"
            ))
        })
}

/// Cuts a page fetched with one row more than asked down to `limit`; the cursor of the next page
/// when that extra row showed there is one.
pub fn paginate<T>(
    mut rows: Vec<T>,
    limit: i64,
    key: impl Fn(&T) -> i64,
) -> (Vec<T>, Option<String>) {
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = has_more
        .then(|| rows.last().map(|row| encode_cursor(key(row))))
        .flatten();
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        for key in [0, 1, 42, i64::MAX] {
            let cursor = encode_cursor(key);
            assert_eq!(cursor.len(), 17, "{cursor}");
            assert_eq!(decode_cursor(&cursor), Ok(key));
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
            assert_eq!(err.status, 400, "{junk}");
            assert!(err.message.starts_with("cursor:"), "{err:?}");
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
