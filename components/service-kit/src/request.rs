//! Reading requests: the path (the request's own, so a service answers the same under its route and
//! under service chaining), query parameters, headers, and bodies with a size limit.

use crate::api::ApiError;
use futures::StreamExt;
use spin_sdk::http::IncomingRequest;

/// The request's path and query string, split.
pub fn path_and_query(request: &IncomingRequest) -> (String, String) {
    let path_with_query = request.path_with_query().unwrap_or_default();
    match path_with_query.split_once('?') {
        Some((path, query)) => (path.to_owned(), query.to_owned()),
        None => (path_with_query, String::new()),
    }
}

/// The path's non-empty segments (Spin ignores stray slashes, so do we).
pub fn segments(path: &str) -> Vec<&str> {
    path.split('/')
        .filter(|segment| !segment.is_empty())
        .collect()
}

/// The first value of a header, case-insensitively, as text.
pub fn header(request: &IncomingRequest, name: &str) -> Option<String> {
    request
        .headers()
        .entries()
        .into_iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| String::from_utf8_lossy(&value).into_owned())
}

/// Decoded query parameters; unknown names are refused so typos do not pass silently.
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(query: &str, known: &[&str]) -> Result<Query, ApiError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if let Some((name, _)) = pairs
            .iter()
            .find(|(name, _)| !known.contains(&name.as_str()))
        {
            return Err(ApiError::bad_request(format!(
                "unknown query parameter {name:?}; known: {}",
                known.join(", ")
            )));
        }
        Ok(Query { pairs })
    }

    /// The parameter's value, if given (the last one wins).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// An integer parameter within `min..=max`, or `default` when absent.
    pub fn integer(&self, name: &str, min: i64, max: i64, default: i64) -> Result<i64, ApiError> {
        let Some(text) = self.get(name) else {
            return Ok(default);
        };
        match text.parse::<i64>() {
            Ok(value) if (min..=max).contains(&value) => Ok(value),
            _ => Err(ApiError::bad_request(format!(
                "query parameter {name}: must be an integer from {min} to {max}, got {text:?}"
            ))),
        }
    }
}

/// Reads the whole body, refusing more than `limit` bytes with 413. An oversized body is read on
/// (and dropped) up to eight times the limit, so a client still sending gets to read the 413.
pub async fn read_body(request: IncomingRequest, limit: usize) -> Result<Vec<u8>, ApiError> {
    let too_large =
        || ApiError::too_large(format!("request body too large: at most {limit} bytes"));
    let drain_limit = limit.saturating_mul(8);
    let declared = header(&request, "content-length").and_then(|l| l.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > drain_limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    let mut received = 0;
    let mut chunks = request.into_body_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|err| {
            ApiError::bad_request(format!("request body could not be read: {err:?}"))
        })?;
        received += chunk.len();
        if received > drain_limit {
            break;
        }
        if received <= limit {
            body.extend_from_slice(&chunk);
        }
    }
    if received > limit {
        return Err(too_large());
    }
    Ok(body)
}

/// A content type's media type: its essence before any `;` parameters, trimmed and lowercased
/// (`"Application/JSON; charset=utf-8"` is `"application/json"`).
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Parses a JSON body into `T`, naming the problem on failure. The content type, when given, must be JSON.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<T, ApiError> {
    if let Some(content_type) = content_type {
        let essence = media_type(content_type);
        if !(essence == "application/json" || essence.ends_with("+json")) {
            return Err(ApiError::unsupported_media_type(format!(
                "unsupported content-type {content_type:?}: send application/json"
            )));
        }
    }
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "request body is empty: send a JSON document",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|err| ApiError::bad_request(format!("invalid JSON body: {err}")))
}

/// A JSON number that is an integer in `i64`'s range, also when written with a zero fraction or
/// an exponent (`3.0`, `1e3`): JSON Schema's `integer`, which the contracts promise, is any
/// number without a fractional part.
pub fn json_i64(value: &serde_json::Value) -> Option<i64> {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63, exact as a float
    value.as_i64().or_else(|| {
        let float = value.as_f64()?;
        (float.fract() == 0.0 && (-LIMIT..LIMIT).contains(&float)).then_some(float as i64)
    })
}

/// Like [`json_i64`], for a non-negative integer in `u64`'s range.
pub fn json_u64(value: &serde_json::Value) -> Option<u64> {
    const LIMIT: f64 = 18_446_744_073_709_551_616.0; // 2^64, exact as a float
    value.as_u64().or_else(|| {
        let float = value.as_f64()?;
        (float.fract() == 0.0 && (0.0..LIMIT).contains(&float)).then_some(float as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_ignore_stray_slashes() {
        assert_eq!(segments("//support/tickets/"), ["support", "tickets"]);
        assert!(segments("/").is_empty());
    }

    #[test]
    fn query_parameters_decode_and_check_names() {
        let query = Query::parse("customer=c%201&limit=5", &["customer", "limit"]).unwrap();
        assert_eq!(query.get("customer"), Some("c 1"));
        assert_eq!(query.integer("limit", 1, 100, 20).unwrap(), 5);
        assert_eq!(query.integer("absent", 1, 100, 20).unwrap(), 20);
        let err = Query::parse("limt=5", &["limit"]).err().unwrap();
        assert!(err.message.contains("limt"), "{}", err.message);
    }

    #[test]
    fn integers_out_of_range_are_refused() {
        let query = Query::parse("limit=0&after=x", &["limit", "after"]).unwrap();
        assert_eq!(query.integer("limit", 1, 100, 20).unwrap_err().status, 400);
        assert_eq!(
            query.integer("after", 0, i64::MAX, 0).unwrap_err().status,
            400
        );
    }

    #[test]
    fn media_types_drop_parameters_and_case() {
        assert_eq!(
            media_type(" Application/JSON ; charset=utf-8"),
            "application/json"
        );
        assert_eq!(media_type("text/csv"), "text/csv");
        assert_eq!(media_type(""), "");
        assert_eq!(media_type(";q=1"), "");
    }

    #[test]
    fn json_bodies_need_a_json_content_type() {
        #[derive(serde::Deserialize)]
        struct Body {
            #[allow(dead_code)]
            a: u8,
        }
        assert!(parse_json::<Body>(Some("application/json; charset=utf-8"), br#"{"a":1}"#).is_ok());
        assert!(parse_json::<Body>(Some("application/cloudevents+json"), br#"{"a":1}"#).is_ok());
        assert_eq!(
            parse_json::<Body>(Some("text/plain"), b"{}")
                .err()
                .unwrap()
                .status,
            415
        );
        assert_eq!(parse_json::<Body>(None, b"").err().unwrap().status, 400);
        assert_eq!(parse_json::<Body>(None, b"{").err().unwrap().status, 400);
    }

    #[test]
    fn json_integers_may_have_a_zero_fraction() {
        use serde_json::json;
        assert_eq!(json_i64(&json!(51)), Some(51));
        assert_eq!(json_i64(&json!(51.0)), Some(51));
        assert_eq!(json_i64(&json!(-1e3)), Some(-1000));
        assert_eq!(json_i64(&json!(51.5)), None);
        assert_eq!(json_i64(&json!(1e19)), None);
        assert_eq!(json_i64(&json!("51")), None);
        assert_eq!(json_u64(&json!(u64::MAX)), Some(u64::MAX));
        assert_eq!(json_u64(&json!(1e19)), Some(10_000_000_000_000_000_000));
        assert_eq!(json_u64(&json!(2f64.powi(64))), None);
        assert_eq!(json_u64(&json!(-1.0)), None);
    }
}
