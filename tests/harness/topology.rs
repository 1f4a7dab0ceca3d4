//! Which topology the main app is started in, from `APP_TOPOLOGY` (`cargo xtask test` runs the
//! app suites once per topology): `chained` (default, `spin.toml`: the gateway calls each
//! service through service chaining) or `composed` (`spin.composed.toml`: each service's
//! public route is served by the edge middleware composed with it).

use std::path::PathBuf;

use crate::files::repo_root;

/// The variable `cargo xtask test` sets for each run of the app suites.
pub const TOPOLOGY_ENV: &str = "APP_TOPOLOGY";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    Chained,
    Composed,
}

impl Topology {
    /// The topology this test run is for; an unknown value is a mistake worth stopping on.
    pub fn current() -> Topology {
        match std::env::var(TOPOLOGY_ENV).as_deref() {
            Err(_) | Ok("") | Ok("chained") => Topology::Chained,
            Ok("composed") => Topology::Composed,
            Ok(other) => panic!("{TOPOLOGY_ENV}={other}: use `chained` or `composed`"),
        }
    }

    /// The app's manifest in this topology.
    pub fn manifest(self) -> PathBuf {
        repo_root().join(match self {
            Topology::Chained => "spin.toml",
            Topology::Composed => "spin.composed.toml",
        })
    }

    /// The components whose wasm the topology's manifest loads, beyond the services.
    pub fn front_components(self) -> &'static [&'static str] {
        match self {
            Topology::Chained => &["gateway"],
            Topology::Composed => &["gateway", "edge"],
        }
    }
}
