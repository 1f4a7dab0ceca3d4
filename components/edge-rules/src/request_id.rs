//! The id that follows one request through the gateway, every service and the events they publish.

/// Longest client-supplied id kept; longer ones are replaced rather than truncated.
const MAX_LEN: usize = 128;

/// The client's `x-request-id` when it is a sane token, else a new UUID. Odd ids are replaced,
/// not refused: the id is for tracing, and it ends up in logs and events.
pub fn accept_or_generate(incoming: Option<&str>) -> String {
    match incoming.map(str::trim) {
        Some(id) if is_acceptable(id) => id.to_owned(),
        _ => uuid::Uuid::new_v4().to_string(),
    }
}

fn is_acceptable(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids_are_kept() {
        assert_eq!(accept_or_generate(Some(" abc-123:x.y_z ")), "abc-123:x.y_z");
    }

    #[test]
    fn absent_or_odd_ids_are_replaced_by_uuids() {
        for incoming in [None, Some(""), Some("a b"), Some("<script>")] {
            let id = accept_or_generate(incoming);
            assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        }
        let long = "x".repeat(MAX_LEN + 1);
        assert_ne!(accept_or_generate(Some(&long)), long);
    }
}
