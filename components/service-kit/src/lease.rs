//! Lease lengths from variables: how long a lease held by a replica that died keeps others out.
//! Production keeps the defaults; tests of replica loss shorten them so they need not wait long.

/// Shortest and longest lease a variable may set; anything else falls back to the default.
pub const MIN_LEASE_MS: i64 = 100;
pub const MAX_LEASE_MS: i64 = 3_600_000;

/// A lease length in milliseconds from a variable's text: `default_ms` if absent or out of range.
pub fn parse_lease_ms(text: Option<&str>, default_ms: i64) -> i64 {
    text.and_then(|t| t.trim().parse::<i64>().ok())
        .filter(|ms| (MIN_LEASE_MS..=MAX_LEASE_MS).contains(ms))
        .unwrap_or(default_ms)
}

/// The lease length the component's variable `name` sets (an undefined variable: the default).
pub fn lease_ms(name: &str, default_ms: i64) -> i64 {
    parse_lease_ms(spin_sdk::variables::get(name).ok().as_deref(), default_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_length_is_bounded_or_the_default() {
        assert_eq!(parse_lease_ms(Some("1500"), 10_000), 1500);
        assert_eq!(parse_lease_ms(Some(" 250 "), 10_000), 250);
        assert_eq!(parse_lease_ms(None, 10_000), 10_000);
        assert_eq!(parse_lease_ms(Some(""), 10_000), 10_000);
        assert_eq!(parse_lease_ms(Some("50"), 10_000), 10_000);
        assert_eq!(parse_lease_ms(Some("7200000"), 10_000), 10_000);
        assert_eq!(parse_lease_ms(Some("soon"), 30_000), 30_000);
    }
}
