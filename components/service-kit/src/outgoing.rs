//! Sending a request through `wasi:http` directly, for callers that need what
//! `spin_sdk::http::send` does not give: request options (timeouts), and the answer of a
//! receiver that refuses before reading the whole body. `send` writes the body first and
//! reports the failed write instead of the answer; here the answer still counts.

use std::future::poll_fn;
use std::task::Poll;

use futures::SinkExt;
use spin_sdk::http::{ErrorCode, IncomingResponse, OutgoingRequest};
use spin_sdk::wit::wasi::http0_2_0::outgoing_handler;
use spin_sdk::wit::wasi::http0_2_0::types::RequestOptions;

/// What became of a request: the answer (or the error code saying why there is none; `None`
/// when the host gave neither), and whether the whole body was written.
pub struct Sent {
    pub response: Result<IncomingResponse, Option<ErrorCode>>,
    /// Why the body could not be written in full, if it could not.
    pub body_written: Result<(), String>,
}

/// Sends `request` with `body` and waits for the answer without busy polling: the executor
/// wakes the task when the host has it.
pub async fn send(
    request: OutgoingRequest,
    body: Option<Vec<u8>>,
    options: Option<RequestOptions>,
) -> Sent {
    let mut sink = request.take_body();
    let pending = match outgoing_handler::handle(request, options) {
        Ok(pending) => pending,
        Err(code) => {
            return Sent {
                response: Err(Some(code)),
                body_written: Ok(()),
            }
        }
    };
    let body_written = match body {
        Some(body) if !body.is_empty() => sink.send(body).await.map_err(|err| err.to_string()),
        _ => Ok(()),
    };
    // Dropping the sink finishes the body.
    drop(sink);
    let mut token = None;
    let answer = poll_fn(|context| match pending.get() {
        Some(result) => Poll::Ready(result),
        None => {
            token = Some(spin_executor::CancelOnDropToken::from(
                spin_executor::push_waker_and_get_token(
                    pending.subscribe(),
                    context.waker().clone(),
                ),
            ));
            Poll::Pending
        }
    })
    .await;
    drop(token);
    let response = match answer {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(code)) => Err(Some(code)),
        Err(()) => Err(None),
    };
    Sent {
        response,
        body_written,
    }
}
