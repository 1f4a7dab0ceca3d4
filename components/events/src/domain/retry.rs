//! Retry backoff for failed deliveries.

use super::{DEFAULT_RETRY_BASE_MS, MAX_BACKOFF_MS};

/// Delay before the next attempt after `attempts` failed ones: `base * 2^(attempts-1)`, capped.
pub fn backoff_ms(base_ms: i64, attempts: i64) -> i64 {
    let exponent = (attempts - 1).clamp(0, 40) as u32;
    base_ms
        .max(0)
        .saturating_mul(1i64 << exponent)
        .min(MAX_BACKOFF_MS)
}

/// The `retry_base_ms` variable: 0 to 10 minutes, else the default.
pub fn parse_retry_base(text: Option<&str>) -> i64 {
    text.and_then(|t| t.trim().parse::<i64>().ok())
        .filter(|ms| (0..=MAX_BACKOFF_MS).contains(ms))
        .unwrap_or(DEFAULT_RETRY_BASE_MS)
}
