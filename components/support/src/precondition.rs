//! Conditional requests (RFC 9110 section 13): a resource's ETag is its version, `"<version>"`.
//! Writes honour `If-Match` (optimistic concurrency: a stale version gives 412 and changes nothing)
//! and `If-None-Match` (`*` = create only); reads answer 304 when `If-None-Match` names the current
//! version.

use crate::error::SupportError;

/// The strong ETag of a version.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// One entity tag of a header's list; `weak` for `W/"..."`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tag<'a> {
    weak: bool,
    opaque: &'a str,
}

/// `*`, or a list of tags. Quotes are optional (a bare `3` is read as `"3"`).
fn parse(header: &str) -> Option<Vec<Tag<'_>>> {
    if header.trim() == "*" {
        return None;
    }
    let tags = header
        .split(',')
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .map(|tag| {
            let (weak, rest) = match tag.strip_prefix("W/") {
                Some(rest) => (true, rest),
                None => (false, tag),
            };
            let opaque = rest
                .strip_prefix('"')
                .and_then(|r| r.strip_suffix('"'))
                .unwrap_or(rest);
            Tag { weak, opaque }
        })
        .collect();
    Some(tags)
}

/// Checks a write's preconditions against the resource's current version (`None`: it does not exist).
/// `what` names the resource in messages, e.g. `customer "c1"`.
pub fn check_write(
    what: &str,
    current: Option<i64>,
    if_match: Option<&str>,
    if_none_match: Option<&str>,
) -> Result<(), SupportError> {
    if let Some(header) = if_match {
        let Some(version) = current else {
            return Err(SupportError::PreconditionFailed(format!(
                "{what} does not exist, so If-Match: {header} cannot hold"
            )));
        };
        if let Some(tags) = parse(header) {
            // Strong comparison: a weak tag never matches.
            let current_tag = version.to_string();
            if !tags.iter().any(|t| !t.weak && t.opaque == current_tag) {
                return Err(SupportError::PreconditionFailed(format!(
                    "{what} has changed: it is at version {version} (ETag {}), not If-Match: {header}",
                    etag(version)
                )));
            }
        }
    }
    if let (Some(header), Some(version)) = (if_none_match, current) {
        let matches = match parse(header) {
            None => true,
            Some(tags) => tags.iter().any(|t| t.opaque == version.to_string()),
        };
        if matches {
            return Err(SupportError::PreconditionFailed(format!(
                "{what} already exists at version {version}, and If-None-Match: {header} asks to write only if it does not"
            )));
        }
    }
    Ok(())
}

/// True when a read's `If-None-Match` names the current version (weak comparison): answer 304.
pub fn not_modified(version: i64, if_none_match: Option<&str>) -> bool {
    if_none_match.is_some_and(|header| match parse(header) {
        None => true,
        Some(tags) => tags.iter().any(|t| t.opaque == version.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHAT: &str = "customer \"c1\"";

    fn status(result: Result<(), SupportError>) -> u16 {
        result.map_or_else(|err| err.status(), |()| 200)
    }

    #[test]
    fn etags_are_quoted_versions() {
        assert_eq!(etag(3), "\"3\"");
    }

    #[test]
    fn if_match_needs_the_current_version() {
        assert_eq!(status(check_write(WHAT, Some(3), Some("\"3\""), None)), 200);
        assert_eq!(
            status(check_write(WHAT, Some(3), Some("\"1\", \"3\""), None)),
            200
        );
        assert_eq!(status(check_write(WHAT, Some(3), Some("3"), None)), 200);
        assert_eq!(status(check_write(WHAT, Some(3), Some("*"), None)), 200);
        let stale = check_write(WHAT, Some(3), Some("\"2\""), None).unwrap_err();
        assert_eq!(stale.status(), 412);
        assert!(stale.to_string().contains("version 3"), "{stale}");
        // Strong comparison: weak tags never match.
        assert_eq!(
            status(check_write(WHAT, Some(3), Some("W/\"3\""), None)),
            412
        );
    }

    #[test]
    fn if_match_on_a_missing_resource_fails() {
        assert_eq!(status(check_write(WHAT, None, Some("\"1\""), None)), 412);
        assert_eq!(status(check_write(WHAT, None, Some("*"), None)), 412);
        assert_eq!(status(check_write(WHAT, None, None, None)), 200);
    }

    #[test]
    fn if_none_match_star_only_creates() {
        assert_eq!(status(check_write(WHAT, None, None, Some("*"))), 200);
        assert_eq!(status(check_write(WHAT, Some(1), None, Some("*"))), 412);
        assert_eq!(status(check_write(WHAT, Some(2), None, Some("\"1\""))), 200);
        assert_eq!(
            status(check_write(WHAT, Some(2), None, Some("W/\"2\""))),
            412
        );
    }

    #[test]
    fn reads_are_not_modified_when_the_version_matches() {
        assert!(not_modified(4, Some("\"4\"")));
        assert!(not_modified(4, Some("W/\"4\"")));
        assert!(not_modified(4, Some("\"1\", \"4\"")));
        assert!(not_modified(4, Some("*")));
        assert!(!not_modified(4, Some("\"3\"")));
        assert!(!not_modified(4, None));
    }
}
