//! Pushing one event to a subscriber: `POST <endpoint>` in CloudEvents structured mode, with
//! connect and response timeouts so a hung subscriber cannot hold a delivery (and its lease) for
//! long. `spin_sdk::http::send` sets no timeouts, so this sends through `wasi:http` directly.

use spin_sdk::http::Method;
use spin_sdk::wit::wasi::http0_2_0::types::RequestOptions;

use crate::store::Outgoing;

const CONNECT_TIMEOUT_NS: u64 = 2_000_000_000;
/// Time the subscriber has to answer (its processing included).
const RESPONSE_TIMEOUT_NS: u64 = 5_000_000_000;

/// Delivers `event`; `Ok` on any 2xx, else what went wrong (kept as the cursor's `last_error`).
/// One event per request, so its `requestid` is the request's `x-request-id`: the subscriber's
/// own calls then carry on the id of the request that caused the event.
pub async fn push(endpoint: &str, event: &Outgoing) -> Result<(), String> {
    let length = event.json.len().to_string();
    let (id, event_type) = (header_value(&event.id), header_value(&event.event_type));
    let request_id = crate::domain::request_id_of(&event.json);
    let mut headers: Vec<(&str, &[u8])> = vec![
        (
            "content-type",
            service_kit::cloudevent::CONTENT_TYPE.as_bytes(),
        ),
        ("content-length", length.as_bytes()),
        ("ce-id", id.as_bytes()),
        ("ce-type", event_type.as_bytes()),
    ];
    if let Some(request_id) = &request_id {
        headers.push((service_kit::trace::HEADER, request_id.as_bytes()));
    }
    let request = service_kit::outgoing::request(&Method::Post, endpoint, &headers)
        .map_err(|err| format!("invalid request to {endpoint}: {err}"))?;
    let body = Some(event.json.as_bytes().to_vec());
    let options = RequestOptions::new();
    // A host that does not support a timeout just ignores it (the error is only "unsupported").
    let _ = options.set_connect_timeout(Some(CONNECT_TIMEOUT_NS));
    let _ = options.set_first_byte_timeout(Some(RESPONSE_TIMEOUT_NS));
    let _ = options.set_between_bytes_timeout(Some(RESPONSE_TIMEOUT_NS));
    let sent = service_kit::outgoing::send(request, body, Some(options)).await;
    let response = match sent.response {
        Ok(response) => response,
        Err(Some(code)) => return Err(format!("{endpoint}: {}", describe(&code))),
        Err(None) => return Err(format!("{endpoint}: no response")),
    };
    if let Err(err) = sent.body_written {
        return Err(format!("sending to {endpoint}: {err}"));
    }
    let status = response.status();
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(format!("{endpoint} answered {status}"))
    }
}

/// A CloudEvents attribute as an HTTP header value: percent-encoded outside printable ASCII,
/// and for space, `"` and `%` (the CloudEvents HTTP binding's rule).
pub fn header_value(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_graphic() && byte != b'"' && byte != b'%' {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

fn describe(code: &spin_sdk::http::ErrorCode) -> String {
    use spin_sdk::http::ErrorCode;
    match code {
        ErrorCode::HttpRequestDenied => {
            "request denied: the endpoint's host is not in allowed_outbound_hosts (subscriber_hosts)".into()
        }
        ErrorCode::ConnectionRefused => "connection refused".into(),
        ErrorCode::ConnectionTimeout => "connect timed out".into(),
        ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout => "no answer in time".into(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::header_value;

    #[test]
    fn header_values_are_percent_encoded_where_needed() {
        assert_eq!(
            header_value("support.ticket.opened"),
            "support.ticket.opened"
        );
        assert_eq!(header_value("a b\"%é\n"), "a%20b%22%25%C3%A9%0A");
    }
}
