//! Cross-origin resource sharing: which browser origins may call the API, preflight answers and
//! the headers added to ordinary responses.

/// Methods a preflight may approve.
const ALLOWED_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
/// Request headers approved when the preflight does not list any.
const DEFAULT_ALLOWED_HEADERS: &str =
    "authorization, x-api-key, content-type, if-match, if-none-match, idempotency-key, x-request-id";
/// Response headers a browser script may read.
const EXPOSED_HEADERS: &str = "x-request-id, retry-after, location, etag, idempotent-replayed, ratelimit-limit, ratelimit-remaining";
/// How long a browser may cache a preflight answer.
const MAX_AGE_SECONDS: &str = "600";

#[derive(Debug, Clone, PartialEq)]
pub enum CorsPolicy {
    AnyOrigin,
    Origins(Vec<String>),
}

impl CorsPolicy {
    /// `*`, or a comma-separated list of origins such as `https://app.example.com`.
    pub fn parse(text: &str) -> Result<CorsPolicy, String> {
        let origins: Vec<String> = text
            .split(',')
            .map(str::trim)
            .filter(|origin| !origin.is_empty())
            .map(|origin| origin.trim_end_matches('/').to_ascii_lowercase())
            .collect();
        if origins.iter().any(|origin| origin == "*") {
            return Ok(CorsPolicy::AnyOrigin);
        }
        if let Some(bad) = origins
            .iter()
            .find(|o| !(o.starts_with("http://") || o.starts_with("https://")))
        {
            return Err(format!(
                "variable cors_origins: {bad:?} is not an origin (scheme://host[:port]) or *"
            ));
        }
        Ok(CorsPolicy::Origins(origins))
    }

    pub fn allows(&self, origin: &str) -> bool {
        match self {
            CorsPolicy::AnyOrigin => true,
            CorsPolicy::Origins(origins) => {
                let origin = origin.trim().to_ascii_lowercase();
                origins.contains(&origin)
            }
        }
    }

    /// The `access-control-allow-origin` value for an allowed origin.
    fn allow_origin(&self, origin: &str) -> String {
        match self {
            CorsPolicy::AnyOrigin => "*".to_owned(),
            CorsPolicy::Origins(_) => origin.trim().to_owned(),
        }
    }

    /// Headers of the answer to a preflight from an allowed `origin`.
    pub fn preflight_headers(
        &self,
        origin: &str,
        requested_headers: Option<&str>,
    ) -> Vec<(String, String)> {
        let allow_headers = requested_headers
            .map(str::trim)
            .filter(|headers| !headers.is_empty())
            .unwrap_or(DEFAULT_ALLOWED_HEADERS);
        let mut headers = vec![
            header("access-control-allow-origin", &self.allow_origin(origin)),
            header("access-control-allow-methods", ALLOWED_METHODS),
            header("access-control-allow-headers", allow_headers),
            header("access-control-max-age", MAX_AGE_SECONDS),
        ];
        headers.push(header(
            "vary",
            "origin, access-control-request-method, access-control-request-headers",
        ));
        headers
    }

    /// Headers added to an ordinary response for a request from an allowed `origin`.
    pub fn response_headers(&self, origin: &str) -> Vec<(String, String)> {
        let mut headers = vec![
            header("access-control-allow-origin", &self.allow_origin(origin)),
            header("access-control-expose-headers", EXPOSED_HEADERS),
        ];
        if matches!(self, CorsPolicy::Origins(_)) {
            headers.push(header("vary", "origin"));
        }
        headers
    }
}

fn header(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    #[test]
    fn star_allows_everyone_without_echoing() {
        let policy = CorsPolicy::parse("*").unwrap();
        assert!(policy.allows("https://anywhere.example"));
        let headers = policy.response_headers("https://anywhere.example");
        assert_eq!(value(&headers, "access-control-allow-origin"), Some("*"));
        assert_eq!(value(&headers, "vary"), None);
    }

    #[test]
    fn listed_origins_are_echoed_and_others_refused() {
        let policy = CorsPolicy::parse("https://a.example, http://localhost:5173/").unwrap();
        assert!(policy.allows("https://A.example"));
        assert!(policy.allows("http://localhost:5173"));
        assert!(!policy.allows("https://b.example"));
        let headers = policy.preflight_headers("https://a.example", Some("content-type"));
        assert_eq!(
            value(&headers, "access-control-allow-origin"),
            Some("https://a.example")
        );
        assert_eq!(
            value(&headers, "access-control-allow-headers"),
            Some("content-type")
        );
        assert!(value(&headers, "access-control-allow-methods")
            .unwrap()
            .contains("PATCH"));
    }

    #[test]
    fn non_origins_are_refused() {
        assert!(CorsPolicy::parse("example.com").is_err());
        assert_eq!(
            CorsPolicy::parse("").unwrap(),
            CorsPolicy::Origins(Vec::new())
        );
    }
}
