//! The service's domain errors and their one mapping to an HTTP status (via service-kit's `ApiError`,
//! which renders `{"message": ...}`).

use std::fmt;

use service_kit::ApiError;

/// Everything the domain can refuse; storage and transport failures are `ApiError`s already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupportError {
    /// A request field, parameter or header is malformed (400).
    Invalid(String),
    /// No customer with this id (404).
    CustomerNotFound(String),
    /// No ticket with this id (404).
    TicketNotFound(i64),
    /// `If-Match` / `If-None-Match` did not hold (412).
    PreconditionFailed(String),
    /// The status change is not one a help desk allows (409).
    Transition {
        from: &'static str,
        to: &'static str,
        allowed: Vec<&'static str>,
    },
    /// Closed tickets are final (409).
    TicketClosed(i64),
    /// An `Idempotency-Key` was reused with a different request (422).
    KeyReused(String),
}

impl fmt::Display for SupportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SupportError::Invalid(message) | SupportError::PreconditionFailed(message) => {
                f.write_str(message)
            }
            SupportError::CustomerNotFound(id) => write!(f, "no customer {id:?}"),
            SupportError::TicketNotFound(id) => write!(f, "no ticket {id}"),
            SupportError::Transition { from, to, allowed } => write!(
                f,
                "a ticket cannot go from {from} to {to}; from {from} it may go to: {}",
                allowed.join(", ")
            ),
            SupportError::TicketClosed(id) => {
                write!(f, "ticket {id} is closed, and closed tickets cannot change")
            }
            SupportError::KeyReused(key) => write!(
                f,
                "Idempotency-Key {key:?} was already used for a different request to this endpoint"
            ),
        }
    }
}

impl SupportError {
    pub fn status(&self) -> u16 {
        match self {
            SupportError::Invalid(_) => 400,
            SupportError::CustomerNotFound(_) | SupportError::TicketNotFound(_) => 404,
            SupportError::Transition { .. } | SupportError::TicketClosed(_) => 409,
            SupportError::PreconditionFailed(_) => 412,
            SupportError::KeyReused(_) => 422,
        }
    }
}

impl From<SupportError> for ApiError {
    fn from(err: SupportError) -> ApiError {
        ApiError::new(err.status(), err.to_string())
    }
}

/// A 400 naming the field and the problem.
pub fn invalid(field: &str, problem: impl fmt::Display) -> SupportError {
    SupportError::Invalid(format!("{field}: {problem}"))
}

/// At most `max` characters.
pub fn check_length(field: &str, text: &str, max: usize) -> Result<(), SupportError> {
    let chars = text.chars().count();
    if chars > max {
        return Err(invalid(
            field,
            format!("at most {max} characters, got {chars}"),
        ));
    }
    Ok(())
}

/// One line of text: not blank, at most `max` characters, no control characters.
pub fn check_line(field: &str, text: &str, max: usize) -> Result<(), SupportError> {
    if text.trim().is_empty() {
        return Err(invalid(field, "must not be empty or blank"));
    }
    check_length(field, text, max)?;
    if text.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_status_and_names_the_problem() {
        let cases = [
            (
                invalid("name", "must not be empty"),
                400,
                "name: must not be empty",
            ),
            (SupportError::CustomerNotFound("c1".into()), 404, "\"c1\""),
            (SupportError::TicketNotFound(7), 404, "ticket 7"),
            (SupportError::TicketClosed(7), 409, "closed"),
            (
                SupportError::PreconditionFailed("stale".into()),
                412,
                "stale",
            ),
            (SupportError::KeyReused("k".into()), 422, "\"k\""),
        ];
        for (err, status, words) in cases {
            let api: ApiError = err.into();
            assert_eq!(api.status, status);
            assert!(api.message.contains(words), "{}", api.message);
        }
    }

    #[test]
    fn a_refused_transition_names_the_allowed_ones() {
        let err = SupportError::Transition {
            from: "open",
            to: "closed",
            allowed: vec!["pending", "resolved"],
        };
        assert_eq!(err.status(), 409);
        assert_eq!(
            err.to_string(),
            "a ticket cannot go from open to closed; from open it may go to: pending, resolved"
        );
    }
}
