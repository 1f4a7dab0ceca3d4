//! Which resource a request path names. The path is the request's own (never `spin-path-info`), so
//! the service answers the same under its `/support/...` route and under service chaining.

use service_kit::request::segments;
use service_kit::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// `/support/customers/{id}`
    Customer(&'a str),
    /// `/support/customers/{id}/tickets`
    CustomerTickets(&'a str),
    /// `/support/tickets`
    Tickets,
    /// `/support/tickets/{id}` (the id segment as given; see [`ticket_id`])
    Ticket(&'a str),
    /// `/support/outbox`
    Outbox,
    /// `/support/outbox/flush`
    OutboxFlush,
    /// `/support/health`
    Health,
    /// `/support/openapi.json`
    OpenApi,
}

impl Resource<'_> {
    /// The methods the resource answers, as an `allow` header value.
    pub fn allowed_methods(&self) -> &'static str {
        match self {
            Resource::Customer(_) => "GET, PUT",
            Resource::CustomerTickets(_) | Resource::OutboxFlush => "POST",
            Resource::Tickets | Resource::Outbox | Resource::Health | Resource::OpenApi => "GET",
            Resource::Ticket(_) => "GET, PATCH",
        }
    }
}

pub fn resource(path: &str) -> Result<Resource<'_>, ApiError> {
    match segments(path).as_slice() {
        ["support", "customers", id] => Ok(Resource::Customer(id)),
        ["support", "customers", id, "tickets"] => Ok(Resource::CustomerTickets(id)),
        ["support", "tickets"] => Ok(Resource::Tickets),
        ["support", "tickets", id] => Ok(Resource::Ticket(id)),
        ["support", "outbox"] => Ok(Resource::Outbox),
        ["support", "outbox", "flush"] => Ok(Resource::OutboxFlush),
        ["support", "health"] => Ok(Resource::Health),
        ["support", "openapi.json"] => Ok(Resource::OpenApi),
        _ => Err(ApiError::not_found(format!("no such resource: {path}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_resources() {
        assert_eq!(
            resource("/support/customers/c1"),
            Ok(Resource::Customer("c1"))
        );
        assert_eq!(
            resource("/support/customers/c1/tickets/"),
            Ok(Resource::CustomerTickets("c1"))
        );
        assert_eq!(resource("/support/tickets"), Ok(Resource::Tickets));
        assert_eq!(resource("//support/tickets/12"), Ok(Resource::Ticket("12")));
        assert_eq!(resource("/support/outbox"), Ok(Resource::Outbox));
        assert_eq!(resource("/support/outbox/flush"), Ok(Resource::OutboxFlush));
        assert_eq!(resource("/support/health"), Ok(Resource::Health));
        assert_eq!(resource("/support/openapi.json"), Ok(Resource::OpenApi));
        // A customer may be called `health`: it is one level deeper.
        assert_eq!(
            resource("/support/customers/health"),
            Ok(Resource::Customer("health"))
        );
    }

    #[test]
    fn other_paths_are_not_found() {
        for path in [
            "/",
            "/support",
            "/support/customers",
            "/support/customers/c1/notes",
            "/support/tickets/1/x",
            "/supportx/tickets",
        ] {
            let err = resource(path).unwrap_err();
            assert_eq!(err.status, 404, "{path}");
            assert!(err.message.contains(path), "{}", err.message);
        }
    }
}
