//! HTTP on the wire: complete responses, the client every request goes through, chunked bodies,
//! and the assertions on error answers every service test shares.

use std::io::BufRead;
use std::time::Duration;

use crate::app::TestApp;

/// The media type of the services' JSON bodies.
pub const JSON: &str = "application/json";

/// Upper bound for any single test request, so a test never hangs.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A complete HTTP response.
#[derive(Clone, Debug)]
pub struct TestResponse {
    pub status: u16,
    /// Header names lowercase, values lossily decoded as UTF-8.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl TestResponse {
    /// The first value of a header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the status and body if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response is not JSON ({e}); status {}, body: {:?}",
                self.status,
                self.text()
            )
        })
    }
}

/// The first value of header `name` (case-insensitive) in `headers`.
pub(crate) fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

pub(crate) fn new_agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

pub(crate) fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<TestResponse, String> {
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    // Only methods that normally carry a body send one (even if empty, as a
    // `content-length: 0`); a GET goes out without any body framing.
    let carries_body = !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH");
    let result = if carries_body {
        agent.run(builder.body(body).map_err(|e| e.to_string())?)
    } else {
        agent.run(builder.body(()).map_err(|e| e.to_string())?)
    };
    let mut response = result.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    let body = response
        .body_mut()
        .with_config()
        .limit(u64::MAX)
        .read_to_vec()
        .map_err(|e| format!("reading the body: {e}"))?;
    Ok(TestResponse {
        status,
        headers,
        body,
    })
}

/// `GET url` on any server (e.g. a metrics listener, not the app); panics if no
/// HTTP response arrives within the request timeout.
pub fn http_get(url: &str) -> TestResponse {
    send(&new_agent(REQUEST_TIMEOUT), "GET", url, &[], Vec::new())
        .unwrap_or_else(|e| panic!("GET {url}: no HTTP response: {e}"))
}

pub(crate) fn read_chunked(reader: &mut impl BufRead) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        if reader.read_line(&mut size_line).unwrap_or(0) == 0 {
            return body;
        }
        let size_text = size_line.trim().split(';').next().unwrap_or("0");
        let size = usize::from_str_radix(size_text, 16).unwrap_or(0);
        if size == 0 {
            // Trailers end with an empty line.
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    return body;
                }
            }
        }
        let mut chunk = vec![0; size + 2];
        if reader.read_exact(&mut chunk).is_err() {
            return body;
        }
        chunk.truncate(size);
        body.extend(chunk);
    }
}

/// Asserts an error answer: `status`, a JSON body, and a `message` that contains
/// every one of `words`.
pub fn assert_error(response: &TestResponse, status: u16, words: &[&str]) {
    assert_eq!(response.status, status, "body: {}", response.text());
    assert_eq!(response.header("content-type"), Some(JSON));
    let message = response.json()["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {}", response.text()))
        .to_owned();
    for word in words {
        assert!(
            message.contains(word),
            "{message:?} should mention {word:?}"
        );
    }
}

/// Asserts that each `(method, path, allow)` is refused with `405`, an error
/// naming the method and `allow` listing the methods the path answers.
pub fn assert_methods_not_allowed(app: &TestApp, cases: &[(&str, &str, &str)]) {
    for &(method, path, allow) in cases {
        let response = app.request(method, path, &[], Vec::new());
        assert_error(&response, 405, &[method]);
        assert_eq!(response.header("allow"), Some(allow), "{method} {path}");
    }
}
