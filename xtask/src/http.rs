//! Just enough HTTP/1.1 for the benchmark: a client for its set-up and checks (not for load),
//! and [`read_message`], which the client and the latency benchmark's subscriber share.

use std::{
    io::{BufRead, Read, Write},
    net::{SocketAddr, TcpStream},
    time::Duration,
};

use anyhow::{bail, Context, Result};

pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn get(addr: SocketAddr, path: &str) -> Result<Response> {
    request(addr, "GET", path, None)
}

/// Like [`request_as`], but an answer other than 2xx is an error naming the status and body.
pub fn request_ok_as(
    addr: SocketAddr,
    key: Option<&str>,
    method: &str,
    path: &str,
    json: Option<&[u8]>,
) -> Result<Response> {
    let response = request_as(addr, key, method, path, json)?;
    if !response.is_success() {
        bail!(
            "{method} {path} answered {}: {}",
            response.status,
            response.body_text()
        );
    }
    Ok(response)
}

/// A `GET` that asks the gateway for the service's own answer, not a cached one.
pub fn get_fresh(addr: SocketAddr, path: &str) -> Result<Response> {
    send(addr, None, "GET", path, None, &["Cache-Control: no-cache"])
}

/// An anonymous [`request_as`].
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    json: Option<&[u8]>,
) -> Result<Response> {
    request_as(addr, None, method, path, json)
}

/// Sends one request on a fresh connection, with the gateway API `key` if given; `json` is sent
/// as an `application/json` body.
pub fn request_as(
    addr: SocketAddr,
    key: Option<&str>,
    method: &str,
    path: &str,
    json: Option<&[u8]>,
) -> Result<Response> {
    send(addr, key, method, path, json, &[])
}

fn send(
    addr: SocketAddr,
    key: Option<&str>,
    method: &str,
    path: &str,
    json: Option<&[u8]>,
    extra_headers: &[&str],
) -> Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .with_context(|| format!("could not connect to {addr}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let body = json.unwrap_or_default();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if json.is_some() {
        head.push_str("Content-Type: application/json\r\n");
    }
    if let Some(key) = key {
        head.push_str(&format!("Authorization: Bearer {key}\r\n"));
    }
    for header in extra_headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .with_context(|| format!("reading the response to {method} {path}"))?;
    parse_response(&raw).with_context(|| format!("bad response to {method} {path}"))
}

fn parse_response(mut raw: &[u8]) -> Result<Response> {
    let message = read_message(&mut raw, true)?.context("empty response")?;
    let status = message
        .start_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("bad status line `{}`", message.start_line))?;
    Ok(Response {
        status,
        body: message.body,
    })
}

/// One HTTP/1.1 message: its first line (request or status line) and its body.
pub struct Message {
    pub start_line: String,
    pub body: Vec<u8>,
}

/// Reads one message from `reader`: the body as framed by `Transfer-Encoding: chunked` or
/// `Content-Length`, else everything up to the end of the input if `until_close` (a response
/// on a closing connection) or none (a request). `None` if the input ends before a first line.
pub fn read_message(reader: &mut impl BufRead, until_close: bool) -> Result<Option<Message>> {
    let mut start_line = String::new();
    if reader.read_line(&mut start_line)? == 0 {
        return Ok(None);
    }
    let mut chunked = false;
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            bail!("the input ends inside the headers");
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().context("bad Content-Length")?);
        }
    }
    let mut body = Vec::new();
    match (chunked, length) {
        (true, _) => body = read_chunked(reader)?,
        (false, Some(length)) => {
            body.resize(length, 0);
            reader
                .read_exact(&mut body)
                .context("body shorter than Content-Length")?;
        }
        (false, None) if until_close => {
            reader.read_to_end(&mut body)?;
        }
        (false, None) => {}
    }
    Ok(Some(Message {
        start_line: start_line.trim_end().to_owned(),
        body,
    }))
}

/// A chunked body; chunk extensions and trailers are skipped.
fn read_chunked(reader: &mut impl BufRead) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        if reader.read_line(&mut size_line)? == 0 {
            bail!("unterminated chunked body");
        }
        let size_hex = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .with_context(|| format!("bad chunk size `{size_hex}`"))?;
        if size == 0 {
            // Trailers, up to an empty line or the end of the input.
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).context("truncated chunk")?;
        chunk.truncate(size);
        body.extend(chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_chunked_body() {
        let raw = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
                    3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let response = parse_response(raw).unwrap();
        assert_eq!(
            (response.status, response.body.as_slice()),
            (200, &b"abcde"[..])
        );
    }

    #[test]
    fn reads_a_body_of_content_length() {
        let response =
            parse_response(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno").unwrap();
        assert_eq!(
            (response.status, response.body.as_slice()),
            (404, &b"no"[..])
        );
    }

    #[test]
    fn reads_requests_one_after_another_on_a_connection() {
        let mut raw = &b"POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n\
                        5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n\
                        POST /b HTTP/1.1\r\ncontent-length: 2\r\n\r\nhi\
                        GET /c HTTP/1.1\r\n\r\n"[..];
        let mut next = || read_message(&mut raw, false).unwrap();
        let first = next().unwrap();
        assert_eq!(
            (first.start_line.as_str(), first.body.as_slice()),
            ("POST /a HTTP/1.1", &b"hello world"[..])
        );
        assert_eq!(next().unwrap().body, b"hi");
        assert_eq!(next().unwrap().body, b"");
        assert!(next().is_none());
    }
}
