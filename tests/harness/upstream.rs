//! The tests' own loopback servers for a component's outbound calls: [`UpstreamServer`] answers
//! (scripted statuses) and records requests; [`SilentServer`] accepts and never answers.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::http::{header_value, read_chunked, REQUEST_TIMEOUT};

/// A request received by an [`UpstreamServer`].
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// The request target as sent (normally path and query).
    pub target: String,
    /// Header names lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first value of a header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }
}

/// A loopback HTTP/1.1 server for outbound-request tests: answers every request
/// with `200` (or the next scripted status), `x-upstream: yes` and the body
/// [`UpstreamServer::BODY`], and records what it received. Stopped on drop.
pub struct UpstreamServer {
    pub port: u16,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
    _accepting: AcceptLoop,
}

impl UpstreamServer {
    pub const BODY: &'static str = "hello from upstream";

    /// A server that answers every request with `200`.
    pub fn start() -> UpstreamServer {
        UpstreamServer::with_statuses(&[])
    }

    /// A server that answers its first requests with `statuses`, in order
    /// (e.g. `[500, 500, 503]` for a subscriber that fails three times), then `200`.
    pub fn with_statuses(statuses: &[u16]) -> UpstreamServer {
        let requests = Arc::new(Mutex::new(Vec::new()));
        // Statuses still to answer, in order; `200` once empty.
        let script = Arc::new(Mutex::new(
            statuses.iter().copied().collect::<VecDeque<u16>>(),
        ));
        let accepting = {
            let requests = Arc::clone(&requests);
            AcceptLoop::start("upstream server", move |stream| {
                let requests = Arc::clone(&requests);
                let script = Arc::clone(&script);
                thread::spawn(move || serve_upstream_connection(stream, &requests, &script));
            })
        };
        UpstreamServer {
            port: accepting.port,
            requests,
            _accepting: accepting,
        }
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests
            .lock()
            .expect("upstream requests lock")
            .clone()
    }
}

/// A loopback server that accepts connections and never answers on them: a dependency that
/// hangs (a Redis behind a dead network, say). Stops when dropped.
pub struct SilentServer {
    pub port: u16,
    _accepting: AcceptLoop,
}

impl SilentServer {
    /// Starts accepting on a free loopback port.
    pub fn start() -> SilentServer {
        // Held open, unread, until the server stops.
        let mut held = Vec::new();
        let accepting = AcceptLoop::start("silent server", move |stream| held.push(stream));
        SilentServer {
            port: accepting.port,
            _accepting: accepting,
        }
    }
}

/// A loopback listener on a free port whose connections go to a handler on the listener's own
/// thread, until it is dropped.
struct AcceptLoop {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl AcceptLoop {
    fn start(what: &str, mut handle: impl FnMut(TcpStream) + Send + 'static) -> AcceptLoop {
        let listener =
            TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind {what}: {e}"));
        let port = listener.local_addr().expect("listener address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        handle(stream);
                    }
                }
            })
        };
        AcceptLoop {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for AcceptLoop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve_upstream_connection(
    stream: TcpStream,
    requests: &Mutex<Vec<RecordedRequest>>,
    script: &Mutex<VecDeque<u16>>,
) {
    let _ = stream.set_read_timeout(Some(REQUEST_TIMEOUT));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut writer = stream;
    // Keep-alive: serve requests until the client closes the connection.
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let header = |name: &str| header_value(&headers, name).map(str::to_owned);
        let body = if header("transfer-encoding").is_some_and(|te| te.contains("chunked")) {
            read_chunked(&mut reader)
        } else {
            let length: usize = header("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            body
        };
        // Record and pick the status under one lock, so concurrent requests
        // consume the script in the order they are recorded.
        let status = {
            let mut requests = requests.lock().expect("upstream requests lock");
            requests.push(RecordedRequest {
                method,
                target,
                headers,
                body,
            });
            script
                .lock()
                .expect("upstream script lock")
                .pop_front()
                .unwrap_or(200)
        };
        let response = format!(
            "HTTP/1.1 {status} Scripted\r\ncontent-type: text/plain\r\nx-upstream: yes\r\ncontent-length: {}\r\n\r\n{}",
            UpstreamServer::BODY.len(),
            UpstreamServer::BODY
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}
