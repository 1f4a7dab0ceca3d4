//! The id of the request being served, so that one id follows a request from the gateway into
//! the events it causes and onward to their subscribers (header `x-request-id`, CloudEvents
//! extension attribute `requestid`).
//!
//! Call [`begin`] first thing in a handler; [`request_id`] then answers for the rest of the
//! request, without threading the id through every function that might publish or call out.

use std::cell::RefCell;

use spin_sdk::http::{IncomingRequest, Request};

/// The header the gateway sets on every request it passes on, and services pass onward.
pub const HEADER: &str = "x-request-id";
/// The CloudEvents extension attribute carrying the id of the request that caused an event.
pub const ATTRIBUTE: &str = "requestid";
/// Longest id taken (the gateway's limit too).
const MAX_LEN: usize = 128;

thread_local! {
    // A Spin instance is created for exactly one request and dropped after it, and the guest
    // runs on one thread, so this thread's value is the current request's. `begin` resets it
    // anyway, so native tests (and any reused instance) never see a previous request's id.
    static CURRENT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Starts serving `request`: remembers its `x-request-id` if it is a valid one, else none.
pub fn begin(request: &IncomingRequest) {
    begin_with(crate::request::header(request, HEADER).as_deref());
}

/// [`begin`] from the header's value (absent: `None`); plain Rust, for tests.
pub fn begin_with(header: Option<&str>) {
    let id = header.and_then(parse);
    CURRENT.with(|current| *current.borrow_mut() = id);
}

/// The current request's id, if it came with a valid one.
pub fn request_id() -> Option<String> {
    CURRENT.with(|current| current.borrow().clone())
}

/// Sets `x-request-id` on an outgoing request when the current request has an id.
pub fn propagate(request: &mut Request) {
    if let Some(id) = request_id() {
        request.set_header(HEADER, id);
    }
}

/// A request id as taken: trimmed, 1 to 128 of `A-Z a-z 0-9 . _ : -`. Anything else is ignored
/// rather than refused: the id is for following a request, never a reason to fail it. The
/// narrow alphabet keeps it safe in headers and log lines.
pub fn parse(value: &str) -> Option<String> {
    let id = value.trim();
    let valid = (1..=MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    valid.then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ids_are_trimmed_and_kept() {
        assert_eq!(parse(" req-1.a_b:c ").as_deref(), Some("req-1.a_b:c"));
        let longest = "a".repeat(128);
        assert_eq!(parse(&longest), Some(longest));
    }

    #[test]
    fn invalid_ids_are_ignored() {
        for value in [
            "",
            "   ",
            "a b",
            "a/b",
            "ä",
            "a\tb",
            "\"x\"",
            &"a".repeat(129),
        ] {
            assert_eq!(parse(value), None, "{value:?}");
        }
    }

    #[test]
    fn begin_replaces_the_previous_requests_id() {
        begin_with(Some("first"));
        assert_eq!(request_id().as_deref(), Some("first"));
        begin_with(Some("not valid"));
        assert_eq!(request_id(), None);
        begin_with(Some("second"));
        begin_with(None);
        assert_eq!(request_id(), None);
    }

    #[test]
    fn propagate_sets_the_header_only_when_an_id_is_known() {
        begin_with(Some("r-7"));
        let mut request = Request::get("http://events.spin.internal/events/t").build();
        propagate(&mut request);
        assert_eq!(
            request.header(HEADER).and_then(|value| value.as_str()),
            Some("r-7")
        );
        begin_with(None);
        let mut request = Request::get("http://events.spin.internal/events/t").build();
        propagate(&mut request);
        assert!(request.header(HEADER).is_none());
    }
}
