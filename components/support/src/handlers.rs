//! One function per endpoint: validate with the domain modules, read or write through the store
//! (every write and its events in one transaction), then forward the outbox (see service-kit's `outbox::forwarder`)
//! and answer.

use serde::Serialize;
use serde_json::Value;
use service_kit::api::json_response;
use service_kit::outbox::forwarder::{self, Lease};
use service_kit::{clock, db, outbox, ApiError, ApiResult};
use spin_sdk::http::Response;
use utoipa::ToSchema;

use crate::customer::{self, Customer, CustomerBody, CustomerDetailView, CustomerView};
use crate::error::SupportError;
use crate::events::{self, CUSTOMERS_TOPIC, TICKETS_TOPIC};
use crate::idempotency::{self, REPLAYED_HEADER};
use crate::listing::{encode_cursor, parse_list_query};
use crate::precondition::{self, etag};
use crate::route::ticket_id;
use crate::store::{self, SavedResult};
use crate::ticket::{
    self, NewTicketBody, Status, Ticket, TicketPatchBody, TicketSummary, TicketView,
};
use service_kit::contract::ErrorBody;

pub const SERVICE: &str = "support";
/// How many of a customer's newest tickets its representation shows.
const RECENT_TICKETS: i64 = 5;

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
#[utoipa::path(
    put,
    path = "/support/customers/{id}",
    tag = "customers",
    summary = "Create or replace a customer's support details",
    description = "Creates the customer (201) or replaces its details (200). A change makes a new \
        version and publishes `support.customer.upserted`; an identical PUT changes nothing. \
        `If-Match` makes the write conditional on the current version, `If-None-Match: *` on the \
        customer not existing yet.",
    params(
        ("id" = String, Path, description = "The customer id.",
            pattern = "^[A-Za-z0-9_-]{1,64}$", min_length = 1, max_length = 64),
        ("If-Match" = Option<String>, Header, nullable = false,
            description = "Write only if the customer's ETag is one of these (strong comparison), or `*` if it exists."),
        ("If-None-Match" = Option<String>, Header, nullable = false,
            description = "Write only if the customer's ETag is none of these; `*`: only if it does not exist."),
    ),
    request_body(content = CustomerBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Updated (or unchanged).", body = CustomerView,
            headers(("ETag" = String, description = "The customer's version, e.g. `\"2\"`."))),
        (status = 201, description = "Created.", body = CustomerView,
            headers(
                ("ETag" = String, description = "The customer's version, `\"1\"`."),
                ("Location" = String, description = "`/support/customers/{id}`."),
            )),
        (status = 400, description = "The id, the JSON or a field is invalid; the message names it.", body = ErrorBody),
        (status = 412, description = "`If-Match` or `If-None-Match` did not hold; nothing changed.", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB.", body = ErrorBody),
        (status = 415, description = "The content type is not JSON.", body = ErrorBody),
    )
)]
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
    forwarder::forward_if_claimed(&conn, forwarder, SERVICE).await;
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
#[utoipa::path(
    get,
    path = "/support/customers/{id}",
    tag = "customers",
    summary = "A customer's support details and tickets at a glance",
    params(
        ("id" = String, Path, description = "The customer id.",
            pattern = "^[A-Za-z0-9_-]{1,64}$", min_length = 1, max_length = 64),
    ),
    responses(
        (status = 200, description = "The customer, its open-ticket count and newest tickets.",
            body = CustomerDetailView,
            headers(("ETag" = String, description = "The customer's version (what `If-Match` on PUT compares)."))),
        (status = 404, description = "No such customer.", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    post,
    path = "/support/customers/{id}/tickets",
    tag = "tickets",
    summary = "Open a ticket for a customer",
    description = "Opens a ticket (status `open`, version 1) and publishes `support.ticket.opened`. \
        With an `Idempotency-Key`, a retry of the same request returns the first result \
        (`Idempotent-Replayed: true`) and creates nothing; the same key with a different request is 422.",
    params(
        ("id" = String, Path, description = "The customer id.",
            pattern = "^[A-Za-z0-9_-]{1,64}$", min_length = 1, max_length = 64),
        ("Idempotency-Key" = Option<String>, Header, nullable = false,
            description = "1 to 255 printable ASCII characters, scoped to the customer.",
            pattern = "^[!-~](?:[ -~]{0,253}[!-~])?$", min_length = 1, max_length = 255),
    ),
    request_body(content = NewTicketBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Opened (or, for a repeated Idempotency-Key, the first result).",
            body = TicketView,
            headers(
                ("ETag" = String, description = "`\"1\"`."),
                ("Location" = String, description = "`/support/tickets/{id}`."),
                ("Idempotent-Replayed" = String, description = "`true` when this replays a first result."),
            )),
        (status = 400, description = "The JSON, a field or the Idempotency-Key is invalid.", body = ErrorBody),
        (status = 404, description = "No such customer.", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB.", body = ErrorBody),
        (status = 415, description = "The content type is not JSON.", body = ErrorBody),
        (status = 422, description = "The Idempotency-Key was used for a different request.", body = ErrorBody),
    )
)]
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
                if let Some(saved) = store::saved_result(conn, customer_id, key)? {
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
                    ticket_id: id,
                    response: body.clone(),
                };
                store::save_result(conn, customer_id, key, &saved, now)?;
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
            forwarder::forward_if_claimed(&conn, forwarder, SERVICE).await;
            (id, body, false)
        }
        Created::Replayed(saved) => (saved.ticket_id, saved.response, true),
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
#[utoipa::path(
    get,
    path = "/support/tickets/{id}",
    tag = "tickets",
    summary = "A ticket",
    params(
        ("id" = i64, Path, description = "The ticket id.", minimum = 1),
        ("If-None-Match" = Option<String>, Header, nullable = false,
            description = "304 if the ticket's ETag is one of these (weak comparison) or `*`."),
    ),
    responses(
        (status = 200, description = "The ticket.", body = TicketView,
            headers(("ETag" = String, description = "The ticket's version."))),
        (status = 304, description = "Not modified: `If-None-Match` names the current version.",
            headers(("ETag" = String, description = "The ticket's version."))),
        (status = 404, description = "No such ticket.", body = ErrorBody),
    )
)]
pub fn get_ticket(segment: &str, conditions: &Conditions) -> ApiResult<Response> {
    let id = ticket_id(segment).ok_or_else(|| ticket_not_found(segment))?;
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
#[utoipa::path(
    patch,
    path = "/support/tickets/{id}",
    tag = "tickets",
    summary = "Change a ticket's status or priority",
    description = "A JSON merge patch: absent fields stay as they are. A change makes a new version \
        and publishes `support.ticket.updated`; a patch that changes nothing answers the ticket as is. \
        Status changes must be allowed from the current status; closed tickets cannot change.",
    params(
        ("id" = i64, Path, description = "The ticket id.", minimum = 1),
        ("If-Match" = Option<String>, Header, nullable = false,
            description = "Change only if the ticket's ETag is one of these (strong comparison) or `*`."),
        ("If-None-Match" = Option<String>, Header, nullable = false,
            description = "Change only if the ticket's ETag is none of these (`*` always fails: the ticket exists)."),
    ),
    request_body(content(
        (TicketPatchBody = "application/merge-patch+json"),
        (TicketPatchBody = "application/json"),
    )),
    responses(
        (status = 200, description = "The ticket after the patch.", body = TicketView,
            headers(("ETag" = String, description = "The ticket's version."))),
        (status = 400, description = "The JSON or a field is invalid.", body = ErrorBody),
        (status = 404, description = "No such ticket.", body = ErrorBody),
        (status = 409, description = "The status change is not allowed, or the ticket is closed.", body = ErrorBody),
        (status = 412, description = "`If-Match` or `If-None-Match` did not hold; nothing changed.", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB.", body = ErrorBody),
        (status = 415, description = "The content type is neither JSON nor a JSON merge patch.", body = ErrorBody),
    )
)]
pub async fn patch_ticket(
    segment: &str,
    conditions: &Conditions,
    body: Value,
) -> ApiResult<Response> {
    let id = ticket_id(segment).ok_or_else(|| ticket_not_found(segment))?;
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
    forwarder::forward_if_claimed(&conn, forwarder, SERVICE).await;
    Ok(with_etag(
        json_response(200, &ticket.view()),
        ticket.version,
    ))
}

/// One page of `GET /support/tickets`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketPage {
    /// Newest first.
    #[schema(max_items = 100)]
    pub tickets: Vec<TicketSummary>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// `GET /support/tickets?customer=&status=&limit=&cursor=`: newest first, one page.
#[utoipa::path(
    get,
    path = "/support/tickets",
    tag = "tickets",
    summary = "List tickets, newest first",
    params(
        ("customer" = Option<String>, Query, description = "Only this customer's tickets.",
            pattern = "^[A-Za-z0-9_-]{1,64}$", min_length = 1, max_length = 64),
        ("status" = Option<Status>, Query, description = "Only tickets in this status."),
        ("limit" = Option<i64>, Query, description = "Page size (default 20).", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query,
            description = "Opaque: the `next_cursor` of the previous page.",
            pattern = "^dDE6(?:(?:M[Tjz]|N[DTjz]|O[DT])[AEIMQUYcgk][w-z0-5](?:(?:[MN][DTjz]|O[DT])[AEIMQUYcgk][w-z0-5]){0,4}(?:(?:[MN][DTjz]|O[DT])[AEIMQUYcgk]|[MN][AQgw]|O[AQ])?|(?:M[Tjz]|N[DTjz]|O[DT])[AEIMQUYcgk]|M[Qgw]|N[AQgw]|O[AQ])$"),
    ),
    responses(
        (status = 200, description = "One page of tickets.", body = TicketPage),
        (status = 400, description = "A parameter is invalid or unknown; the message names it.", body = ErrorBody),
    )
)]
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

/// `GET /support/outbox`: how many events wait to be forwarded.
#[utoipa::path(
    get,
    path = "/support/outbox",
    tag = "outbox",
    summary = "How many events wait to be forwarded",
    responses((status = 200, description = "The outbox's size.", body = outbox::OutboxStatus))
)]
pub fn outbox_status() -> ApiResult<Response> {
    store::with_schema(&store::open()?, outbox::status_response)
}

/// `POST /support/outbox/flush`: forwards what is pending now; the report says how far it got.
#[utoipa::path(
    post,
    path = "/support/outbox/flush",
    tag = "outbox",
    summary = "Forward the pending events now",
    description = "Forwards the outbox to the event log, oldest first, stopping at the first failure \
        (the report says why; the events stay for later).",
    responses((status = 200, description = "How far the flush got.", body = outbox::ForwardReport))
)]
pub async fn flush_outbox() -> ApiResult<Response> {
    let conn = store::open()?;
    // Creates the schema on a fresh database, so forwarding has a table to read.
    store::with_schema(&conn, outbox::pending)?;
    outbox::flush_response(&conn).await
}
