//! The service's one error type and its one mapping to an HTTP status and JSON body.

use crate::domain::{MAX_BODY_BYTES, MAX_BULK_ROWS, MAX_DAY_TOTAL};

/// Everything that can go wrong while serving a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VisitsError {
    #[error("no such resource: {0}")]
    UnknownPath(String),
    #[error("event id must be 1 to 20 digits, got {0:?}")]
    InvalidEventId(String),
    #[error("method {method} is not allowed here; allowed: {allow}")]
    MethodNotAllowed { method: String, allow: &'static str },
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
    #[error("request body too large: at most {MAX_BODY_BYTES} bytes")]
    BodyTooLarge,
    #[error("unsupported content-type {0:?}: use application/json or text/csv")]
    UnsupportedMediaType(String),
    #[error("EventCount: the day's total would exceed {MAX_DAY_TOTAL}")]
    DayTotalTooLarge,
    /// The request fits the contract's schema but breaks a rule the schema can state only in
    /// words (a YYYYMMDD naming no calendar day, a day loaded twice): the inner error, as 422.
    #[error("{0}")]
    Unprocessable(Box<VisitsError>),
    /// The detail is for the log only; clients see "storage error".
    #[error("storage error")]
    Storage(String),
}

impl VisitsError {
    /// The HTTP status and the JSON body `{"message": ...}` for this error.
    pub fn status_and_body(&self) -> (u16, Vec<u8>) {
        use VisitsError::*;
        let status = match self {
            UnknownPath(_) | InvalidEventId(_) => 404,
            MethodNotAllowed { .. } => 405,
            InvalidQuery { .. }
            | InvalidBody(_)
            | InvalidField { .. }
            | InvalidRow { .. }
            | InvalidRowField { .. } => 400,
            // Fit the schema, but no schema can say these: 422, not 400.
            ReversedDateRange { .. } | DayTotalTooLarge | Unprocessable(_) => 422,
            TooManyRows | BodyTooLarge => 413,
            UnsupportedMediaType(_) => 415,
            Storage(_) => 500,
        };
        (status, message_body(&self.to_string()))
    }
}

/// The JSON error body every endpoint uses.
pub fn message_body(message: &str) -> Vec<u8> {
    let body = service_kit::contract::ErrorBody {
        message: message.to_owned(),
    };
    serde_json::to_vec(&body).expect("a JSON object of one string always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(err: &VisitsError) -> String {
        let (_, body) = err.status_and_body();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        json["message"].as_str().unwrap().to_owned()
    }

    #[test]
    fn storage_errors_hide_their_detail() {
        let err = VisitsError::Storage("disk I/O error at /secret/path".into());
        assert_eq!(err.status_and_body().0, 500);
        assert_eq!(message(&err), "storage error");
    }

    #[test]
    fn bad_rows_are_named_with_their_field() {
        let err = VisitsError::InvalidRowField {
            row: 3,
            field: "EventDay",
            problem: "expected an integer YYYYMMDD, got \"x\"".into(),
        };
        assert_eq!(err.status_and_body().0, 400);
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
        assert_eq!(reversed.status_and_body().0, 422);
        assert_eq!(VisitsError::DayTotalTooLarge.status_and_body().0, 422);
        let field = VisitsError::InvalidField {
            field: "EventDay",
            problem: "20170230 is not a calendar date".into(),
        };
        let err = VisitsError::Unprocessable(Box::new(field));
        assert_eq!(err.status_and_body().0, 422);
        assert_eq!(message(&err), "EventDay: 20170230 is not a calendar date");
    }

    #[test]
    fn limits_map_to_413() {
        assert_eq!(VisitsError::TooManyRows.status_and_body().0, 413);
        assert_eq!(VisitsError::BodyTooLarge.status_and_body().0, 413);
    }

    #[test]
    fn unknown_ids_and_paths_map_to_404() {
        assert_eq!(
            VisitsError::InvalidEventId("abc".into())
                .status_and_body()
                .0,
            404
        );
        assert_eq!(
            VisitsError::UnknownPath("/visits/1/2".into())
                .status_and_body()
                .0,
            404
        );
    }
}
