//! Where a guest's stdout and stderr go: the host's stderr (as in Spin) and,
//! when a log directory is set, `<log dir>/<component>_stdout.txt` and
//! `_stderr.txt`, appended to across restarts.
//!
//! Guests write on the request path (the gateway logs every request), so a
//! write only queues its bytes; one writer thread per process empties the
//! queue every `WRITE_INTERVAL` (sooner once `WAKE_BYTES` wait), a batch at a
//! time, with one write per file and one to stderr. Order is kept, a busy
//! second costs a few hundred system calls instead of two per line, and a
//! queue grown past `MAX_QUEUED_BYTES` is written by the guest's own call
//! (back-pressure, never loss). [`flush`] empties it at shutdown.

use anyhow::{Context, Result};
use bytes::Bytes;
use std::io::Write;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::{Context as TaskContext, Poll};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// How long output may wait to be written.
const WRITE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(10);
/// Queued output that wakes the writer at once.
const WAKE_BYTES: usize = 64 * 1024;
/// Queued output beyond which writers write it themselves.
const MAX_QUEUED_BYTES: usize = 4 * 1024 * 1024;

/// One guest output stream; cheap to clone, shared by all instances.
#[derive(Clone)]
pub struct GuestOutput {
    log_file: Option<Arc<std::fs::File>>,
}

impl GuestOutput {
    /// Opens `<log_dir>/<component>_<stream>.txt` for appending, if there is a log dir.
    pub fn open(log_dir: Option<&Path>, component: &str, stream: &str) -> Result<GuestOutput> {
        let log_file = match log_dir {
            None => None,
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create log dir {}", dir.display()))?;
                let path = dir.join(format!("{component}_{stream}.txt"));
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .with_context(|| format!("cannot open {}", path.display()))?;
                Some(Arc::new(file))
            }
        };
        Ok(GuestOutput { log_file })
    }

    fn write_all(&self, bytes: Bytes) {
        queue().push(self.log_file.clone(), bytes);
    }
}

/// Writes out everything queued so far; for shutdown.
pub fn flush() {
    queue().write_batch();
}

/// Output waiting for the writer thread.
#[derive(Default)]
struct Queue {
    pending: Mutex<Pending>,
    ready: Condvar,
    /// Held while a batch is taken and written, so batches go out in order.
    writing: Mutex<()>,
    /// No writer thread could be started: every write goes out at once.
    synchronous: AtomicBool,
}

#[derive(Default)]
struct Pending {
    chunks: Vec<(Option<Arc<std::fs::File>>, Bytes)>,
    bytes: usize,
}

fn queue() -> &'static Queue {
    static QUEUE: OnceLock<&'static Queue> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let queue: &'static Queue = Box::leak(Box::default());
        let spawned = std::thread::Builder::new()
            .name("guest-output".into())
            .spawn(move || queue.run_writer());
        if let Err(err) = spawned {
            // Without the thread every write goes out at once (see `push`).
            eprintln!("guest output: no writer thread ({err}); writing synchronously");
            queue.synchronous.store(true, Ordering::Relaxed);
        }
        queue
    })
}

impl Queue {
    fn push(&self, file: Option<Arc<std::fs::File>>, bytes: Bytes) {
        let backlog = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.bytes = pending.bytes.saturating_add(bytes.len());
            pending.chunks.push((file, bytes));
            pending.bytes
        };
        if backlog > MAX_QUEUED_BYTES || self.synchronous.load(Ordering::Relaxed) {
            self.write_batch();
        } else if backlog >= WAKE_BYTES {
            self.ready.notify_one();
        }
    }

    fn run_writer(&self) {
        loop {
            {
                let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                let _ = self.ready.wait_timeout(pending, WRITE_INTERVAL);
            }
            self.write_batch();
        }
    }

    /// Takes what is queued and writes it: each file's bytes in one write, then all of it to
    /// stderr in one write (so a line seen on stderr is in its file too).
    fn write_batch(&self) {
        let _writing = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let chunks = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.bytes = 0;
            std::mem::take(&mut pending.chunks)
        };
        if chunks.is_empty() {
            return;
        }
        let mut to_stderr = Vec::new();
        let mut files: Vec<(Arc<std::fs::File>, Vec<u8>)> = Vec::new();
        for (file, bytes) in &chunks {
            to_stderr.extend_from_slice(bytes);
            if let Some(file) = file {
                match files.iter_mut().find(|(known, _)| Arc::ptr_eq(known, file)) {
                    Some((_, buffer)) => buffer.extend_from_slice(bytes),
                    None => files.push((file.clone(), bytes.to_vec())),
                }
            }
        }
        for (file, buffer) in files {
            if let Err(err) = (&*file).write_all(&buffer) {
                eprintln!("guest output: writing a log file: {err}");
            }
        }
        let _ = std::io::stderr().write_all(&to_stderr);
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.write_all(bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for GuestOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.write_all(Bytes::copy_from_slice(buf));
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
