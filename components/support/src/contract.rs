//! The service's contract: the OpenAPI 3.1 document `GET /support/openapi.json` serves, generated
//! (by `utoipa`) from the types the handlers really read and write (`wire`) and from the
//! operation descriptors below: one empty `pub fn` per endpoint of `handlers`, named after it,
//! holding only its parameters, bodies and answers.
//!
//! What the derive cannot see is held to the code by the unit tests below: every route of
//! `route::resource` is in the document with exactly the methods it answers, and every pattern
//! agrees with the validator it describes.

use service_kit::contract::{ErrorBody, Health, SQLITE_SERVICE_ENDPOINTS, STORAGE_ERRORS};
use service_kit::ids::Id;
use utoipa::OpenApi;

use crate::ticket::Status;
use crate::wire::{
    CustomerBody, CustomerDetailView, CustomerView, NewTicketBody, TicketPage, TicketPatchBody,
    TicketView,
};
use service_kit::outbox;

/// The document. `info` comes from Cargo.toml (name, version, description, license).
#[derive(OpenApi)]
#[openapi(
    info(title = "support"),
    paths(
        get_customer,
        put_customer,
        create_ticket,
        list_tickets,
        get_ticket,
        patch_ticket,
        outbox_status,
        flush_outbox,
    ),
    components(schemas(ErrorBody, Health)),
    modifiers(&STORAGE_ERRORS, &SQLITE_SERVICE_ENDPOINTS),
    tags(
        (name = "customers", description = "Customers' support details (versioned, with ETags)."),
        (name = "tickets", description = "Support tickets and their status changes."),
        (name = "outbox", description = "The transactional outbox of `support.*` events."),
        (name = "service", description = "Health and contract."),
    )
)]
pub struct ApiDoc;

/// The document as the component serves it: [`ApiDoc`] serialised by the unit tests into
/// `openapi.json` (`UPDATE_OPENAPI=1 cargo test -p support` rewrites it), so that the component
/// links none of utoipa's document building.
pub const DOCUMENT: &str = include_str!("../openapi.json");

// ---------------------------------------------------------------------------------------------
// The operations: descriptors holding no code, only what each endpoint of `handlers` answers.

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
        ("id" = inline(Id), Path, description = "The customer id."),
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
pub fn put_customer() {}

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
        ("id" = inline(Id), Path, description = "The customer id."),
    ),
    responses(
        (status = 200, description = "The customer, its open-ticket count and newest tickets.",
            body = CustomerDetailView,
            headers(("ETag" = String, description = "The customer's version (what `If-Match` on PUT compares)."))),
        (status = 404, description = "No such customer.", body = ErrorBody),
    )
)]
pub fn get_customer() {}

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
        ("id" = inline(Id), Path, description = "The customer id."),
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
pub fn create_ticket() {}

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
pub fn get_ticket() {}

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
pub fn patch_ticket() {}

/// `GET /support/tickets?customer=&status=&limit=&cursor=`: newest first, one page.
#[utoipa::path(
    get,
    path = "/support/tickets",
    tag = "tickets",
    summary = "List tickets, newest first",
    params(
        ("customer" = inline(Option<Id>), Query, description = "Only this customer's tickets."),
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
pub fn list_tickets() {}

service_kit::outbox_operations!("/support/outbox", "/support/outbox/flush");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::{resource, Resource};
    use regex::Regex;
    use serde_json::{json, Value};
    use service_kit::contract::{assert_served_as_documented, parameter, property_names};
    use std::collections::BTreeSet;

    fn document() -> Value {
        serde_json::to_value(ApiDoc::openapi()).unwrap()
    }

    #[test]
    fn the_embedded_document_is_the_generated_one() {
        service_kit::assert_embedded_document!(DOCUMENT, &ApiDoc::openapi());
    }

    /// A concrete request path for a templated one.
    fn concrete(path: &str) -> String {
        path.replace("{id}", "7")
    }

    #[test]
    fn the_document_passes_the_shared_checks() {
        service_kit::assert_document!(&document());
    }

    #[test]
    fn every_documented_operation_is_served_and_every_served_one_documented() {
        let documented = assert_served_as_documented(&document(), |path| {
            let concrete = concrete(path);
            let resource = resource(&concrete).unwrap_or_else(|err| panic!("{path}: {err:?}"));
            (
                format!("{resource:?}"),
                resource.allowed_methods().to_owned(),
            )
        });
        // Every route of the table is in the document (the match makes a new one fail to compile
        // here until it is listed).
        for route in [
            Resource::Customer(""),
            Resource::CustomerTickets(""),
            Resource::Tickets,
            Resource::Ticket(""),
            Resource::Outbox,
            Resource::OutboxFlush,
            Resource::Health,
            Resource::OpenApi,
        ] {
            let name = match route {
                Resource::Customer(_) => "Customer",
                Resource::CustomerTickets(_) => "CustomerTickets",
                Resource::Tickets => "Tickets",
                Resource::Ticket(_) => "Ticket",
                Resource::Outbox => "Outbox",
                Resource::OutboxFlush => "OutboxFlush",
                Resource::Health => "Health",
                Resource::OpenApi => "OpenApi",
            };
            assert!(documented.contains(name), "{name} is not documented");
        }
    }

    /// The schema of a component's property.
    fn property(doc: &Value, schema: &str, name: &str) -> Value {
        doc["components"]["schemas"][schema]["properties"][name].clone()
    }

    /// The schema of an operation's parameter.
    fn pattern(schema: &Value) -> Regex {
        Regex::new(schema["pattern"].as_str().expect("a pattern")).unwrap()
    }

    #[test]
    fn customer_body_patterns_agree_with_the_validator() {
        use crate::customer::{parse_details, BAD_EMAILS, GOOD_EMAILS};
        let doc = document();
        let name = pattern(&property(&doc, "CustomerBody", "name"));
        let email = pattern(&property(&doc, "CustomerBody", "email"));
        let phone = pattern(&property(&doc, "CustomerBody", "phone"));
        let body = |name: &str, email: &str, phone: Value| json!({"name": name, "email": email, "tier": "pro", "phone": phone});
        for good_name in ["Ada", " Ada ", "é", "x y", &"n".repeat(200)] {
            assert!(name.is_match(good_name), "{good_name:?}");
            assert!(parse_details(body(good_name, "a@b.io", json!(null))).is_ok());
        }
        for bad_name in ["", "   ", "a\u{7}b", "a\nb", "\u{85}"] {
            assert!(!name.is_match(bad_name), "{bad_name:?}");
            assert!(parse_details(body(bad_name, "a@b.io", json!(null))).is_err());
        }
        for good in GOOD_EMAILS {
            assert!(email.is_match(good), "{good}");
            assert!(
                parse_details(body("n", good, json!(null))).is_ok(),
                "{good}"
            );
        }
        for bad in BAD_EMAILS {
            assert!(!email.is_match(bad), "{bad:?}");
            assert!(
                parse_details(body("n", bad, json!(null))).is_err(),
                "{bad:?}"
            );
        }
        for good in ["+1234567", "+123456789012345"] {
            assert!(phone.is_match(good));
            assert!(parse_details(body("n", "a@b.io", json!(good))).is_ok());
        }
        for bad in [
            "123456789",
            "+123456",
            "+1234567890123456",
            "+12 345 678",
            "+",
        ] {
            assert!(!phone.is_match(bad), "{bad}");
            assert!(parse_details(body("n", "a@b.io", json!(bad))).is_err());
        }
        assert_eq!(
            doc["components"]["schemas"]["CustomerBody"]["additionalProperties"],
            false
        );
    }

    #[test]
    fn id_patterns_agree_with_the_validators() {
        use crate::customer::valid_customer_id;
        let doc = document();
        for (path, method) in [
            ("/support/customers/{id}", "get"),
            ("/support/customers/{id}", "put"),
            ("/support/customers/{id}/tickets", "post"),
        ] {
            let id = pattern(&parameter(&doc, path, method, "id")["schema"]);
            for sample in [
                "c1",
                "A_b-9",
                &"a".repeat(64),
                "",
                "a b",
                "a.b",
                "ü",
                &"a".repeat(65),
            ] {
                assert_eq!(id.is_match(sample), valid_customer_id(sample), "{sample:?}");
            }
        }
        let ticket = parameter(&doc, "/support/tickets/{id}", "get", "id");
        assert_eq!(ticket["schema"]["type"], "integer");
        assert_eq!(ticket["schema"]["minimum"], 1);
    }

    #[test]
    fn idempotency_keys_follow_the_rule() {
        use service_kit::idempotency::parse_key;
        let doc = document();
        let key = pattern(
            &parameter(
                &doc,
                "/support/customers/{id}/tickets",
                "post",
                "Idempotency-Key",
            )["schema"],
        );
        for sample in ["k", "retry-1", "a b", &"k".repeat(255)] {
            assert!(
                key.is_match(sample) && parse_key(sample).is_ok(),
                "{sample:?}"
            );
        }
        for sample in ["", &"k".repeat(256), "k\u{1}", "ключ"] {
            assert!(
                !key.is_match(sample) && parse_key(sample).is_err(),
                "{sample:?}"
            );
        }
    }

    #[test]
    fn cursors_the_service_gives_out_match_and_matching_cursors_decode() {
        use crate::listing::{decode_cursor, encode_cursor};
        let doc = document();
        let cursor = pattern(&parameter(&doc, "/support/tickets", "get", "cursor")["schema"]);
        for id in (1..20_000).chain([99_999_999_999_999_999, 12_345_678_901_234]) {
            assert!(cursor.is_match(&encode_cursor(id)), "{id}");
        }
        for junk in ["", "42", "dDE6", "dDE6MA", "dDE6MDA", "dDE6MDAw", "zzz"] {
            assert!(!cursor.is_match(junk), "{junk}");
            assert!(decode_cursor(junk).is_err(), "{junk}");
        }
        // Everything the pattern admits, up to four characters after the prefix, decodes.
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut matched = 0;
        let mut tail = Vec::new();
        for length in 1..=4 {
            let mut index = vec![0usize; length];
            loop {
                tail.clear();
                tail.extend(index.iter().map(|i| ALPHABET[*i]));
                let text = format!("dDE6{}", std::str::from_utf8(&tail).unwrap());
                if cursor.is_match(&text) {
                    matched += 1;
                    assert!(decode_cursor(&text).is_ok(), "{text}");
                }
                let Some(position) = index.iter().rposition(|i| *i + 1 < ALPHABET.len()) else {
                    break;
                };
                index[position] += 1;
                index[position + 1..].iter_mut().for_each(|i| *i = 0);
            }
        }
        // 9 one-digit, 90 two-digit and 900 three-digit ids.
        assert_eq!(matched, 999);
    }

    #[test]
    fn ticket_bodies_match_their_parsers() {
        use crate::ticket::{parse_new_ticket, parse_patch, Priority, Status};
        let doc = document();
        let new = &doc["components"]["schemas"]["NewTicketBody"];
        assert_eq!(new["additionalProperties"], false);
        assert_eq!(new["required"], json!(["subject"]));
        let subject = pattern(&property(&doc, "NewTicketBody", "subject"));
        for (text, ok) in [("Help", true), ("  ", false), ("a\tb", false), ("", false)] {
            assert_eq!(subject.is_match(text), ok, "{text:?}");
            assert_eq!(parse_new_ticket(json!({"subject": text})).is_ok(), ok);
        }
        assert!(parse_new_ticket(json!({"subject": "s", "priority": null})).is_ok());

        let patch = &doc["components"]["schemas"]["TicketPatchBody"];
        assert_eq!(patch["additionalProperties"], false);
        let fields = property_names(patch);
        assert_eq!(fields, BTreeSet::from(["status", "priority"]));
        for status in Status::ALL {
            let body = json!({"status": status});
            assert!(parse_patch(body.clone()).is_ok());
            assert!(serde_json::from_value::<TicketPatchBody>(body).is_ok());
        }
        for priority in Priority::ALL {
            assert!(parse_patch(json!({"priority": priority})).is_ok());
        }
        // Absent is allowed, null is not: the schema must not admit null.
        assert!(parse_patch(json!({"status": null})).is_err());
        let status = property(&doc, "TicketPatchBody", "status");
        assert!(!status.to_string().contains("null"), "{status}");
    }
}
