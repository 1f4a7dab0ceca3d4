//! `cargo xtask bench --replicas N`: a mixed workload (reads, visit writes, telemetry ingest)
//! through the gateway at 32 connections, first on one host, then on N replicas of it on one
//! address (`spin-host up --reuse-port`: the kernel spreads connections) and the same SQLite
//! files; last, the failed requests while one replica is killed with SIGKILL under that load.
//! Only requests in flight on the killed replica (or sent on its connections before wrk
//! reconnects) may fail.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use super::wrk::{self, Figures};
use crate::admin_token;
use crate::server::{self, runtime_config_in, Server, ServerSpec};

/// Connections of the mixed workload.
const CONNECTIONS: u32 = 32;

/// Six requests in turn: three anonymous reads, a visit recorded, two single readings ingested
/// (one sensor per wrk thread, one virtual second apart).
const MIXED_LUA: &str = r#"
local prefix = "mixed" .. string.sub(tostring({}), -8)
local start = os.time() - 3 * 24 * 3600
local counter = 0
-- wrk.format replaces wrk.headers when given headers: keep the key (set above) in them.
local function json_headers()
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["Content-Type"] = "application/json"
  return headers
end
request = function()
  counter = counter + 1
  local turn = counter % 6
  if turn < 3 then
    return wrk.format("GET", "/visits/324?startDate=20171014")
  elseif turn == 3 then
    return wrk.format("POST", "/visits/" .. (2000 + counter % 500),
      json_headers(), '{"EventDay":20171012,"EventCount":1}')
  end
  local at = os.date("!%Y-%m-%dT%H:%M:%SZ", start + counter)
  return wrk.format("POST", "/telemetry/readings", json_headers(),
    '{"sensor_id":"' .. prefix .. '","celsius":21.5,"at":"' .. at .. '"}')
end
"#;

/// What `--replicas` measured.
pub struct ReplicasReport {
    pub count: usize,
    pub one: Figures,
    pub many: Figures,
    /// The mixed workload while one of the replicas was killed halfway through.
    pub during_kill: Figures,
    pub duration_secs: u64,
}

/// Parses `--replicas N` (2 to 8: one replica is the baseline it is compared with).
pub fn parse_count(value: &str) -> Result<usize> {
    crate::up::replicas::parse_count_within(value, 2..=8)
}

/// Runs the three measurements with the release host `program`, in `dir`.
pub fn run(
    program: PathBuf,
    dir: &Path,
    count: usize,
    duration_secs: u64,
) -> Result<ReplicasReport> {
    std::fs::create_dir_all(dir.join("state"))
        .with_context(|| format!("could not create {}", dir.display()))?;
    let runtime_config = dir.join("runtime-config.toml");
    std::fs::write(&runtime_config, runtime_config_in(dir))?;
    let token = admin_token::random_token()?;
    let spec = |replica: usize| ServerSpec {
        name: format!("spin-host replica {replica}"),
        program: program.clone(),
        addr: "127.0.0.1:0".parse().expect("an address"),
        runtime_config: runtime_config.clone(),
        state_dir: dir.join("state"),
        log: dir.join(format!("replica-{replica}.log")),
        extra_args: vec!["--reuse-port".to_owned()],
        env: vec![(admin_token::ENV.to_owned(), token.clone())],
    };
    let addr = server::free_addr()?;
    let start = |replica: usize| -> Result<Server> {
        let spec = ServerSpec {
            addr,
            ..spec(replica)
        };
        eprintln!("bench: starting {} on {addr}", spec.name);
        let server = Server::start(&spec)?;
        // The health check may have been answered by another replica: wait for this one's own.
        wait_for_serving(&spec.log)?;
        Ok(server)
    };

    let first = start(1)?;
    let key = server::create_all_scopes_key(addr, &token, "xtask-bench-replicas")?;
    let script = dir.join("mixed.lua");
    std::fs::write(&script, super::gateway::with_key(MIXED_LUA, &key))?;
    let url = format!("http://{addr}");
    let mixed = |what: &str| -> Result<Figures> {
        eprintln!("bench: mixed workload, {what}, {CONNECTIONS} connections for {duration_secs} s");
        wrk::run(&url, CONNECTIONS, duration_secs, Some(&script))
    };
    let one = mixed("1 replica")?;
    let mut replicas = vec![first];
    for replica in 2..=count {
        replicas.push(start(replica)?);
    }
    let many = mixed(&format!("{count} replicas"))?;

    // The same load again; halfway through, one replica dies.
    let victim = replicas.pop().expect("at least two replicas");
    let during_kill = std::thread::scope(|scope| -> Result<Figures> {
        let load = scope.spawn(|| mixed(&format!("{count} replicas, one killed halfway")));
        std::thread::sleep(Duration::from_millis(duration_secs * 500));
        let mut victim = victim;
        eprintln!("bench: SIGKILL to the last replica");
        victim.kill_hard();
        load.join().expect("the load thread")
    })?;
    drop(replicas);
    Ok(ReplicasReport {
        count,
        one,
        many,
        during_kill,
        duration_secs,
    })
}

/// Prints the report as a table.
pub fn print(report: &ReplicasReport) {
    println!();
    println!(
        "mixed workload (3 reads : 1 visit write : 2 readings), {CONNECTIONS} conns, {} s each",
        report.duration_secs
    );
    println!(
        "  {:<34} {:>9} {:>10} {:>10} {:>8}",
        "", "req/s", "p50 ms", "p99 ms", "errors"
    );
    let row = |label: &str, figures: &Figures| {
        println!(
            "  {label:<34} {:>9.0} {:>10} {:>10} {:>8}",
            figures.requests_per_sec,
            show(figures.p50_ms),
            show(figures.p99_ms),
            figures.errors
        );
    };
    row("1 replica", &report.one);
    row(&format!("{} replicas", report.count), &report.many);
    row(
        &format!("{} replicas, one killed halfway", report.count),
        &report.during_kill,
    );
    println!(
        "  ({:.0} requests during the kill run; only those in flight on the killed replica may fail)",
        report.during_kill.requests_per_sec * report.duration_secs as f64
    );
}

fn show(ms: Option<f64>) -> String {
    ms.map_or_else(|| "-".to_owned(), |ms| format!("{ms:.2}"))
}

/// Waits until the host logging to `log` prints that it serves (after its listener is bound).
fn wait_for_serving(log: &Path) -> Result<()> {
    for _ in 0..600 {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains("Serving http://") {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    anyhow::bail!("{} never said it was serving", log.display())
}
