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

/// What sets the topologies apart, by design: in wasi:http 0.2 a middleware can neither build
/// a request nor see the answer it passes on, so the composed edge only admits or refuses.
impl Topology {
    /// Whether the front adds its headers (`x-request-id`, CORS, `ratelimit-*`, the cache
    /// state) to the service's own answers; its own refusals and preflights carry them always.
    pub fn decorates_answers(self) -> bool {
        self == Topology::Chained
    }

    /// Whether the front rewrites the request a service sees: strips the client's
    /// `x-gateway-*` headers (the composed edge must refuse them instead, 400) and passes the
    /// request id on, into the service and the events it publishes.
    pub fn rewrites_requests(self) -> bool {
        self == Topology::Chained
    }

    /// Whether reads of a `cached_reads` service can be answered from the gateway's cache.
    pub fn caches_reads(self) -> bool {
        self == Topology::Chained
    }

    /// Whether the front counts a streamed body, so one over the limit is 413 even without a
    /// `content-length` (the composed edge can only check the declared length).
    pub fn counts_streamed_bodies(self) -> bool {
        self == Topology::Chained
    }

    /// Whether a service answers across a hop with the gateway's deadlines (composed: the
    /// service runs in the edge's own instance).
    pub fn proxies_with_deadlines(self) -> bool {
        self == Topology::Chained
    }

    /// The components with a public route, as the gateway lists them.
    pub fn public_components(self, services: &[&str]) -> Vec<String> {
        let mut public = vec!["gateway".to_owned()];
        if self == Topology::Composed {
            public.extend(services.iter().map(|service| format!("{service}-edge")));
        }
        public
    }

    /// The name the skip messages use.
    pub fn name(self) -> &'static str {
        match self {
            Topology::Chained => "chained",
            Topology::Composed => "composed",
        }
    }
}

/// True, after saying so and why, when this run is for `topology`: for a test of which nothing
/// applies there (the test returns at once), in the same style as the real-Spin skips.
pub fn skipped_in(topology: Topology, reason: &str) -> bool {
    let skipped = Topology::current() == topology;
    if skipped {
        eprintln!("skipped on the {} topology: {reason}", topology.name());
    }
    skipped
}
