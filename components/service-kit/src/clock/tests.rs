//! The clock's own RFC 3339 code against the `time` crate it replaced, over many values.

use super::*;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// What the `time` crate gave for `format_millis`.
fn time_format(millis: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    at.format(&Rfc3339).unwrap_or_default()
}

/// What the `time` crate gave for `parse_rfc3339` (without its error text).
fn time_parse(text: &str) -> Option<i64> {
    let at = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    Some((at.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// A small deterministic generator, so that a failure can be repeated.
struct Numbers(u64);

impl Numbers {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

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
    assert!(err.contains("year"), "{err}");
}

#[test]
fn the_supported_range_is_times() {
    assert_eq!(days_from_civil(-9999, 1, 1), MIN_DAY);
    assert_eq!(days_from_civil(9999, 12, 31), MAX_DAY);
    assert_eq!(days_from_civil(1970, 1, 1), 0);
}

#[test]
fn formatting_matches_the_time_crate() {
    let mut numbers = Numbers(0x5eed_1234_abcd_0001);
    let mut cases = vec![
        0,
        1,
        -1,
        999,
        -999,
        1_000,
        i64::MIN,
        i64::MAX,
        253_402_300_799_999,  // 9999-12-31T23:59:59.999Z
        253_402_300_800_000,  // year 10000: outside time's range
        -62_167_219_200_000,  // 0000-01-01
        -62_167_219_200_001,  // just before year 0
        -377_705_116_800_000, // -9999-01-01
        -377_705_116_800_001,
        951_782_400_000,   // 2000-02-29
        4_107_542_400_000, // 2100-03-01
    ];
    for _ in 0..20_000 {
        // Anywhere from well before year 0 to well after 9999, and near the epoch.
        let wide = numbers.below(700_000_000_000_000) as i64 - 400_000_000_000_000;
        let near = numbers.below(10_000_000_000) as i64 - 5_000_000_000;
        cases.extend([wide, near]);
    }
    for millis in cases {
        assert_eq!(format_millis(millis), time_format(millis), "{millis}");
    }
}

/// Texts that are valid, nearly valid, and broken in each part.
fn parse_cases() -> Vec<String> {
    let mut cases: Vec<String> = [
        "2026-11-23T10:15:00Z",
        "2026-11-23t10:15:00z",
        "2026-11-23 10:15:00Z",
        "2026-11-23_10:15:00Z",
        "2026-11-23T10:15:00.1Z",
        "2026-11-23T10:15:00.123456789Z",
        "2026-11-23T10:15:00.1234567891234Z",
        "2026-11-23T10:15:00.Z",
        "2026-11-23T10:15:00+23:59",
        "2026-11-23T10:15:00-23:59",
        "2026-11-23T10:15:00+24:00",
        "2026-11-23T10:15:00+01:60",
        "2026-11-23T10:15:00+0100",
        "2026-11-23T10:15:00",
        "2026-11-23T10:15:00ZZ",
        "2026-11-23T10:15Z",
        "2026-11-23",
        "2026-02-29T00:00:00Z",
        "2024-02-29T00:00:00Z",
        "2000-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-00-10T00:00:00Z",
        "2026-13-10T00:00:00Z",
        "2026-12-00T00:00:00Z",
        "2026-12-31T24:00:00Z",
        "2026-12-31T23:60:00Z",
        "2026-12-31T23:59:60Z",
        "2026-12-31T23:59:60.5Z",
        "2026-12-30T23:59:60Z",
        "2026-06-30T23:59:60Z",
        "2027-01-01T00:59:60+01:00",
        "2026-12-31T22:59:60-01:00",
        "2026-12-31T23:59:61Z",
        "0000-01-01T00:00:00Z",
        "0000-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59.999999999Z",
        "9999-12-31T23:59:59-23:59",
        "1969-12-31T23:59:59.9995Z",
        "1969-12-31T23:59:59.0001Z",
        "+2026-11-23T10:15:00Z",
        "20261-11-23T10:15:00Z",
        "2026-1-23T10:15:00Z",
        "２０２６-11-23T10:15:00Z",
        "2026-11-23é10:15:00Z",
        "",
        "yesterday",
    ]
    .iter()
    .map(|case| case.to_string())
    .collect();
    let mut numbers = Numbers(0x0dd_ba11_cafe_f00d);
    for _ in 0..20_000 {
        let offset = match numbers.below(4) {
            0 => "Z".to_owned(),
            1 => "z".to_owned(),
            sign => format!(
                "{}{:02}:{:02}",
                if sign == 2 { '+' } else { '-' },
                numbers.below(26),
                numbers.below(62)
            ),
        };
        let fraction = match numbers.below(3) {
            0 => String::new(),
            _ => format!(".{}", numbers.below(10_000_000_000_000)),
        };
        cases.push(format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{fraction}{offset}",
            numbers.below(10_000),
            numbers.below(14),
            numbers.below(33),
            numbers.below(25),
            numbers.below(61),
            numbers.below(62),
        ));
    }
    cases
}

#[test]
fn parsing_matches_the_time_crate() {
    for text in parse_cases() {
        assert_eq!(parse_rfc3339(&text).ok(), time_parse(&text), "{text:?}");
    }
}

#[test]
fn leap_seconds_stand_in_for_the_last_nanosecond() {
    let leap = parse_rfc3339("2026-12-31T23:59:60Z").unwrap();
    assert_eq!(leap, parse_rfc3339("2026-12-31T23:59:59.999Z").unwrap());
    assert!(parse_rfc3339("2026-12-30T23:59:60Z").is_err());
}
