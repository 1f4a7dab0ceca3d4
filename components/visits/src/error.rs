//! The service's domain errors and their one mapping to an HTTP status (via service-kit's
//! `ApiError`, which renders `{"message": ...}`).

use service_kit::ApiError;

use crate::domain::{MAX_BULK_ROWS, MAX_DAY_TOTAL};

/// Everything the domain can refuse; storage and transport failures are `ApiError`s already.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VisitsError {
    #[error("no such resource: {0}")]
    UnknownPath(String),
    #[error("event id must be 1 to 20 digits, got {0:?}")]
    InvalidEventId(String),
    #[error("query parameter {param}: {problem}")]
    InvalidQuery {
        param: &'static str,
        problem: String,
    },
    #[error("startDate {start} is after endDate {end}")]
    ReversedDateRange { start: u32, end: u32 },
    #[error("invalid request body: {0}")]
    InvalidBody(String),
    #[error("{field}: {problem}")]
    InvalidField {
        field: &'static str,
        problem: String,
    },
    #[error("row {row}: {problem}")]
    InvalidRow { row: usize, problem: String },
    #[error("row {row}: {field}: {problem}")]
    InvalidRowField {
        row: usize,
        field: &'static str,
        problem: String,
    },
    #[error("too many rows: at most {MAX_BULK_ROWS} per request")]
    TooManyRows,
    #[error("unsupported content-type {0:?}: use application/json or text/csv")]
    UnsupportedMediaType(String),
    #[error("EventCount: the day's total would exceed {MAX_DAY_TOTAL}")]
    DayTotalTooLarge,
    /// The request fits the contract's schema but breaks a rule the schema can state only in
    /// words (a YYYYMMDD naming no calendar day, a day loaded twice): the inner error, as 422.
    #[error("{0}")]
    Unprocessable(Box<VisitsError>),
}

impl VisitsError {
    /// The HTTP status for this error.
    pub fn status(&self) -> u16 {
        use VisitsError::*;
        match self {
            UnknownPath(_) | InvalidEventId(_) => 404,
            InvalidQuery { .. }
            | InvalidBody(_)
            | InvalidField { .. }
            | InvalidRow { .. }
            | InvalidRowField { .. } => 400,
            // Fit the schema, but no schema can say these: 422, not 400.
            ReversedDateRange { .. } | DayTotalTooLarge | Unprocessable(_) => 422,
            TooManyRows => 413,
            UnsupportedMediaType(_) => 415,
        }
    }
}

impl From<VisitsError> for ApiError {
    fn from(err: VisitsError) -> Self {
        ApiError::new(err.status(), err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(err: &VisitsError) -> String {
        ApiError::from(err.clone()).message
    }

    #[test]
    fn bad_rows_are_named_with_their_field() {
        let err = VisitsError::InvalidRowField {
            row: 3,
            field: "EventDay",
            problem: "expected an integer YYYYMMDD, got \"x\"".into(),
        };
        assert_eq!(err.status(), 400);
        assert_eq!(
            message(&err),
            "row 3: EventDay: expected an integer YYYYMMDD, got \"x\""
        );
    }

    #[test]
    fn rules_the_schema_cannot_state_map_to_422() {
        let reversed = VisitsError::ReversedDateRange {
            start: 20171014,
            end: 20171012,
        };
        assert_eq!(reversed.status(), 422);
        assert_eq!(VisitsError::DayTotalTooLarge.status(), 422);
        let field = VisitsError::InvalidField {
            field: "EventDay",
            problem: "20170230 is not a calendar date".into(),
        };
        let err = VisitsError::Unprocessable(Box::new(field));
        assert_eq!(err.status(), 422);
        assert_eq!(message(&err), "EventDay: 20170230 is not a calendar date");
    }

    #[test]
    fn limits_map_to_413() {
        assert_eq!(VisitsError::TooManyRows.status(), 413);
    }

    #[test]
    fn unknown_ids_and_paths_map_to_404() {
        assert_eq!(VisitsError::InvalidEventId("abc".into()).status(), 404);
        assert_eq!(VisitsError::UnknownPath("/visits/1/2".into()).status(), 404);
    }
}
