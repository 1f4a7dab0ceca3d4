//! Timestamps: RFC 3339 text on the wire, Unix milliseconds in the databases (so they sort and subtract).

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Now, in milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Milliseconds since the epoch as RFC 3339 UTC, e.g. `2026-11-23T10:15:00.250Z`.
pub fn format_millis(millis: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    at.format(&Rfc3339).unwrap_or_default()
}

/// Now as RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    format_millis(now_millis())
}

/// Parses an RFC 3339 timestamp (any offset) to milliseconds since the epoch.
pub fn parse_rfc3339(text: &str) -> Result<i64, String> {
    let at = OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|err| format!("{text:?} is not an RFC 3339 timestamp ({err})"))?;
    Ok((at.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_through_millis() {
        let millis = parse_rfc3339("2026-11-23T10:15:00.250Z").unwrap();
        assert_eq!(millis, 1_795_428_900_250);
        assert_eq!(format_millis(millis), "2026-11-23T10:15:00.25Z");
        assert_eq!(parse_rfc3339(&format_millis(millis)).unwrap(), millis);
    }

    #[test]
    fn offsets_are_normalised_to_utc() {
        assert_eq!(
            parse_rfc3339("2026-11-23T11:15:00+01:00").unwrap(),
            parse_rfc3339("2026-11-23T10:15:00Z").unwrap()
        );
    }

    #[test]
    fn junk_is_refused_with_its_text() {
        let err = parse_rfc3339("yesterday").unwrap_err();
        assert!(err.contains("\"yesterday\""), "{err}");
    }
}
