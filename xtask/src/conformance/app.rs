//! The live app the conformance run tests: `spin-host up` on a free loopback port, with every
//! store in a fresh temporary directory and a random admin token. Dropping it kills the host,
//! also when the run fails half-way.

use std::{
    fs::{self, File},
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use super::http;
use crate::{admin_token, setup};

const HEALTH_PATH: &str = "/.well-known/spin/health";
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// Every store label of spin.toml, each given its own file.
const SQLITE_LABELS: [&str; 6] = [
    "visits",
    "events",
    "support",
    "telemetry",
    "insights",
    "gateway",
];
const KEY_VALUE_LABELS: [&str; 2] = ["telemetry", "gateway"];

pub struct LiveApp {
    child: Child,
    pub addr: SocketAddr,
    dir: PathBuf,
    admin_token: String,
}

impl LiveApp {
    /// Starts `host` from the repository root and waits until it answers its health check.
    pub fn start(host: &Path) -> Result<LiveApp> {
        let dir = std::env::temp_dir().join(format!("xtask-conformance-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let state_dir = dir.join("state");
        fs::create_dir_all(&state_dir)
            .with_context(|| format!("could not create {}", state_dir.display()))?;
        let runtime_config = dir.join("runtime-config.toml");
        fs::write(&runtime_config, runtime_config_toml(&state_dir))?;
        let log_file = File::create(dir.join("host.log"))?;
        let addr = free_addr()?;
        let admin_token = admin_token::random_token()?;
        let mut cmd = Command::new(host);
        cmd.current_dir(setup::repo_root())
            .arg("up")
            .args(["--listen", &addr.to_string()])
            .arg("--runtime-config-file")
            .arg(&runtime_config)
            .arg("--state-dir")
            .arg(&state_dir)
            // In the environment, not the arguments, so it stays out of process listings.
            .env(admin_token::ENV, &admin_token)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        let child = cmd
            .spawn()
            .with_context(|| format!("could not start {}", setup::describe(&cmd)))?;
        let mut app = LiveApp {
            child,
            addr,
            dir,
            admin_token,
        };
        app.wait_until_healthy()?;
        Ok(app)
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Creates an API key with the read and write scope of every service and a rate limit that
    /// no test run reaches, and returns its secret.
    pub fn key_with_every_scope(&self, services: &[&str]) -> Result<String> {
        let scopes: Vec<String> = services
            .iter()
            .flat_map(|service| [format!("{service}:read"), format!("{service}:write")])
            .collect();
        let body = json!({"name": "conformance", "scopes": scopes, "rate_per_minute": 1_000_000});
        let bearer = format!("Bearer {}", self.admin_token);
        let response = http::request(
            self.addr,
            "POST",
            "/admin/keys",
            &[("Authorization", &bearer)],
            Some(&body.to_string()),
        )?;
        if response.status != 201 {
            bail!(
                "POST /admin/keys answered {}: {}",
                response.status,
                response.body
            );
        }
        let created: Value = serde_json::from_str(&response.body)
            .with_context(|| format!("POST /admin/keys answered {}", response.body))?;
        created["key"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("no key in the answer to POST /admin/keys: {created}"))
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
    pub fn stop(mut self, keep_files: bool) {
        self.kill();
        if !keep_files {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn wait_until_healthy(&mut self) -> Result<()> {
        let log = self.log();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "spin-host exited while starting ({status}); its output is in {}",
                    log.display()
                );
            }
            let health = http::request(self.addr, "GET", HEALTH_PATH, &[], None);
            if health.is_ok_and(|response| response.status == 200) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "spin-host did not answer {HEALTH_PATH} on {} within {} s; its output is in {}",
                    self.addr,
                    START_TIMEOUT.as_secs(),
                    log.display()
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for LiveApp {
    fn drop(&mut self) {
        // A no-op after `stop`; on an early return or a panic, the host must not outlive us.
        self.kill();
    }
}

fn runtime_config_toml(state_dir: &Path) -> String {
    let file = |name: String| toml::Value::String(state_dir.join(name).display().to_string());
    let mut config = String::new();
    for label in SQLITE_LABELS {
        let path = file(format!("{label}.db"));
        config.push_str(&format!(
            "[sqlite_database.{label}]\ntype = \"spin\"\npath = {path}\n\n"
        ));
    }
    for label in KEY_VALUE_LABELS {
        let path = file(format!("{label}_kv.db"));
        config.push_str(&format!(
            "[key_value_store.{label}]\ntype = \"spin\"\npath = {path}\n\n"
        ));
    }
    config
}

/// A loopback address with a port that was free a moment ago.
fn free_addr() -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("could not find a free port")?;
    Ok(listener.local_addr()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_gets_its_own_file() {
        let config: toml::Table = runtime_config_toml(Path::new("/tmp/s")).parse().unwrap();
        assert_eq!(
            config["sqlite_database"]["gateway"]["path"].as_str(),
            Some("/tmp/s/gateway.db")
        );
        assert_eq!(
            config["key_value_store"]["telemetry"]["path"].as_str(),
            Some("/tmp/s/telemetry_kv.db")
        );
        assert_eq!(config["sqlite_database"].as_table().unwrap().len(), 6);
    }
}
