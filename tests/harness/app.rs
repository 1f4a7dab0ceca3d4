//! The app server as a child process: start it on a free loopback port with its own temp dir
//! (state dir, runtime config, server log), wait until it is healthy, restart it, stop it.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use crate::files::{read_lossy, repo_root, require_file};
use crate::fixtures::{all_scopes, DEFAULT_KEY_RATE};
use crate::http::{new_agent, send, REQUEST_TIMEOUT};
use crate::wait::poll;

/// How long a server may take to become healthy (the first start compiles wasm).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
const HEALTH_POLL_INTERVAL: Duration = Duration::from_millis(50);
const HEALTH_PATH: &str = "/.well-known/spin/health";

/// Attempts to start on a fresh port when the chosen one was taken meanwhile.
const PORT_ATTEMPTS: usize = 3;

/// True when the tests run against the real Spin (`SPIN_BIN` is set); tests of
/// host-only flags skip themselves then.
pub fn is_real_spin() -> bool {
    std::env::var_os("SPIN_BIN").is_some()
}

/// A free loopback port (bound and released, so another process could take it
/// before it is used; [`TestApp`] retries in that case).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// What to start: a manifest plus its runtime config, environment and flags.
#[derive(Clone, Debug, Default)]
pub struct AppSpec {
    /// Path of the `spin.toml` (passed as `--from`, unless it is the repo's own).
    pub manifest: PathBuf,
    /// Runtime-config TOML; every `{tmp}` is replaced by the app's temp dir.
    /// Empty = no `--runtime-config-file`.
    pub runtime_config: String,
    /// Extra environment for the server process.
    pub env: Vec<(String, String)>,
    /// Extra arguments after the standard `up` arguments.
    pub extra_args: Vec<String>,
    /// The gateway's admin token, for an app with the gateway: it goes to the server as
    /// `SPIN_VARIABLE_ADMIN_TOKEN`, and once the app is up the harness creates an all-scopes key
    /// that [`TestApp::request`] and the other convenience methods send.
    pub admin_token: Option<String>,
}

/// Why a server did not become healthy.
pub struct StartFailure {
    /// The exit status, or `None` if it was still running at the deadline.
    pub status: Option<ExitStatus>,
    /// Everything the server printed (stdout and stderr, interleaved).
    pub stderr: String,
}

impl fmt::Display for StartFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "server exited before becoming healthy ({status})")?,
            None => write!(f, "server not healthy after {STARTUP_TIMEOUT:?}")?,
        }
        write!(f, "; its output:\n{}", self.stderr)
    }
}

impl fmt::Debug for StartFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A running app server. Killed (with its process group) and reaped on drop.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub base_url: String,
    pub(crate) spec: AppSpec,
    /// Shared by the replicas of one app: their state dir and runtime config.
    pub(crate) temp: Arc<tempfile::TempDir>,
    pub(crate) child: Option<Child>,
    pub(crate) agent: ureq::Agent,
    /// `(id, key)` of the all-scopes key, when the spec has an admin token.
    pub(crate) default_key: Option<(String, String)>,
}

impl TestApp {
    /// Starts an app and waits until it is healthy; panics with the server's
    /// output if it is not.
    pub fn start(spec: AppSpec) -> TestApp {
        match TestApp::try_start(spec) {
            Ok(app) => app,
            Err(failure) => panic!("{failure}"),
        }
    }

    /// Starts an app; `Err` if the server exits (or is still unhealthy at the
    /// deadline) before `/.well-known/spin/health` answers 200. For tests
    /// that expect startup to fail.
    pub fn try_start(spec: AppSpec) -> Result<TestApp, StartFailure> {
        let temp = tempfile::Builder::new()
            .prefix("spin-test-")
            .tempdir()
            .expect("create temp dir");
        fs::create_dir_all(temp.path().join("state")).expect("create state dir");
        if !spec.runtime_config.is_empty() {
            let tmp = temp.path().to_str().expect("utf-8 temp path");
            fs::write(
                temp.path().join("runtime-config.toml"),
                spec.runtime_config.replace("{tmp}", tmp),
            )
            .expect("write runtime config");
        }
        let mut app = TestApp {
            base_url: String::new(),
            spec,
            temp: Arc::new(temp),
            child: None,
            agent: new_agent(REQUEST_TIMEOUT),
            default_key: None,
        };
        app.launch()?;
        if app.spec.admin_token.is_some() {
            let scopes = all_scopes();
            let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
            app.default_key = Some(app.create_key("tests", &scopes, DEFAULT_KEY_RATE));
        }
        Ok(app)
    }
    /// Starts another process of the same app on its own port, on the same stores (state dir,
    /// runtime config, so the same keys too): a replica, as many replicas on shared stores run
    /// in production. Its output goes to the same `server.log`.
    pub fn start_replica(&self) -> TestApp {
        let mut replica = TestApp {
            base_url: String::new(),
            spec: self.spec.clone(),
            temp: self.temp.clone(),
            child: None,
            agent: new_agent(REQUEST_TIMEOUT),
            default_key: self.default_key.clone(),
        };
        if let Err(failure) = replica.launch() {
            panic!("replica failed to start: {failure}");
        }
        replica
    }

    /// The app's temp dir (holds `state/`, `runtime-config.toml`, `server.log`).
    pub fn temp_dir(&self) -> &Path {
        self.temp.path()
    }

    /// The state dir passed as `--state-dir`.
    pub fn state_dir(&self) -> PathBuf {
        self.temp.path().join("state")
    }
    /// The server's process id (also its process group's), while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILLs the server (and its children); the state dir is kept.
    pub fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_process_group(&mut child);
        }
    }

    /// Sends SIGTERM to the server, as a service manager would to stop it.
    pub fn terminate(&self) {
        if let Some(child) = &self.child {
            // SAFETY: plain syscall on a child we spawned and have not reaped.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
            }
        }
    }

    /// Sends SIGHUP to the server: our host reloads the application then
    /// (host-only: the real Spin has no reload).
    pub fn signal_reload(&self) {
        let child = self.child.as_ref().expect("server running");
        // SAFETY: plain syscall on a child we spawned and have not reaped.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGHUP);
        }
    }

    /// Waits up to `limit` for the server to exit; `None` if it is still running.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let status = poll(limit, HEALTH_POLL_INTERVAL, || {
            child.try_wait().ok().flatten()
        })?;
        self.child = None;
        Some(status)
    }

    /// Starts the server again with the same spec, state dir and runtime
    /// config (on a new port: `base_url` changes) and waits until healthy. The
    /// default key stays the same: the gateway keeps keys in its key-value file.
    pub fn restart(&mut self) {
        self.kill_hard();
        self.agent = new_agent(REQUEST_TIMEOUT);
        if let Err(failure) = self.launch() {
            panic!("restart failed: {failure}");
        }
    }

    /// Like [`TestApp::restart`], but with these extra `up` arguments from now
    /// on (e.g. to drop a `--variable` that made a dependency unreachable).
    pub fn restart_with(&mut self, extra_args: &[&str]) {
        self.spec.extra_args = extra_args.iter().map(|a| a.to_string()).collect();
        self.restart();
    }

    /// Everything the server printed so far (stdout and stderr, interleaved),
    /// across restarts.
    pub fn stderr(&self) -> String {
        read_lossy(&self.log_path())
    }

    fn log_path(&self) -> PathBuf {
        self.temp.path().join("server.log")
    }

    fn launch(&mut self) -> Result<(), StartFailure> {
        let mut attempt = 1;
        loop {
            let log_start = fs::metadata(self.log_path()).map(|m| m.len()).unwrap_or(0);
            let port = free_port();
            let child = self.spawn(port);
            self.child = Some(child);
            self.base_url = format!("http://127.0.0.1:{port}");
            match self.wait_healthy() {
                Ok(()) => return Ok(()),
                Err(status) => {
                    if let Some(mut child) = self.child.take() {
                        kill_process_group(&mut child);
                    }
                    let output = read_lossy(&self.log_path());
                    let output = output
                        .get(log_start as usize..)
                        .unwrap_or(&output)
                        .to_owned();
                    let port_taken = output.contains("in use") || output.contains("AddrInUse");
                    if port_taken && attempt < PORT_ATTEMPTS {
                        attempt += 1;
                        continue;
                    }
                    return Err(StartFailure {
                        status,
                        stderr: output,
                    });
                }
            }
        }
    }

    fn spawn(&self, port: u16) -> Child {
        let server = server_binary();
        let mut command = Command::new(&server);
        command
            .arg("up")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"));
        // The repository's own app starts exactly as `spin up` would in the
        // repo root (spin.toml found there); other apps name their manifest.
        if self.spec.manifest != repo_root().join("spin.toml") {
            command.arg("--from").arg(&self.spec.manifest);
        }
        command.arg("--state-dir").arg(self.state_dir());
        if !self.spec.runtime_config.is_empty() {
            command
                .arg("--runtime-config-file")
                .arg(self.temp.path().join("runtime-config.toml"));
        }
        command.args(&self.spec.extra_args);
        // Only the spec decides, never the environment the tests run in.
        match &self.spec.admin_token {
            Some(token) => command.env("SPIN_VARIABLE_ADMIN_TOKEN", token),
            None => command.env_remove("SPIN_VARIABLE_ADMIN_TOKEN"),
        };
        command.envs(self.spec.env.iter().map(|(k, v)| (k, v)));
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open server log");
        command
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            // Its own process group, so that killing it also kills the children
            // (`spin up` runs the trigger as a child process).
            .process_group(0);
        command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", server.display()))
    }

    /// `Ok` once healthy; `Err(exit status)` if the server exited, or
    /// `Err(None)` at the deadline.
    fn wait_healthy(&mut self) -> Result<(), Option<ExitStatus>> {
        let health_agent = new_agent(Duration::from_secs(2));
        let url = self.url(HEALTH_PATH);
        let child = self.child.as_mut().expect("server running");
        poll(STARTUP_TIMEOUT, HEALTH_POLL_INTERVAL, || {
            if let Some(status) = child.try_wait().expect("poll server process") {
                return Some(Err(Some(status)));
            }
            send(&health_agent, "GET", &url, &[], Vec::new())
                .is_ok_and(|response| response.status == 200)
                .then_some(Ok(()))
        })
        .unwrap_or(Err(None))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// The server the tests run: `$SPIN_BIN`, else `$SPIN_HOST_BIN`, else
/// `<repo>/target/debug/spin-host`.
pub fn server_binary() -> PathBuf {
    if let Some(spin) = std::env::var_os("SPIN_BIN") {
        return PathBuf::from(spin);
    }
    if let Some(host) = std::env::var_os("SPIN_HOST_BIN") {
        return PathBuf::from(host);
    }
    let host = repo_root().join("target/debug/spin-host");
    require_file(
        &host,
        "build it with `cargo build -p spin-host`, or set SPIN_HOST_BIN (our host) or SPIN_BIN (real Spin)",
    );
    host
}

fn kill_process_group(child: &mut Child) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: plain syscall; the group id is the pid of a child we spawned with
    // `process_group(0)` and have not reaped yet, so it cannot have been reused.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}
