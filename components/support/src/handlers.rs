//! One function per endpoint: validate with the domain modules, read or write through the store
//! (every write and its events in one transaction), then forward the outbox (see service-kit's `outbox::forwarder`)
//! and answer.

use serde_json::Value;
use service_kit::api::json_response;
use service_kit::contract::sqlite_health;
use service_kit::outbox::forwarder::{self, Lease};
use service_kit::request::{header, media_type, parse_json, read_body};
use service_kit::{clock, db, ids, outbox, ApiError, ApiResult};
use spin_sdk::http::Response;
use spin_sdk::http::{IncomingRequest, Method};

use crate::contract;
use crate::customer::{self, Customer};
use crate::error::SupportError;
use crate::events::{self, CUSTOMERS_TOPIC, TICKETS_TOPIC};
use crate::listing::{encode_cursor, parse_list_query};
use crate::precondition::{self, etag};
use crate::route::{self, Resource};
use crate::store;
use crate::ticket::{self, Ticket};
use crate::wire::{CustomerDetailView, TicketPage};
use service_kit::idempotency::SavedResult;
use service_kit::idempotency::{self, REPLAYED_HEADER};

pub const SERVICE: &str = "support";
/// Largest request body accepted.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How many of a customer's newest tickets its representation shows.
const RECENT_TICKETS: i64 = 5;

pub async fn serve(path: &str, query: &str, request: IncomingRequest) -> ApiResult<Response> {
    let resource = route::resource(path)?;
    let conditions = Conditions {
        if_match: header(&request, "if-match"),
        if_none_match: header(&request, "if-none-match"),
        idempotency_key: header(&request, idempotency::HEADER),
    };
    match (resource, request.method()) {
        (Resource::Customer(id), Method::Get) => get_customer(id),
        (Resource::Customer(id), Method::Put) => {
            let body = json_body(request, false).await?;
            put_customer(id, &conditions, body).await
        }
        (Resource::CustomerTickets(id), Method::Post) => {
            let body = json_body(request, false).await?;
            create_ticket(id, &conditions, body).await
        }
        (Resource::Tickets, Method::Get) => list_tickets(query),
        (Resource::Ticket(id), Method::Get) => get_ticket(id, &conditions),
        (Resource::Ticket(id), Method::Patch) => {
            let body = json_body(request, true).await?;
            patch_ticket(id, &conditions, body).await
        }
        (Resource::Outbox, Method::Get) => {
            outbox::status_endpoint(&store::open()?, store::SCHEMA_PARTS)
        }
        (Resource::OutboxFlush, Method::Post) => {
            outbox::flush_endpoint(&store::open()?, store::SCHEMA_PARTS).await
        }
        (Resource::Health, Method::Get) => Ok(sqlite_health(SERVICE, store::DATABASE_LABEL)),
        (Resource::OpenApi, Method::Get) => {
            Ok(service_kit::embedded_document::response(contract::DOCUMENT))
        }
        (resource, method) => Err(ApiError::method_not_allowed(
            &method.to_string(),
            resource.allowed_methods(),
        )),
    }
}

/// Reads a JSON body (at most 1 MiB). A patch may also be `application/merge-patch+json`; other
/// JSON flavours (`+json`) are refused there, since only a merge patch means what we do with it.
async fn json_body(request: IncomingRequest, merge_patch: bool) -> ApiResult<Value> {
    let content_type = header(&request, "content-type");
    if merge_patch {
        if let Some(content_type) = &content_type {
            let essence = media_type(content_type);
            if essence != "application/json" && essence != "application/merge-patch+json" {
                return Err(ApiError::unsupported_media_type(format!(
                    "unsupported content-type {content_type:?}: send application/json or application/merge-patch+json"
                )));
            }
        }
    }
    let body = read_body(request, MAX_BODY_BYTES).await?;
    parse_json(content_type.as_deref(), &body)
}

/// The request headers the endpoints look at.
#[derive(Debug, Default, Clone)]
pub struct Conditions {
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    pub idempotency_key: Option<String>,
}

fn with_etag(mut response: Response, version: i64) -> Response {
    response.set_header("etag", etag(version));
    response
}

fn customer_location(id: &str) -> String {
    format!("/support/customers/{id}")
}

fn ticket_location(id: i64) -> String {
    format!("/support/tickets/{id}")
}

/// `PUT /support/customers/{id}`: create (201) or update (200); an identical PUT changes nothing.
pub async fn put_customer(id: &str, conditions: &Conditions, body: Value) -> ApiResult<Response> {
    let id = customer::parse_customer_id(id)?;
    let details = customer::parse_details(body)?;
    let what = format!("customer {id:?}");
    let conn = store::open()?;
    let (status, customer, forwarder) = store::with_schema(&conn, |conn| {
        db::transaction(conn, |conn| {
            let existing = store::customer(conn, &id)?;
            precondition::check_write(
                &what,
                existing.as_ref().map(|c| c.version),
                conditions.if_match.as_deref(),
                conditions.if_none_match.as_deref(),
            )?;
            let now = clock::now_millis();
            let (status, customer) = match existing {
                None => {
                    let customer = Customer::new(&id, details.clone(), now);
                    store::insert_customer(conn, &customer)?;
                    (201, customer)
                }
                Some(current) => match current.updated(details.clone(), now) {
                    None => return Ok((200, current, None)),
                    Some(updated) => {
                        store::update_customer(conn, &updated)?;
                        (200, updated)
                    }
                },
            };
            let event = events::customer_upserted(&customer);
            outbox::enqueue(conn, CUSTOMERS_TOPIC, &event)?;
            Ok((status, customer, forwarder::claim(conn, now)?))
        })
    })?;
    forwarder::forward_after_response(forwarder, store::DATABASE_LABEL);
    let mut response = with_etag(json_response(status, &customer.view()), customer.version);
    if status == 201 {
        response.set_header("location", customer_location(&customer.id));
    }
    Ok(response)
}

/// `GET /support/customers/{id}`: the details, the open-ticket count and the newest tickets.
///
/// The ETag is the customer's version (what `If-Match` on PUT compares). The embedded ticket
/// figures change without it, so this answer is never 304.
pub fn get_customer(id: &str) -> ApiResult<Response> {
    let not_found = || SupportError::CustomerNotFound(id.to_owned());
    if !customer::valid_customer_id(id) {
        return Err(not_found().into());
    }
    let conn = store::open()?;
    let (customer, open_tickets, recent) = store::with_schema(&conn, |conn| {
        let (customer, open_tickets) =
            store::customer_with_open_count(conn, id)?.ok_or_else(not_found)?;
        let recent = store::recent_tickets(conn, id, RECENT_TICKETS)?;
        Ok((customer, open_tickets, recent))
    })?;
    let view = CustomerDetailView {
        customer: customer.view(),
        open_tickets,
        recent_tickets: recent.iter().map(Ticket::summary).collect(),
    };
    Ok(with_etag(json_response(200, &view), customer.version))
}

/// What `POST .../tickets` did: created a ticket, or found the first result of its Idempotency-Key.
enum Created {
    /// `forwarder`: the lease, if this request forwards the outbox.
    New {
        id: i64,
        body: String,
        forwarder: Option<Lease>,
    },
    Replayed(SavedResult),
}

/// `POST /support/customers/{id}/tickets`: opens a ticket (201 + Location). With an
/// `Idempotency-Key`, a retry returns the first result and creates nothing.
pub async fn create_ticket(
    customer_id: &str,
    conditions: &Conditions,
    body: Value,
) -> ApiResult<Response> {
    if !customer::valid_customer_id(customer_id) {
        return Err(SupportError::CustomerNotFound(customer_id.to_owned()).into());
    }
    let new = ticket::parse_new_ticket(body)?;
    let key = conditions
        .idempotency_key
        .as_deref()
        .map(idempotency::parse_key)
        .transpose()?;
    let fingerprint = key.as_ref().map(|_| idempotency::fingerprint(&new));
    let conn = store::open()?;
    let created = store::with_schema(&conn, |conn| {
        db::transaction(conn, |conn| {
            if let (Some(key), Some(fingerprint)) = (&key, &fingerprint) {
                if let Some(saved) = store::KEYS.find(conn, db::text(customer_id), key)? {
                    if &saved.fingerprint != fingerprint {
                        return Err(SupportError::KeyReused(key.clone()).into());
                    }
                    return Ok(Created::Replayed(saved));
                }
            }
            let now = clock::now_millis();
            let id = store::insert_ticket(conn, customer_id, &new, now)?
                .ok_or_else(|| SupportError::CustomerNotFound(customer_id.to_owned()))?;
            let ticket = Ticket::opened(id, customer_id, new.clone(), now);
            let body = serde_json::to_string(&ticket.view()).map_err(ApiError::storage)?;
            if let (Some(key), Some(fingerprint)) = (&key, &fingerprint) {
                let saved = SavedResult {
                    fingerprint: fingerprint.clone(),
                    resource_id: id,
                    response: body.clone(),
                };
                store::KEYS.save(conn, db::text(customer_id), key, &saved, now)?;
            }
            let event = events::ticket_opened(&ticket);
            outbox::enqueue(conn, TICKETS_TOPIC, &event)?;
            let forwarder = forwarder::claim(conn, now)?;
            Ok(Created::New {
                id,
                body,
                forwarder,
            })
        })
    })?;
    let (id, body, replayed) = match created {
        Created::New {
            id,
            body,
            forwarder,
        } => {
            forwarder::forward_after_response(forwarder, store::DATABASE_LABEL);
            (id, body, false)
        }
        Created::Replayed(saved) => (saved.resource_id, saved.response, true),
    };
    let mut response = Response::builder()
        .status(201)
        .header("content-type", "application/json")
        .header("location", ticket_location(id))
        // A ticket is created at version 1.
        .header("etag", etag(1))
        .body(body)
        .build();
    if replayed {
        response.set_header(REPLAYED_HEADER, "true");
    }
    Ok(response)
}

/// `GET /support/tickets/{id}`; 304 when `If-None-Match` names its current version.
pub fn get_ticket(segment: &str, conditions: &Conditions) -> ApiResult<Response> {
    let id = ids::positive_id(segment).ok_or_else(|| ticket_not_found(segment))?;
    let conn = store::open()?;
    let ticket = store::with_schema(&conn, |conn| store::ticket(conn, id))?
        .ok_or(SupportError::TicketNotFound(id))?;
    if precondition::not_modified(ticket.version, conditions.if_none_match.as_deref()) {
        let response = Response::builder().status(304).body(Vec::new()).build();
        return Ok(with_etag(response, ticket.version));
    }
    Ok(with_etag(
        json_response(200, &ticket.view()),
        ticket.version,
    ))
}

fn ticket_not_found(segment: &str) -> ApiError {
    ApiError::not_found(format!(
        "no ticket {segment:?}: ticket ids are positive integers"
    ))
}

/// `PATCH /support/tickets/{id}` with `{"status"?, "priority"?}`: one change = one new version and
/// one `support.ticket.updated` event; a patch that changes nothing is a 200 without either.
pub async fn patch_ticket(
    segment: &str,
    conditions: &Conditions,
    body: Value,
) -> ApiResult<Response> {
    let id = ids::positive_id(segment).ok_or_else(|| ticket_not_found(segment))?;
    let patch = ticket::parse_patch(body)?;
    let conn = store::open()?;
    let (ticket, forwarder) = store::with_schema(&conn, |conn| {
        db::transaction(conn, |conn| {
            let current = store::ticket(conn, id)?.ok_or(SupportError::TicketNotFound(id))?;
            precondition::check_write(
                &format!("ticket {id}"),
                Some(current.version),
                conditions.if_match.as_deref(),
                conditions.if_none_match.as_deref(),
            )?;
            let now = clock::now_millis();
            match current.patched(&patch, now)? {
                None => Ok((current, None)),
                Some(updated) => {
                    store::update_ticket(conn, &updated)?;
                    let event = events::ticket_updated(&updated, current.status);
                    outbox::enqueue(conn, TICKETS_TOPIC, &event)?;
                    Ok((updated, forwarder::claim(conn, now)?))
                }
            }
        })
    })?;
    forwarder::forward_after_response(forwarder, store::DATABASE_LABEL);
    Ok(with_etag(
        json_response(200, &ticket.view()),
        ticket.version,
    ))
}

/// `GET /support/tickets?customer=&status=&limit=&cursor=`: newest first, one page.
pub fn list_tickets(query: &str) -> ApiResult<Response> {
    let mut query = parse_list_query(query)?;
    let limit = query.limit;
    // One more than asked tells whether there is a next page.
    query.limit += 1;
    let conn = store::open()?;
    let mut tickets = store::with_schema(&conn, |conn| store::list_tickets(conn, &query))?;
    let has_more = tickets.len() as i64 > limit;
    tickets.truncate(limit as usize);
    let next_cursor = has_more
        .then(|| tickets.last().map(|t| encode_cursor(t.id)))
        .flatten();
    let page = TicketPage {
        tickets: tickets.iter().map(Ticket::summary).collect(),
        next_cursor,
    };
    Ok(json_response(200, &page))
}
