//! Publish bodies: one CloudEvent or a batch, checked and stamped with the request id.

use serde_json::value::RawValue;
use serde_json::Value;
use service_kit::trace;
use service_kit::{ApiError, CloudEvent};

use super::{MAX_BATCH, MAX_EVENT_BYTES};

/// One event ready to append: its id, type and canonical JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub id: String,
    pub event_type: String,
    pub json: String,
}

/// Parses a publish body: one CloudEvent or an array of at most [`MAX_BATCH`]. Every event is
/// checked; the first invalid one refuses the whole request, named by its index. Events without a
/// `requestid` get `request_id` (the publish request's `x-request-id`), so the ones a client
/// publishes directly can be followed like those the services publish.
pub fn parse_publish(body: &[u8], request_id: Option<&str>) -> Result<Vec<NewEvent>, ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let items: Vec<&RawValue> = match first {
        None => {
            return Err(ApiError::bad_request(
                "request body is empty: send a CloudEvent or an array of them",
            ))
        }
        Some(b'[') => serde_json::from_slice(body)
            .map_err(|err| ApiError::bad_request(format!("invalid JSON body: {err}")))?,
        Some(_) => vec![serde_json::from_slice(body)
            .map_err(|err| ApiError::bad_request(format!("invalid JSON body: {err}")))?],
    };
    if items.is_empty() {
        return Err(ApiError::bad_request("the array holds no events"));
    }
    if items.len() > MAX_BATCH {
        return Err(ApiError::too_large(format!(
            "too many events: {} in one request, at most {MAX_BATCH}",
            items.len()
        )));
    }
    let single = first != Some(&b'[');
    items
        .into_iter()
        .enumerate()
        .map(|(index, raw)| {
            let name = if single {
                "event".to_owned()
            } else {
                format!("event at index {index}")
            };
            parse_event(raw, request_id)
                .map_err(|problem| ApiError::bad_request(format!("{name}: {problem}")))
        })
        .collect()
}

fn parse_event(raw: &RawValue, request_id: Option<&str>) -> Result<NewEvent, String> {
    let mut event: CloudEvent =
        serde_json::from_str(raw.get()).map_err(|err| format!("not a CloudEvent: {err}"))?;
    event.validate()?;
    if let Some(id) = request_id {
        stamp_request_id(&mut event, id);
    }
    let json = serde_json::to_string(&event).map_err(|err| err.to_string())?;
    if json.len() > MAX_EVENT_BYTES {
        return Err(format!("larger than {MAX_EVENT_BYTES} bytes"));
    }
    Ok(NewEvent {
        id: event.id,
        event_type: event.event_type,
        json,
    })
}

/// Gives `event` the `requestid` attribute unless it has one (null counts as absent, as in
/// CloudEvents' JSON format): an id set by the event's producer is closer to the cause.
fn stamp_request_id(event: &mut CloudEvent, id: &str) {
    let slot = event
        .extensions
        .entry(trace::ATTRIBUTE)
        .or_insert(Value::Null);
    if slot.is_null() {
        *slot = Value::String(id.to_owned());
    }
}

/// The `requestid` of a stored event, when it is an id `x-request-id` may carry (a producer may
/// have put anything there; only valid ids travel on as a header).
pub fn request_id_of(event_json: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Traced {
        requestid: Option<Value>,
    }
    let traced: Traced = serde_json::from_str(event_json).ok()?;
    traced.requestid?.as_str().and_then(trace::parse)
}
