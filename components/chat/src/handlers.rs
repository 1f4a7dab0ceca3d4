//! One function per endpoint: validate with the domain modules, read or write through the store
//! (every write and its events in one transaction), then forward the outbox (see service-kit's
//! `outbox::forwarder`) and answer.

use serde_json::Value;
use service_kit::api::json_response;
use service_kit::outbox::forwarder::{self, Lease};
use service_kit::request::{header, parse_json, read_body};
use service_kit::{clock, db, ids, outbox, paging, ApiError, ApiResult};
use spin_sdk::http::{IncomingRequest, Method, Response};

use crate::contract;
use crate::conversation::{self, Conversation};
use crate::error::ChatError;
use crate::events::{self, MESSAGES_TOPIC};
use crate::listing::{parse_conversation_query, parse_message_query};
use crate::message::{self, Message};
use crate::route::{self, Resource};
use crate::store;
use crate::wire::{ConversationPage, MessagePage};
use service_kit::idempotency::SavedResult;
use service_kit::idempotency::{self, REPLAYED_HEADER};

pub const SERVICE: &str = "chat";
/// Largest request body accepted: a message is at most 4,000 characters (16 KB of UTF-8).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub async fn serve(path: &str, query: &str, request: IncomingRequest) -> ApiResult<Response> {
    let resource = route::resource(path)?;
    match (resource, request.method()) {
        (Resource::Conversations, Method::Post) => {
            let body = json_body(request).await?;
            create_conversation(body)
        }
        (Resource::Conversations, Method::Get) => list_conversations(query),
        (Resource::Conversation(id), Method::Get) => get_conversation(id),
        (Resource::Messages(id), Method::Post) => {
            let key = header(&request, idempotency::HEADER);
            let body = json_body(request).await?;
            send_message(id, key.as_deref(), body).await
        }
        (Resource::Messages(id), Method::Get) => list_messages(id, query),
        (Resource::Outbox, Method::Get) => {
            outbox::status_endpoint(&store::open()?, store::SCHEMA_PARTS)
        }
        (Resource::OutboxFlush, Method::Post) => {
            outbox::flush_endpoint(&store::open()?, store::SCHEMA_PARTS).await
        }
        (Resource::Health, Method::Get) => Ok(contract::health()),
        (Resource::OpenApi, Method::Get) => Ok(contract::openapi()),
        (resource, method) => Err(ApiError::method_not_allowed(
            &method.to_string(),
            resource.allowed_methods(),
        )),
    }
}

/// Reads a JSON body (at most 64 KiB).
async fn json_body(request: IncomingRequest) -> ApiResult<Value> {
    let content_type = header(&request, "content-type");
    let body = read_body(request, MAX_BODY_BYTES).await?;
    parse_json(content_type.as_deref(), &body)
}

fn conversation_location(id: i64) -> String {
    format!("/chat/conversations/{id}")
}

/// The conversation a path segment names, checked for shape before any lookup.
fn parse_conversation_id(segment: &str) -> Result<i64, ApiError> {
    ids::positive_id(segment).ok_or_else(|| {
        ApiError::not_found(format!(
            "no conversation {segment:?}: conversation ids are positive integers"
        ))
    })
}

fn not_found(id: i64) -> ChatError {
    ChatError::ConversationNotFound(id.to_string())
}

/// `POST /chat/conversations`: starts a conversation (201 + Location).
pub fn create_conversation(body: Value) -> ApiResult<Response> {
    let new = conversation::parse_new_conversation(body)?;
    let conn = store::open()?;
    let created = store::with_schema(&conn, |conn| {
        db::transaction(conn, |conn| {
            store::insert_conversation(conn, &new, clock::now_millis())
        })
    })?;
    let mut response = json_response(201, &created.view());
    response.set_header("location", conversation_location(created.id));
    Ok(response)
}

/// `GET /chat/conversations/{id}`.
pub fn get_conversation(segment: &str) -> ApiResult<Response> {
    let id = parse_conversation_id(segment)?;
    let conn = store::open()?;
    let found = store::with_schema(&conn, |conn| store::conversation(conn, id))?
        .ok_or_else(|| not_found(id))?;
    Ok(json_response(200, &found.view()))
}

/// `GET /chat/conversations?member=&limit=&cursor=`: most recently active first, one page.
pub fn list_conversations(query: &str) -> ApiResult<Response> {
    let mut query = parse_conversation_query(query)?;
    let limit = query.limit;
    // One more than asked tells whether there is a next page.
    query.limit += 1;
    let conn = store::open()?;
    let found = store::with_schema(&conn, |conn| store::conversations_of(conn, &query))?;
    let (found, next_cursor) = paging::paginate(found, limit, |c| c.activity);
    let page = ConversationPage {
        conversations: found.iter().map(Conversation::view).collect(),
        next_cursor,
    };
    Ok(json_response(200, &page))
}

/// What `POST .../messages` did: sent a message, or found the first result of its Idempotency-Key.
enum Sent {
    /// `forwarder`: the lease, if this request forwards the outbox.
    New {
        body: String,
        forwarder: Option<Lease>,
    },
    Replayed(SavedResult),
}

/// `POST /chat/conversations/{id}/messages`: appends a message with the conversation's next `seq`
/// (201). Only members may send (422). With an `Idempotency-Key`, a retry returns the first
/// message and sends nothing.
pub async fn send_message(segment: &str, key: Option<&str>, body: Value) -> ApiResult<Response> {
    let id = parse_conversation_id(segment)?;
    let new = message::parse_new_message(body)?;
    let key = key.map(idempotency::parse_key).transpose()?;
    let fingerprint = key.as_ref().map(|_| idempotency::fingerprint(&new));
    let conn = store::open()?;
    let sent = store::with_schema(&conn, |conn| {
        db::transaction(conn, |conn| {
            let conversation = store::conversation(conn, id)?.ok_or_else(|| not_found(id))?;
            if let (Some(key), Some(fingerprint)) = (&key, &fingerprint) {
                if let Some(saved) = store::KEYS.find(conn, db::int(id), key)? {
                    if &saved.fingerprint != fingerprint {
                        return Err(ChatError::KeyReused(key.clone()).into());
                    }
                    return Ok(Sent::Replayed(saved));
                }
            }
            if !conversation.is_member(&new.sender) {
                return Err(ChatError::NotAMember {
                    sender: new.sender.clone(),
                    conversation: id,
                }
                .into());
            }
            let now = clock::now_millis();
            let message = store::append_message(conn, id, &new, now)?;
            let body = serde_json::to_string(&message.view()).map_err(ApiError::storage)?;
            if let (Some(key), Some(fingerprint)) = (&key, &fingerprint) {
                let saved = SavedResult {
                    fingerprint: fingerprint.clone(),
                    resource_id: message.seq,
                    response: body.clone(),
                };
                store::KEYS.save(conn, db::int(id), key, &saved, now)?;
            }
            outbox::enqueue(conn, MESSAGES_TOPIC, &events::message_sent(&message))?;
            let forwarder = forwarder::claim(conn, now)?;
            Ok(Sent::New { body, forwarder })
        })
    })?;
    let (body, replayed) = match sent {
        Sent::New { body, forwarder } => {
            forwarder::forward_after_response(forwarder, store::DATABASE_LABEL);
            (body, false)
        }
        Sent::Replayed(saved) => (saved.response, true),
    };
    let mut response = Response::builder()
        .status(201)
        .header("content-type", "application/json")
        .body(body)
        .build();
    if replayed {
        response.set_header(REPLAYED_HEADER, "true");
    }
    Ok(response)
}

/// `GET /chat/conversations/{id}/messages?after=&limit=`: in `seq` order, one page.
pub fn list_messages(segment: &str, query: &str) -> ApiResult<Response> {
    let id = parse_conversation_id(segment)?;
    let mut query = parse_message_query(query)?;
    let limit = query.limit;
    query.limit += 1;
    let conn = store::open()?;
    let mut found = store::with_schema(&conn, |conn| {
        store::conversation(conn, id)?.ok_or_else(|| not_found(id))?;
        store::messages(conn, id, &query)
    })?;
    let has_more = found.len() as i64 > limit;
    found.truncate(limit as usize);
    let next_after = has_more.then(|| found.last().map(|m| m.seq)).flatten();
    let page = MessagePage {
        messages: found.iter().map(Message::view).collect(),
        next_after,
    };
    Ok(json_response(200, &page))
}
