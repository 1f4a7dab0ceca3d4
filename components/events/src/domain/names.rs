//! Names: topic and subscription names, and the topic patterns subscriptions follow.

use super::{MAX_NAME_LEN, RESERVED};

/// Checks a topic name: `[a-z0-9][a-z0-9.-]{0,63}` and not a reserved name.
pub fn check_topic(name: &str) -> Result<(), String> {
    let bytes = name.as_bytes();
    let valid = (1..=MAX_NAME_LEN).contains(&bytes.len())
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-');
    if !valid {
        return Err(format!(
            "invalid topic name {name:?}: 1 to 64 of a-z, 0-9, '.' and '-', starting with a letter or digit"
        ));
    }
    if RESERVED.contains(&name) {
        return Err(format!("{name:?} is a reserved name, not a topic"));
    }
    Ok(())
}

/// Checks a subscription name: `[a-z0-9][a-z0-9-]{0,63}`.
pub fn check_subscription_name(name: &str) -> Result<(), String> {
    let bytes = name.as_bytes();
    let valid = (1..=MAX_NAME_LEN).contains(&bytes.len())
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid subscription name {name:?}: 1 to 64 of a-z, 0-9 and '-', starting with a letter or digit"
        ))
    }
}

/// A subscription's topic pattern: an exact topic, `prefix.*` (every topic starting with
/// `prefix.`) or `*` (every topic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    All,
    Prefix(String),
    Exact(String),
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, String> {
        if text == "*" {
            return Ok(Pattern::All);
        }
        if let Some(prefix) = text.strip_suffix(".*") {
            // The prefix follows the topic rules (reserved names aside: `topics.*` is harmless).
            return match check_topic(prefix) {
                Ok(()) => Ok(Pattern::Prefix(format!("{prefix}."))),
                Err(_) if RESERVED.contains(&prefix) => Ok(Pattern::Prefix(format!("{prefix}."))),
                Err(_) => Err(format!(
                    "invalid topic pattern {text:?}: use a topic name, \"prefix.*\" or \"*\""
                )),
            };
        }
        check_topic(text).map_err(|problem| {
            format!("invalid topic pattern {text:?} ({problem}): use a topic name, \"prefix.*\" or \"*\"")
        })?;
        Ok(Pattern::Exact(text.to_owned()))
    }

    pub fn matches(&self, topic: &str) -> bool {
        match self {
            Pattern::All => true,
            Pattern::Prefix(prefix) => topic.starts_with(prefix.as_str()),
            Pattern::Exact(name) => name == topic,
        }
    }
}

/// Whether any of `patterns` (as stored: the texts a subscription was given) matches `topic`.
pub fn any_matches(patterns: &[String], topic: &str) -> bool {
    patterns
        .iter()
        .filter_map(|p| Pattern::parse(p).ok())
        .any(|p| p.matches(topic))
}
