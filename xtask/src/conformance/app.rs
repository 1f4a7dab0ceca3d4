//! The live app the conformance run tests: the host on a free loopback port (`crate::server`),
//! with every store in a fresh temporary directory and a random admin token. Dropping it stops
//! the host, also when the run fails half-way.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};

use crate::admin_token;
use crate::server::{self, Server, ServerSpec};
use crate::topology::Topology;

pub struct LiveApp {
    server: Server,
    dir: PathBuf,
    admin_token: String,
}

impl LiveApp {
    /// Starts `host` from the repository root serving `topology`, and waits until it answers
    /// its health check.
    pub fn start(host: &Path, topology: Topology) -> Result<LiveApp> {
        let dir = std::env::temp_dir().join(format!(
            "xtask-conformance-{}-{}",
            topology.name(),
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        let state_dir = dir.join("state");
        fs::create_dir_all(&state_dir)
            .with_context(|| format!("could not create {}", state_dir.display()))?;
        let runtime_config = dir.join("runtime-config.toml");
        fs::write(&runtime_config, server::runtime_config_in(&state_dir))?;
        let admin_token = admin_token::random_token()?;
        let server = Server::start(&ServerSpec {
            name: "spin-host".into(),
            program: host.to_path_buf(),
            addr: server::free_addr()?,
            runtime_config,
            state_dir,
            log: dir.join("host.log"),
            extra_args: topology.up_args(),
            // In the environment, not the arguments, so it stays out of process listings.
            env: vec![(admin_token::ENV.to_owned(), admin_token.clone())],
        })?;
        Ok(LiveApp {
            server,
            dir,
            admin_token,
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// A key with every scope and a rate limit no test run reaches; its secret.
    pub fn key_with_every_scope(&self) -> Result<String> {
        server::create_all_scopes_key(self.server.addr(), &self.admin_token, "conformance")
    }

    /// The run's temporary directory (stores, runtime config, the host's output).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the host's output is; the directory is kept when the run fails.
    pub fn log(&self) -> PathBuf {
        self.dir.join("host.log")
    }

    /// Stops the host; the directory is removed too, unless `keep_files` (to read the log).
    pub fn stop(self, keep_files: bool) {
        drop(self.server);
        if !keep_files {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
