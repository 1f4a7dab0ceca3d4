//! `--only NAME[,NAME...]`: which parts of the benchmark run. Without it, all of them.

use anyhow::{bail, Result};

/// The parts of a run, by the name `--only` takes.
pub const PARTS: [&str; 14] = [
    "visits-read",
    "visits-write",
    "tickets",
    "ingest",
    "ingest-batch",
    "send",
    "timeline",
    "latency",
    "durability",
    "direct",
    "uncached",
    "composed",
    "passthrough",
    "upgrade",
];

/// The parts chosen; `None` is every part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    only: Option<Vec<&'static str>>,
}

impl Selection {
    pub fn all() -> Selection {
        Selection { only: None }
    }

    /// Parses `--only`'s value: known part names, comma-separated.
    pub fn parse(list: &str) -> Result<Selection> {
        let mut only = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match PARTS.iter().find(|part| **part == name) {
                Some(part) => only.push(*part),
                None => bail!(
                    "--only: unknown part `{name}`; the parts are {}",
                    PARTS.join(", ")
                ),
            }
        }
        if only.is_empty() {
            bail!("--only needs at least one of {}", PARTS.join(", "));
        }
        Ok(Selection { only: Some(only) })
    }

    /// Whether the part called `name` (one of [`PARTS`]) runs.
    pub fn runs(&self, name: &str) -> bool {
        debug_assert!(PARTS.contains(&name), "{name} is not a part");
        self.only.as_ref().is_none_or(|only| only.contains(&name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_named_parts_run() {
        let selection = Selection::parse("send, timeline").unwrap();
        assert!(selection.runs("send") && selection.runs("timeline"));
        assert!(!selection.runs("tickets") && !selection.runs("upgrade"));
        assert!(Selection::all().runs("upgrade"));
    }

    #[test]
    fn unknown_or_missing_names_are_refused() {
        let err = Selection::parse("send,chat").unwrap_err().to_string();
        assert!(err.contains("unknown part `chat`") && err.contains("timeline"));
        assert!(Selection::parse(" , ").is_err());
    }
}
