//! A throwaway `redis-server` for the Redis key-value tests.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::app::free_port;
use crate::wait::poll;

/// The pause between two PINGs while the server starts.
const PING_INTERVAL: Duration = Duration::from_millis(50);

/// A throwaway `redis-server` on a free loopback port, no persistence. Killed
/// on drop. Panics with an install hint if `redis-server` is not installed.
pub struct RedisServer {
    pub port: u16,
    child: Child,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        let port = free_port();
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run redis-server ({e}): the Redis key-value tests need it \
                     installed (e.g. `apt-get install redis-server`)"
                )
            });
        let ready = poll(Duration::from_secs(10), PING_INTERVAL, || {
            if redis_answers_ping(port) {
                return Some(Ok(()));
            }
            child.try_wait().ok().flatten().map(Err)
        });
        match ready {
            Some(Ok(())) => RedisServer { port, child },
            Some(Err(status)) => {
                panic!("redis-server exited on startup ({status}); port {port} taken?")
            }
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("redis-server did not answer PING on port {port} within 10 s");
            }
        }
    }

    /// `redis://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Runs one command (inline protocol) and returns the raw reply line(s).
    pub fn command(&self, command: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis");
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
        stream
            .write_all(format!("{command}\r\n").as_bytes())
            .expect("send to redis");
        let _ = stream.shutdown(Shutdown::Write);
        let mut reply = String::new();
        let _ = stream.read_to_string(&mut reply);
        reply
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn redis_answers_ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok();
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}
