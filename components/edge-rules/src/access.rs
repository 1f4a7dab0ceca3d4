//! Who may do what: credentials from the request, the scope a request needs, and the decision.

use crate::keys::KeyRecord;

/// What the client presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    None,
    /// `Authorization: Bearer <token>` or `x-api-key: <token>`.
    Token(String),
    /// An `Authorization` header of another scheme, or an empty token.
    Malformed,
}

impl Credential {
    /// Reads `authorization` (Bearer) first, then `x-api-key`.
    pub fn from_headers(authorization: Option<&str>, api_key: Option<&str>) -> Credential {
        if let Some(value) = authorization {
            let value = value.trim();
            return match value.split_once(' ') {
                Some((scheme, token))
                    if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
                {
                    Credential::Token(token.trim().to_owned())
                }
                _ => Credential::Malformed,
            };
        }
        match api_key.map(str::trim) {
            Some("") => Credential::Malformed,
            Some(token) => Credential::Token(token.to_owned()),
            None => Credential::None,
        }
    }
}

/// Reads change nothing; everything else writes.
pub fn is_read(method: &str) -> bool {
    matches!(method, "GET" | "HEAD")
}

/// The scope a request to `service` with `method` needs.
pub fn required_scope(service: &str, method: &str) -> String {
    let access = if is_read(method) { "read" } else { "write" };
    format!("{service}:{access}")
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 401: a key is needed and none was sent.
    NoKey,
    /// 403: the key lacks the scope.
    MissingScope(String),
}

/// Whether `caller` (None = anonymous) may send `method` to `service`. Anyone may read a
/// public-read service; everything else needs the scope.
pub fn authorize(
    caller: Option<&KeyRecord>,
    service: &str,
    method: &str,
    public_read: bool,
) -> Result<(), Refusal> {
    if public_read && is_read(method) {
        return Ok(());
    }
    let scope = required_scope(service, method);
    match caller {
        None => Err(Refusal::NoKey),
        Some(key) if key.scopes.contains(&scope) => Ok(()),
        Some(_) => Err(Refusal::MissingScope(scope)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(scopes: &[&str]) -> KeyRecord {
        KeyRecord {
            id: "k1".into(),
            name: "test".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            rate_per_minute: 10,
            created_at: "2026-11-23T00:00:00Z".into(),
            hash: String::new(),
        }
    }

    #[test]
    fn credentials_from_either_header() {
        assert_eq!(
            Credential::from_headers(Some("Bearer abc"), None),
            Credential::Token("abc".into())
        );
        assert_eq!(
            Credential::from_headers(Some("bearer  abc "), Some("other")),
            Credential::Token("abc".into())
        );
        assert_eq!(
            Credential::from_headers(None, Some("xyz")),
            Credential::Token("xyz".into())
        );
        assert_eq!(
            Credential::from_headers(Some("Basic dXNlcg=="), None),
            Credential::Malformed
        );
        assert_eq!(
            Credential::from_headers(Some("Bearer "), None),
            Credential::Malformed
        );
        assert_eq!(Credential::from_headers(None, None), Credential::None);
    }

    #[test]
    fn scopes_follow_the_method() {
        assert_eq!(required_scope("support", "GET"), "support:read");
        assert_eq!(required_scope("support", "HEAD"), "support:read");
        assert_eq!(required_scope("support", "PATCH"), "support:write");
        assert_eq!(required_scope("support", "OPTIONS"), "support:write");
    }

    #[test]
    fn decisions() {
        let reader = key(&["support:read"]);
        assert_eq!(authorize(Some(&reader), "support", "GET", false), Ok(()));
        assert_eq!(
            authorize(Some(&reader), "support", "POST", false),
            Err(Refusal::MissingScope("support:write".into()))
        );
        assert_eq!(
            authorize(None, "support", "GET", false),
            Err(Refusal::NoKey)
        );
        assert_eq!(authorize(None, "visits", "GET", true), Ok(()));
        assert_eq!(authorize(None, "visits", "POST", true), Err(Refusal::NoKey));
        // Any valid key may read what anyone may read.
        assert_eq!(authorize(Some(&reader), "visits", "GET", true), Ok(()));
    }
}
