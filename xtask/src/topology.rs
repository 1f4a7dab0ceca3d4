//! The application's two topologies, each a manifest at the repository root:
//! - `chained` (`spin.toml`, the default): the gateway is the only public component and calls
//!   each service through service chaining; each service is upgraded on its own.
//! - `composed` (`spin.composed.toml`): each service is served on its public route by the edge
//!   middleware composed with it (one instance per request, no hop); the gateway keeps
//!   discovery, health and admin.

use std::path::PathBuf;

use anyhow::{bail, Result};

use crate::setup;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    Chained,
    Composed,
}

impl Topology {
    pub const ALL: [Topology; 2] = [Topology::Chained, Topology::Composed];

    pub fn parse(name: &str) -> Result<Topology> {
        match name {
            "chained" => Ok(Topology::Chained),
            "composed" => Ok(Topology::Composed),
            other => bail!("unknown topology `{other}`: use `chained` or `composed`"),
        }
    }

    /// Takes `--topology NAME` out of `options`; chained when absent.
    pub fn take_option(options: &mut Vec<String>) -> Result<Topology> {
        match crate::take_value(options, "--topology")? {
            Some(name) => Topology::parse(&name),
            None => Ok(Topology::Chained),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Topology::Chained => "chained",
            Topology::Composed => "composed",
        }
    }

    /// The manifest's file name at the repository root.
    pub fn manifest_file(self) -> &'static str {
        match self {
            Topology::Chained => "spin.toml",
            Topology::Composed => "spin.composed.toml",
        }
    }

    pub fn manifest(self) -> PathBuf {
        setup::repo_root().join(self.manifest_file())
    }

    /// Arguments that make `spin-host up` (run in the repository root) serve this topology.
    pub fn up_args(self) -> Vec<String> {
        match self {
            // `spin up` finds spin.toml in its working directory, as Spin does.
            Topology::Chained => Vec::new(),
            Topology::Composed => vec!["--from".into(), self.manifest_file().into()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Topology;

    #[test]
    fn the_option_names_a_topology_and_defaults_to_chained() {
        let mut options = vec!["--topology".to_owned(), "composed".to_owned()];
        assert_eq!(
            Topology::take_option(&mut options).unwrap(),
            Topology::Composed
        );
        assert!(options.is_empty());
        assert_eq!(
            Topology::take_option(&mut Vec::new()).unwrap(),
            Topology::Chained
        );
        let err = Topology::parse("meshed").unwrap_err().to_string();
        assert!(err.contains("`meshed`"), "{err}");
    }
}
