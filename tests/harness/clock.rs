//! Wall-clock time as the services write it, computed with the `time` crate.

use std::time::{SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Milliseconds since the Unix epoch, now.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// Milliseconds since the epoch as RFC 3339 UTC, as the services write it: no
/// fraction on whole seconds, else the milliseconds without trailing zeros.
pub fn rfc3339(millis: i64) -> String {
    utc(millis)
        .format(&Rfc3339)
        .expect("a date of years 0 to 9999 formats as RFC 3339")
}

/// The UTC calendar day of `millis` as the number YYYYMMDD (the visits service's `EventDay`).
pub fn utc_date_yyyymmdd(millis: i64) -> u32 {
    let date = utc(millis).date();
    date.year() as u32 * 10_000 + u32::from(u8::from(date.month())) * 100 + u32::from(date.day())
}

fn utc(millis: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .expect("a time within the years 0 to 9999")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_shows_milliseconds_only_when_there_are_some() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_500), "1970-01-01T00:00:01.5Z");
        assert_eq!(rfc3339(1_020), "1970-01-01T00:00:01.02Z");
        assert_eq!(rfc3339(1_001), "1970-01-01T00:00:01.001Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn dates_follow_the_gregorian_calendar() {
        assert_eq!(utc_date_yyyymmdd(0), 19_700_101);
        assert_eq!(utc_date_yyyymmdd(951_782_400_000), 20_000_229);
        assert_eq!(utc_date_yyyymmdd(951_868_799_999), 20_000_229);
        assert_eq!(utc_date_yyyymmdd(951_868_800_000), 20_000_301);
    }
}
