//! Writing a `Reply` out as the HTTP answer, through Spin's `wasi:http` response.

use futures::SinkExt;
use spin_sdk::http::{Fields, OutgoingResponse, ResponseOutparam};

use crate::reply::Reply;

/// Writes the whole reply and finishes its body; a `HEAD` gets the headers only.
pub async fn send(out: ResponseOutparam, reply: Reply, head_only: bool) {
    let mut headers = reply.headers;
    let body = if head_only { Vec::new() } else { reply.body };
    if !head_only && reply.status != 204 && reply.status != 304 {
        headers.push(("content-length".into(), body.len().to_string().into_bytes()));
    }
    let fields = Fields::from_list(&headers).unwrap_or_else(|err| {
        eprintln!("edge: response headers refused ({err:?}); sending the body without them");
        Fields::new()
    });
    let response = OutgoingResponse::new(fields);
    if response.set_status_code(reply.status).is_err() {
        eprintln!("edge: status {} refused", reply.status);
    }
    let mut sink = response.take_body();
    out.set(response);
    if !body.is_empty() {
        if let Err(err) = sink.send(body).await {
            eprintln!("edge: could not send the response body: {err}");
        }
    }
    // Dropping the sink finishes the body.
}
