//! Where a guest's stdout and stderr go: the host's stderr (as in Spin) and,
//! when a log directory is set, `<log dir>/<component>_stdout.txt` and
//! `_stderr.txt`, appended to across restarts.

use anyhow::{Context, Result};
use bytes::Bytes;
use std::io::Write;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

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

    fn write_all(&self, bytes: &[u8]) -> std::io::Result<()> {
        std::io::stderr().write_all(bytes)?;
        if let Some(file) = &self.log_file {
            (&**file).write_all(bytes)?;
        }
        Ok(())
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
        self.write_all(&bytes)
            .map_err(|e| StreamError::LastOperationFailed(wasmtime::format_err!(e)))
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
        Poll::Ready(self.write_all(buf).map(|()| buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
