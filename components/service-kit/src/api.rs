//! The one error type handlers return and the JSON responses every service sends.

use serde::Serialize;
use spin_sdk::http::Response;

/// A request that cannot be served: an HTTP status and a message naming the problem.
///
/// Clients always get `{"message": "..."}`; a 5xx hides its detail (it is logged instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
    /// For 405: the `allow` header value.
    pub allow: Option<&'static str>,
    /// For 5xx: what went wrong, for the log only.
    pub detail: Option<String>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            allow: None,
            detail: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(409, message)
    }

    pub fn precondition_failed(message: impl Into<String>) -> ApiError {
        ApiError::new(412, message)
    }

    pub fn too_large(message: impl Into<String>) -> ApiError {
        ApiError::new(413, message)
    }

    pub fn unsupported_media_type(message: impl Into<String>) -> ApiError {
        ApiError::new(415, message)
    }

    pub fn unprocessable(message: impl Into<String>) -> ApiError {
        ApiError::new(422, message)
    }

    pub fn method_not_allowed(method: &str, allow: &'static str) -> ApiError {
        ApiError {
            allow: Some(allow),
            ..ApiError::new(
                405,
                format!("method {method} is not allowed here; allowed: {allow}"),
            )
        }
    }

    /// A failure of our own storage: 500 "storage error", the detail only logged.
    pub fn storage(detail: impl std::fmt::Display) -> ApiError {
        ApiError {
            detail: Some(detail.to_string()),
            ..ApiError::new(500, "storage error")
        }
    }

    /// A dependency (another service) failed or is unreachable: 502, the detail only logged.
    pub fn upstream(detail: impl std::fmt::Display) -> ApiError {
        ApiError {
            detail: Some(detail.to_string()),
            ..ApiError::new(502, "a service this request depends on failed")
        }
    }

    /// The JSON error response, logging the detail of server-side failures to stderr.
    pub fn into_response(self, service: &str) -> Response {
        if let Some(detail) = &self.detail {
            eprintln!("{service}: {} {}: {detail}", self.status, self.message);
        }
        let mut response =
            json_response(self.status, &serde_json::json!({ "message": self.message }));
        if let Some(allow) = self.allow {
            response.set_header("allow", allow);
        }
        response
    }
}

impl From<spin_sdk::sqlite::Error> for ApiError {
    fn from(err: spin_sdk::sqlite::Error) -> Self {
        ApiError::storage(format!("sqlite: {err:?}"))
    }
}

impl From<spin_sdk::key_value::Error> for ApiError {
    fn from(err: spin_sdk::key_value::Error) -> Self {
        ApiError::storage(format!("key-value: {err:?}"))
    }
}

/// A JSON response with the given status.
pub fn json_response(status: u16, value: &impl Serialize) -> Response {
    // Serialising our own maps and structs cannot fail.
    json_bytes_response(status, serde_json::to_vec(value).unwrap_or_default())
}

/// A response with a JSON body already serialised; not generic, so one copy in a component.
pub fn json_bytes_response(status: u16, body: Vec<u8>) -> Response {
    let mut response = Response::new(status, body);
    // `set_header` rather than the builder's `header`, which lowercases the name with std's
    // Unicode case tables (about 15 KB of a component); ours is lowercase already.
    response.set_header("content-type", "application/json");
    response
}

/// An empty response (e.g. 204).
pub fn empty_response(status: u16) -> Response {
    Response::new(status, Vec::new())
}

/// Serves a handler's result: the response, or the error as JSON.
pub fn respond(service: &str, result: ApiResult<Response>) -> Response {
    result.unwrap_or_else(|err| err.into_response(service))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_hide_their_detail() {
        let err = ApiError::storage("disk I/O error at /secret");
        assert_eq!(err.status, 500);
        assert_eq!(err.message, "storage error");
        assert_eq!(err.detail.as_deref(), Some("disk I/O error at /secret"));
    }

    #[test]
    fn method_not_allowed_names_the_allowed_methods() {
        let err = ApiError::method_not_allowed("DELETE", "GET, PUT");
        assert_eq!(err.status, 405);
        assert_eq!(err.allow, Some("GET, PUT"));
        assert!(err.message.contains("DELETE"), "{}", err.message);
    }
}
