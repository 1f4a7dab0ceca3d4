//! The app's request methods: every request to an app goes through [`TestApp::request_as`],
//! which adds the caller's credentials (the all-scopes key unless told otherwise); plus raw
//! requests for what an HTTP client would not send.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;

use serde_json::Value;

use crate::app::TestApp;
use crate::http::{read_chunked, send, TestResponse, JSON, REQUEST_TIMEOUT};

/// Whose credentials a request carries (see [`TestApp::request_as`]).
#[derive(Clone, Copy, Debug)]
pub enum Credentials<'a> {
    /// The harness's all-scopes key, if the app has one (what [`TestApp::request`] sends).
    Default,
    /// None at all: an anonymous caller.
    None,
    /// `Authorization: Bearer <key>`.
    Key(&'a str),
    /// `Authorization: Bearer <the admin token>`.
    Admin,
}

impl TestApp {
    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// `GET path` with the default key.
    pub fn get(&self, path: &str) -> TestResponse {
        self.request("GET", path, &[], Vec::new())
    }

    /// `POST path` with a body of `content_type`, with the default key.
    pub fn post(&self, path: &str, content_type: &str, body: impl Into<Vec<u8>>) -> TestResponse {
        self.request("POST", path, &[("content-type", content_type)], body)
    }

    /// `PUT path` with a body of `content_type`, with the default key.
    pub fn put(&self, path: &str, content_type: &str, body: impl Into<Vec<u8>>) -> TestResponse {
        self.request("PUT", path, &[("content-type", content_type)], body)
    }

    /// `GET path`, asserting `200` and a JSON body; returns the body.
    pub fn get_json(&self, path: &str) -> Value {
        let response = self.get(path);
        assert_eq!(response.status, 200, "GET {path}: {}", response.text());
        assert_eq!(response.header("content-type"), Some(JSON), "GET {path}");
        response.json()
    }

    /// Sends `body` as `application/json`, unless `headers` name another content-type.
    pub fn send_json(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> TestResponse {
        let mut all = Vec::with_capacity(headers.len() + 1);
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        {
            all.push(("content-type", JSON));
        }
        all.extend_from_slice(headers);
        self.request(method, path, &all, body.to_string())
    }

    /// `POST path` with a JSON body, with the default key.
    pub fn post_json(&self, path: &str, body: &Value) -> TestResponse {
        self.send_json("POST", path, &[], body)
    }

    /// `PUT path` with a JSON body, with the default key.
    pub fn put_json(&self, path: &str, body: &Value) -> TestResponse {
        self.send_json("PUT", path, &[], body)
    }

    /// Sends a request and reads the whole response; panics (with the server's
    /// output) if no HTTP response arrives within the request timeout. Carries
    /// the app's default key (see [`TestApp::request_as`]).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> TestResponse {
        self.request_as(Credentials::Default, method, path, headers, body)
    }

    /// Like [`TestApp::request`], but a transport failure (refused, reset,
    /// closed without a response, timed out) is an `Err` instead of a panic.
    pub fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> Result<TestResponse, String> {
        self.try_request_as(Credentials::Default, method, path, headers, body)
    }

    /// Sends a request with `credentials` as `Authorization: Bearer ...`; none is added when
    /// `headers` carry their own `authorization` or `x-api-key`.
    pub fn request_as(
        &self,
        credentials: Credentials<'_>,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> TestResponse {
        match self.try_request_as(credentials, method, path, headers, body) {
            Ok(response) => response,
            Err(e) => panic!(
                "{method} {path}: no HTTP response: {e}\nserver output:\n{}",
                self.stderr()
            ),
        }
    }

    /// `GET path` with `credentials` (see [`TestApp::request_as`]).
    pub fn get_as(&self, credentials: Credentials<'_>, path: &str) -> TestResponse {
        self.request_as(credentials, "GET", path, &[], Vec::new())
    }

    /// Like [`TestApp::request_as`], but a transport failure is an `Err`.
    pub fn try_request_as(
        &self,
        credentials: Credentials<'_>,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> Result<TestResponse, String> {
        let own = headers.iter().any(|(name, _)| {
            name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("x-api-key")
        });
        let secret = match credentials {
            _ if own => None,
            Credentials::Default => self.default_key().map(|(_, key)| key),
            Credentials::None => None,
            Credentials::Key(key) => Some(key),
            Credentials::Admin => Some(self.admin_token()),
        };
        let bearer = secret.map(|secret| format!("Bearer {secret}"));
        let mut all = headers.to_vec();
        if let Some(bearer) = &bearer {
            all.push(("authorization", bearer));
        }
        send(&self.agent, method, &self.url(path), &all, body.into())
    }

    /// Writes `request` as it is to a new connection (for what an HTTP client would not send:
    /// a chunked body, a `Host` of our choosing) and reads the response until the server closes
    /// the connection, so `request` should say `connection: close`. `Err` if the server closes
    /// the connection without answering.
    pub fn raw_request(&self, request: &[u8]) -> Result<TestResponse, String> {
        let address = self.base_url.trim_start_matches("http://");
        let stream = TcpStream::connect(address).expect("connect to the app");
        stream.set_read_timeout(Some(REQUEST_TIMEOUT)).ok();
        // Written while the answer is read: the server may answer (e.g. 413) before it has read
        // all of a large body, and stop reading.
        let mut writer = stream.try_clone().expect("clone the connection");
        let request = request.to_vec();
        let writing = thread::spawn(move || {
            let _ = writer.write_all(&request);
        });
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        let read = reader.read_line(&mut status_line);
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok());
        let Some(status) = status else {
            // Unblocks the writer if the server stopped reading.
            let _ = reader.get_ref().shutdown(Shutdown::Both);
            let _ = writing.join();
            return Err(format!("no HTTP status line ({read:?}): {status_line:?}"));
        };
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim_end().is_empty() {
                break;
            }
            if let Some((name, value)) = line.trim_end().split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let chunked = headers
            .iter()
            .any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"));
        let body = if chunked {
            read_chunked(&mut reader)
        } else {
            let mut body = Vec::new();
            let _ = reader.read_to_end(&mut body);
            body
        };
        let _ = reader.get_ref().shutdown(Shutdown::Both);
        let _ = writing.join();
        Ok(TestResponse {
            status,
            headers,
            body,
        })
    }
}
