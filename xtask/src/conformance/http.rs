//! Just enough HTTP for setting up the conformance run: one request per connection, in
//! HTTP/1.0, so that the answer is never chunked and ends when the server closes.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    time::Duration,
};

use anyhow::{Context, Result};

pub struct Response {
    pub status: u16,
    pub body: String,
}

/// Sends `method path` with `headers` and an optional JSON body.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    json: Option<&str>,
) -> Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .with_context(|| format!("could not connect to {addr}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = json.unwrap_or_default();
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if json.is_some() {
        head.push_str("Content-Type: application/json\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .with_context(|| format!("reading the answer to {method} {path}"))?;
    parse(&String::from_utf8_lossy(&raw))
        .with_context(|| format!("a malformed answer to {method} {path}"))
}

fn parse(raw: &str) -> Option<Response> {
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some(Response {
        status,
        body: body.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn answers_split_into_status_and_body() {
        let response =
            parse("HTTP/1.0 201 Created\r\ncontent-type: application/json\r\n\r\n{}").unwrap();
        assert_eq!((response.status, response.body.as_str()), (201, "{}"));
        assert!(parse("HTTP/1.0 201").is_none());
    }
}
