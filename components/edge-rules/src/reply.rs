//! The gateway's answer before it is written out: status, headers (repeats kept) and body.

use serde::Serialize;
use service_kit::ApiError;

use crate::forwarding::Header;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<Header>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(status: u16, value: &impl Serialize) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), b"application/json".to_vec())],
            // Serialising our own structs and maps cannot fail.
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }

    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// `{"message"}` with the error's status; a server-side detail is logged, not sent.
    pub fn error(err: ApiError) -> Reply {
        if let Some(detail) = &err.detail {
            eprintln!("gateway: {} {}: {detail}", err.status, err.message);
        }
        let reply = Reply::json(err.status, &serde_json::json!({ "message": err.message }));
        match err.allow {
            Some(allow) => reply.with_header("allow", allow),
            None => reply,
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers
            .push((name.to_owned(), value.as_bytes().to_vec()));
        self
    }

    pub fn has_header(&self, name: &str) -> bool {
        self.headers.iter().any(|(key, _)| key == name)
    }
}

/// A refusal that carries headers beyond `{"message"}` (401 challenges, 429 retry hints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub Reply);

impl From<ApiError> for Refused {
    fn from(err: ApiError) -> Refused {
        Refused(Reply::error(err))
    }
}

/// 405 for the gateway's own resources.
pub fn method_not_allowed(method: &str, allow: &'static str) -> Refused {
    ApiError::method_not_allowed(method, allow).into()
}
