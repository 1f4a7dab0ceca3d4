//! Timestamps: RFC 3339 text on the wire, Unix milliseconds in the databases (so they sort and subtract).
//!
//! Written out rather than taken from the `time` crate, whose general parser and formatter
//! were about 12 KB of every component for these two fixed formats. The rules are `time`'s
//! `Rfc3339` (the unit tests compare both over many values): four-digit years, any one byte
//! between date and time, `Z` in either case or a `±HH:MM` offset (hours at most 23), fractions
//! of any length (digits past nanoseconds ignored), and second 60 only as a leap second (the
//! last second of a month in UTC, read as its final nanosecond).

use std::time::{SystemTime, UNIX_EPOCH};

const MILLIS_PER_DAY: i64 = 86_400_000;
/// The range `time` accepts, in days from the epoch: -9999-01-01 to 9999-12-31.
const MIN_DAY: i64 = -4_371_587;
const MAX_DAY: i64 = 2_932_896;

/// Now, in milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(since) => since.as_millis() as i64,
        Err(before) => -(before.duration().as_millis() as i64),
    }
}

/// Milliseconds since the epoch as RFC 3339 UTC, e.g. `2026-11-23T10:15:00.25Z` (trailing zeros
/// of the fraction dropped). Outside years -9999..=9999 it is the epoch; before year 0 it is
/// empty (RFC 3339 has four-digit years only).
pub fn format_millis(millis: i64) -> String {
    let mut day = millis.div_euclid(MILLIS_PER_DAY);
    let mut of_day = millis.rem_euclid(MILLIS_PER_DAY);
    if !(MIN_DAY..=MAX_DAY).contains(&day) {
        (day, of_day) = (0, 0);
    }
    let (year, month, date) = civil_from_days(day);
    if year < 0 {
        return String::new();
    }
    let seconds = of_day / 1000;
    let (hour, minute, second) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    // Digits written directly: `format!` with padding is a visible share of a page of posts.
    let mut text = String::with_capacity(24);
    push_digits(&mut text, year, 4);
    text.push('-');
    push_digits(&mut text, month, 2);
    text.push('-');
    push_digits(&mut text, date, 2);
    text.push('T');
    push_digits(&mut text, hour, 2);
    text.push(':');
    push_digits(&mut text, minute, 2);
    text.push(':');
    push_digits(&mut text, second, 2);
    let mut fraction = of_day % 1000;
    if fraction != 0 {
        let mut width = 3;
        while fraction % 10 == 0 {
            fraction /= 10;
            width -= 1;
        }
        text.push('.');
        push_digits(&mut text, fraction, width);
    }
    text.push('Z');
    text
}

/// Appends the last `width` decimal digits of `value` (non-negative), zero-padded.
fn push_digits(text: &mut String, value: i64, width: u32) {
    for place in (0..width).rev() {
        let digit = (value / 10_i64.pow(place) % 10) as u8;
        text.push(char::from(b'0' + digit));
    }
}

/// Now as RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    format_millis(now_millis())
}

/// Parses an RFC 3339 timestamp (any offset) to milliseconds since the epoch (towards zero).
pub fn parse_rfc3339(text: &str) -> Result<i64, String> {
    parse(text.as_bytes())
        .map_err(|part| format!("{text:?} is not an RFC 3339 timestamp (invalid {part})"))
}

/// The timestamp in `input`, or the name of the first part that is wrong.
fn parse(input: &[u8]) -> Result<i64, &'static str> {
    let mut cursor = Cursor(input);
    let year = cursor.digits(4).ok_or("year")?;
    cursor.literal(b'-').ok_or("date separator")?;
    let month = cursor.digits(2).ok_or("month")?;
    cursor.literal(b'-').ok_or("date separator")?;
    let day = cursor.digits(2).ok_or("day")?;
    cursor.skip_one().ok_or("date and time separator")?;
    let hour = cursor.digits(2).ok_or("hour")?;
    cursor.literal(b':').ok_or("time separator")?;
    let minute = cursor.digits(2).ok_or("minute")?;
    cursor.literal(b':').ok_or("time separator")?;
    let mut second = cursor.digits(2).ok_or("second")?;
    let mut nanos = match cursor.literal(b'.') {
        Some(()) => cursor.fraction().ok_or("fraction of a second")?,
        None => 0,
    };
    let offset_seconds = cursor.offset()?;
    if !cursor.0.is_empty() {
        return Err("end (trailing characters)");
    }
    // A leap second stands in as the last nanosecond of the second before it.
    let leap = second == 60;
    if leap {
        (second, nanos) = (59, 999_999_999);
    }
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(if (1..=12).contains(&month) {
            "day"
        } else {
            "month"
        });
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(if hour > 23 {
            "hour"
        } else if minute > 59 {
            "minute"
        } else {
            "second"
        });
    }
    let local_seconds =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    let utc_seconds = local_seconds - offset_seconds;
    if leap && !is_last_second_of_a_month(utc_seconds) {
        return Err("second (60 only as a month's last second in UTC)");
    }
    let utc_nanos = i128::from(utc_seconds) * 1_000_000_000 + i128::from(nanos);
    Ok((utc_nanos / 1_000_000) as i64)
}

/// Whether `seconds` since the epoch is 23:59:59 on the last day of its month (UTC).
fn is_last_second_of_a_month(seconds: i64) -> bool {
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    seconds.rem_euclid(86_400) == 86_399 && day == days_in_month(year, month)
}

/// What is left of the text being parsed.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    /// Exactly `count` ASCII digits as a number.
    fn digits(&mut self, count: usize) -> Option<i64> {
        let (digits, rest) = self.0.split_at_checked(count)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.0 = rest;
        Some(digits.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    }

    fn literal(&mut self, byte: u8) -> Option<()> {
        let rest = self.0.strip_prefix(&[byte])?;
        self.0 = rest;
        Some(())
    }

    fn skip_one(&mut self) -> Option<()> {
        self.0 = self.0.get(1..)?;
        Some(())
    }

    /// One or more digits after the decimal point, as nanoseconds (further digits ignored).
    fn fraction(&mut self) -> Option<i64> {
        let count = self.0.iter().take_while(|b| b.is_ascii_digit()).count();
        if count == 0 {
            return None;
        }
        let nanos = self.0[..count]
            .iter()
            .chain(std::iter::repeat(&b'0'))
            .take(9)
            .fold(0, |n, d| n * 10 + i64::from(d - b'0'));
        self.0 = &self.0[count..];
        Some(nanos)
    }

    /// `Z` (either case) or `±HH:MM`, as seconds east of UTC.
    fn offset(&mut self) -> Result<i64, &'static str> {
        if self.literal(b'Z').or_else(|| self.literal(b'z')).is_some() {
            return Ok(0);
        }
        let sign = match self.0.first() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Err("offset"),
        };
        self.skip_one().ok_or("offset")?;
        let hours = self.digits(2).filter(|h| *h <= 23).ok_or("offset hour")?;
        self.literal(b':').ok_or("offset separator")?;
        let minutes = self.digits(2).filter(|m| *m <= 59).ok_or("offset minute")?;
        Ok(sign * (hours * 3600 + minutes * 60))
    }
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` after 1970-01-01 as (year, month, day); the inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests;
