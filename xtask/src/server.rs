//! The application as a live server for the benchmark and the conformance run: a child
//! process (`spin-host up` or `spin up`) that is stopped when dropped, also when the caller fails
//! half-way; every store in files of one directory; an API key with every scope.

use std::{
    collections::HashMap,
    fs::OpenOptions,
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

use crate::http;
use crate::setup;

const HEALTH_PATH: &str = "/.well-known/spin/health";
const START_TIMEOUT: Duration = Duration::from_secs(120);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// The server counts as idle once it used at most `IDLE_SHARE` of one core over a whole
/// `IDLE_WINDOW` (its timers and tickers use far less; a forwarding outbox far more).
const IDLE_WINDOW: Duration = Duration::from_millis(500);
const IDLE_SHARE: f64 = 0.05;

/// How to start a server: `<program> up --listen <addr> --runtime-config-file <file>
/// --state-dir <dir>` in the repository root, output appended to `log`.
pub struct ServerSpec {
    pub name: String,
    pub program: PathBuf,
    pub addr: SocketAddr,
    pub runtime_config: PathBuf,
    pub state_dir: PathBuf,
    pub log: PathBuf,
    /// More `up` arguments (e.g. `--variable name=value`).
    pub extra_args: Vec<String>,
    /// Environment of the server (e.g. `SPIN_VARIABLE_ADMIN_TOKEN`).
    pub env: Vec<(String, String)>,
}

pub struct Server {
    child: Child,
    addr: SocketAddr,
    name: String,
    log: PathBuf,
    stopped: bool,
}

impl Server {
    /// Starts the server and waits until its health endpoint answers.
    pub fn start(spec: &ServerSpec) -> Result<Server> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .with_context(|| format!("could not open {}", spec.log.display()))?;
        let mut cmd = Command::new(&spec.program);
        cmd.current_dir(setup::repo_root())
            .arg("up")
            .arg("--listen")
            .arg(spec.addr.to_string())
            .arg("--runtime-config-file")
            .arg(&spec.runtime_config)
            .arg("--state-dir")
            .arg(&spec.state_dir)
            .args(&spec.extra_args)
            .envs(spec.env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = cmd
            .spawn()
            .with_context(|| format!("could not start {}", setup::describe(&cmd)))?;
        let mut server = Server {
            child,
            addr: spec.addr,
            name: spec.name.clone(),
            log: spec.log.clone(),
            stopped: false,
        };
        server.wait_until_healthy()?;
        Ok(server)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn wait_until_healthy(&mut self) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                self.stopped = true;
                bail!(
                    "{} exited while starting ({status}); its output is in {}",
                    self.name,
                    self.log.display()
                );
            }
            if http::get(self.addr, HEALTH_PATH).is_ok_and(|response| response.is_success()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not answer {HEALTH_PATH} on {} within {} s; its output is in {}",
                    self.name,
                    self.addr,
                    START_TIMEOUT.as_secs(),
                    self.log.display()
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Peak resident memory in KiB: VmHWM summed over the server's processes (Spin serves
    /// from a child process of `spin up`).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let values: Vec<u64> = process_tree(self.child.id())
            .into_iter()
            .filter_map(peak_rss_of)
            .collect();
        if values.is_empty() {
            None
        } else {
            Some(values.iter().sum())
        }
    }

    /// Sends `signal` to the server's own process (e.g. SIGHUP: our host reloads).
    pub fn signal(&self, signal: libc::c_int) {
        signal_all(&[self.child.id()], signal);
    }

    /// Waits, at most `limit`, until the server is idle: work a scenario leaves behind (its
    /// outboxes still forwarding events) would otherwise be measured as part of the next one.
    /// Returns how long it waited and whether the server went idle.
    pub fn wait_until_idle(&self, limit: Duration) -> (Duration, bool) {
        let started = Instant::now();
        let ticks_per_sec = clock_ticks_per_sec();
        let mut before = cpu_ticks(&process_tree(self.child.id()));
        while started.elapsed() < limit {
            thread::sleep(IDLE_WINDOW);
            let now = cpu_ticks(&process_tree(self.child.id()));
            let used = now.saturating_sub(before) as f64 / ticks_per_sec;
            if used <= IDLE_SHARE * IDLE_WINDOW.as_secs_f64() {
                return (started.elapsed(), true);
            }
            before = now;
        }
        (started.elapsed(), false)
    }

    /// Kills the server and all its processes with SIGKILL, as a crash would.
    pub fn kill_hard(&mut self) {
        signal_all(&process_tree(self.child.id()), libc::SIGKILL);
        let _ = self.child.wait();
        self.stopped = true;
    }

    /// Stops the server as Ctrl-C would (SIGINT to all its processes), then SIGKILL after a while.
    fn stop(&mut self) {
        let pids = process_tree(self.child.id());
        signal_all(&pids, libc::SIGINT);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if !pids.iter().any(|&pid| is_alive(pid, &mut self.child)) {
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
        signal_all(
            &pids
                .into_iter()
                .filter(|&pid| is_alive(pid, &mut self.child))
                .collect::<Vec<_>>(),
            libc::SIGKILL,
        );
        let _ = self.child.wait();
        self.stopped = true;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if !self.stopped {
            eprintln!("xtask: stopping {}", self.name);
            self.stop();
        }
    }
}

/// The services of `spin.toml` (the gateway's registry).
pub const SERVICES: [&str; 7] = [
    "visits",
    "events",
    "support",
    "telemetry",
    "insights",
    "chat",
    "feed",
];

/// A runtime config giving every store of the application its own file in `dir`.
pub fn runtime_config_in(dir: &Path) -> String {
    let path = |file: String| toml::Value::String(dir.join(file).display().to_string());
    let mut config = String::new();
    for label in SERVICES.iter().chain(&["gateway"]) {
        let file = path(format!("{label}.db"));
        config.push_str(&format!(
            "[sqlite_database.{label}]\ntype = \"spin\"\npath = {file}\n\n"
        ));
    }
    for label in ["telemetry", "gateway"] {
        let file = path(format!("{label}_kv.db"));
        config.push_str(&format!(
            "[key_value_store.{label}]\ntype = \"spin\"\npath = {file}\n\n"
        ));
    }
    config
}

/// Creates an API key named `name` with the read and write scope of every service and a rate no
/// run reaches, through `POST /admin/keys`; returns its secret.
pub fn create_all_scopes_key(addr: SocketAddr, admin_token: &str, name: &str) -> Result<String> {
    let scopes: Vec<String> = SERVICES
        .iter()
        .flat_map(|service| [format!("{service}:read"), format!("{service}:write")])
        .collect();
    let body = serde_json::json!({"name": name, "scopes": scopes, "rate_per_minute": 1_000_000});
    let created = http::request_ok_as(
        addr,
        Some(admin_token),
        "POST",
        "/admin/keys",
        Some(body.to_string().as_bytes()),
    )?;
    let created: serde_json::Value =
        serde_json::from_slice(&created.body).context("POST /admin/keys did not answer JSON")?;
    created["key"]
        .as_str()
        .map(str::to_owned)
        .context("POST /admin/keys answered no key")
}

/// A loopback address with a port that was free a moment ago.
pub fn free_addr() -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("could not find a free port")?;
    Ok(listener.local_addr()?)
}

/// `root` and its descendants, from /proc.
fn process_tree(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(ppid) = parent_of(pid) {
                children.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        tree.extend(children.get(&tree[i]).into_iter().flatten());
        i += 1;
    }
    tree
}

fn peak_rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn signal_all(pids: &[u32], signal: libc::c_int) {
    for &pid in pids {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe { libc::kill(pid as libc::pid_t, signal) };
    }
}

/// Whether `pid` is still running; the direct child is reaped through `child` so that it
/// does not linger as a zombie, and zombies count as gone.
fn is_alive(pid: u32, child: &mut Child) -> bool {
    if pid == child.id() {
        return matches!(child.try_wait(), Ok(None));
    }
    state_of(pid).is_some_and(|state| state != 'Z')
}

fn parent_of(pid: u32) -> Option<u32> {
    stat_fields(pid)?.nth(1)?.parse().ok()
}

/// User and system CPU time of `pids` together, in clock ticks (gone processes count 0).
fn cpu_ticks(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|&pid| {
            // After `pid (comm)`: utime and stime are the 12th and 13th fields.
            let mut fields = stat_fields(pid)?.skip(11);
            let user: u64 = fields.next()?.parse().ok()?;
            let system: u64 = fields.next()?.parse().ok()?;
            Some(user + system)
        })
        .sum()
}

fn clock_ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

fn state_of(pid: u32) -> Option<char> {
    stat_fields(pid)?.next()?.chars().next()
}

/// The fields of /proc/<pid>/stat after `pid (comm)`: state, ppid, ...
fn stat_fields(pid: u32) -> Option<std::vec::IntoIter<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may itself contain spaces and parentheses.
    let after_comm = &stat[stat.rfind(')')? + 1..];
    Some(
        after_comm
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
            .into_iter(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_of_a_busy_process_is_counted() {
        let me = [std::process::id()];
        let before = cpu_ticks(&me);
        let wanted = (0.1 * clock_ticks_per_sec()).ceil() as u64;
        // Spins until the reading shows 0.1 s of CPU; the deadline only bounds a broken reading
        // (a loaded machine may give this thread far less than the wall time).
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut x = 0u64;
        while cpu_ticks(&me).saturating_sub(before) < wanted {
            assert!(
                Instant::now() < deadline,
                "30 s of spinning never showed 0.1 s of CPU"
            );
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
        }
        assert_eq!(cpu_ticks(&[u32::MAX]), 0, "a process that does not exist");
    }

    #[test]
    fn every_store_gets_its_own_file() {
        let config: toml::Table = runtime_config_in(Path::new("/tmp/s")).parse().unwrap();
        assert_eq!(
            config["sqlite_database"]["gateway"]["path"].as_str(),
            Some("/tmp/s/gateway.db")
        );
        assert_eq!(
            config["key_value_store"]["telemetry"]["path"].as_str(),
            Some("/tmp/s/telemetry_kv.db")
        );
        assert_eq!(config["sqlite_database"].as_table().unwrap().len(), 8);
        assert_eq!(config["key_value_store"].as_table().unwrap().len(), 2);
    }
}
