//! `cargo xtask bench`: load-test the application with wrk against a release build of our
//! host (and against Spin when `SPIN_BIN` is set): the visits API, ticket creation, telemetry
//! ingest and end-to-end event latency; then check that an acknowledged write survives `kill -9`;
//! chat message sends and feed timeline reads; last, the visits read served without the gateway,
//! to price the gateway hop, and (our host only) chat upgraded under load, by reload and by restart.

mod gateway;
mod latency;
mod lua;
mod passthrough;
mod replicas;
mod selection;
mod sizes;
mod social;
mod upgrade;
mod wrk;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{bail, ensure, Context, Result};

use crate::http;
use crate::server::{self, runtime_config_in, Server, ServerSpec};
use crate::{
    admin_token,
    build::{self, Components},
    prerequisites,
    setup::{self, Profile},
    topology::Topology,
};
use selection::Selection;
use wrk::Figures;

const FIXTURE: &str = "components/visits/fixtures/sample.json";
const VISIT: &str = r#"{"EventDay":20171012,"EventCount":1}"#;
/// Posts `VISIT` to /visits/1000 .. /visits/1999 in turn.
const RECORD_VISITS_LUA: &str = r#"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"EventDay":20171012,"EventCount":1}'
local counter = 0
request = function()
  local path = "/visits/" .. (1000 + counter % 1000)
  counter = counter + 1
  return wrk.format(nil, path)
end
"#;
/// The id whose count must survive a crash; one of those `RECORD_VISITS_LUA` writes to.
const DURABILITY_ID: u32 = 1000;

struct Settings {
    duration_secs: u64,
    connections: Vec<u32>,
    selection: Selection,
    /// `--replicas N`: only the mixed workload on one and on N replicas.
    replicas: Option<usize>,
    /// `--compare BIN` (or `SPIN_BIN`): another Spin-compatible server run through the same
    /// scenarios, with ratios printed.
    compare: Option<PathBuf>,
}

impl Settings {
    fn parse(options: &[String]) -> Result<Settings> {
        let mut options = options.to_vec();
        let duration_secs = match crate::take_value(&mut options, "--duration")? {
            Some(secs) => secs
                .parse()
                .with_context(|| format!("--duration takes whole seconds, not `{secs}`"))?,
            None => 10,
        };
        let connections = match crate::take_value(&mut options, "--connections")? {
            Some(list) => list
                .split(',')
                .map(|n| n.trim().parse::<u32>().ok().filter(|&n| n > 0))
                .collect::<Option<Vec<_>>>()
                .with_context(|| format!("--connections takes counts like `1,32`, not `{list}`"))?,
            None => vec![1, 32],
        };
        let selection = match crate::take_value(&mut options, "--only")? {
            Some(list) => Selection::parse(&list)?,
            None => Selection::all(),
        };
        let replicas = match crate::take_value(&mut options, "--replicas")? {
            Some(count) => Some(replicas::parse_count(&count)?),
            None => None,
        };
        let compare = crate::take_value(&mut options, "--compare")?
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("SPIN_BIN").map(PathBuf::from));
        if let Some(program) = &compare {
            ensure!(
                program.is_file(),
                "--compare {}: no such file",
                program.display()
            );
        }
        crate::reject_unknown("bench", &options, None)?;
        ensure!(duration_secs > 0, "--duration must be at least 1 second");
        Ok(Settings {
            duration_secs,
            connections,
            selection,
            replicas,
            compare,
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
    ReadVisits,
    RecordVisit,
    CreateTicket,
    IngestOne,
    IngestBatch,
    SendMessage,
    ReadTimeline,
}

/// Why a part left out by `--only` has no figures.
const NOT_SELECTED: &str = "not selected by --only";
/// Readings per request in the batched ingest scenario.
const INGEST_BATCH: u32 = 100;
/// Events published one by one for the latency figure.
const LATENCY_EVENTS: usize = 500;
/// The longest wait for the server to go idle between runs (see `settle`).
const SETTLE_LIMIT: Duration = Duration::from_secs(30);

impl Scenario {
    const ALL: [Scenario; 7] = [
        Scenario::ReadVisits,
        Scenario::RecordVisit,
        Scenario::CreateTicket,
        Scenario::IngestOne,
        Scenario::IngestBatch,
        Scenario::SendMessage,
        Scenario::ReadTimeline,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::ReadVisits => "GET /visits/324?startDate=20171014",
            Scenario::RecordVisit => "POST /visits/{id}",
            Scenario::CreateTicket => "POST /support/.../tickets",
            Scenario::IngestOne => "POST /telemetry/readings (1)",
            Scenario::IngestBatch => "POST /telemetry/readings (100)",
            Scenario::SendMessage => "POST /chat/.../messages",
            Scenario::ReadTimeline => "GET /feed/users/{id}/timeline",
        }
    }

    /// Its name for `--only` (one of `selection::PARTS`).
    fn part(self) -> &'static str {
        match self {
            Scenario::ReadVisits => "visits-read",
            Scenario::RecordVisit => "visits-write",
            Scenario::CreateTicket => "tickets",
            Scenario::IngestOne => "ingest",
            Scenario::IngestBatch => "ingest-batch",
            Scenario::SendMessage => "send",
            Scenario::ReadTimeline => "timeline",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Scenario::ReadVisits => "/visits/324?startDate=20171014",
            Scenario::RecordVisit => "/visits/1000",
            Scenario::CreateTicket => "/support/customers/bench-0/tickets",
            Scenario::IngestOne | Scenario::IngestBatch => "/telemetry/readings",
            // Their scripts set the paths.
            Scenario::SendMessage => "/chat/conversations/1/messages",
            Scenario::ReadTimeline => "/feed/users/u0/timeline",
        }
    }

    /// The wrk script shaping the requests, if any.
    fn script(self, seeded: &social::Seeded) -> Option<String> {
        match self {
            Scenario::ReadVisits => None,
            Scenario::RecordVisit => Some(RECORD_VISITS_LUA.to_owned()),
            Scenario::CreateTicket => Some(lua::CREATE_TICKETS.to_owned()),
            Scenario::IngestOne => Some(lua::ingest_readings(1)),
            Scenario::IngestBatch => Some(lua::ingest_readings(INGEST_BATCH)),
            Scenario::SendMessage => Some(social::send_messages(seeded)),
            Scenario::ReadTimeline => Some(social::read_timelines(seeded)),
        }
    }

    /// Telemetry readings per request (0 for other scenarios).
    fn readings_per_request(self) -> u32 {
        match self {
            Scenario::IngestOne => 1,
            Scenario::IngestBatch => INGEST_BATCH,
            _ => 0,
        }
    }
}

/// What one server did.
struct Report {
    server: String,
    runs: Vec<(Scenario, u32, Figures)>,
    peak_rss_kib: Option<u64>,
    latency: Result<latency::Latency, String>,
    durability: Result<Durability, String>,
    /// The visits read without the gateway, by connection count.
    direct_reads: Vec<(u32, Figures)>,
    /// The visits read through the gateway with its read cache off.
    uncached_reads: Vec<(u32, Figures)>,
    /// The same read from the composed topology (`spin.composed.toml`).
    composed_reads: Vec<(u32, Figures)>,
    /// The same again with a pass-through middleware in the edge's place (`passthrough`).
    passthrough_reads: Vec<(u32, Figures)>,
    /// Chat upgraded under load (our host only: Spin has no reload).
    upgrade: Option<Result<upgrade::Upgrade, String>>,
}

/// The count of `DURABILITY_ID` read just before `kill -9` and after the restart.
struct Durability {
    before: u64,
    after: u64,
}

pub fn run(options: &[String], passthrough: &[String]) -> Result<()> {
    let settings = Settings::parse(options)?;
    crate::reject_passthrough("bench", passthrough)?;
    prerequisites::ensure_program("wrk", "wrk", "the benchmark drives the API with it")?;
    build::build(Profile::Release, Components::App)?;
    // Measured before the upgrade scenario rebuilds chat.
    let sizes = sizes::measure()?;

    let root = setup::repo_root();
    let fixture =
        std::fs::read(root.join(FIXTURE)).with_context(|| format!("could not read {FIXTURE}"))?;
    let work_dir = std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work_dir)
        .with_context(|| format!("could not create {}", work_dir.display()))?;

    if let Some(count) = settings.replicas {
        let report = replicas::run(
            setup::host_binary(Profile::Release),
            &work_dir.join("replicas"),
            count,
            settings.duration_secs,
        )?;
        replicas::print(&report);
        let _ = std::fs::remove_dir_all(&work_dir);
        return Ok(());
    }

    let mut servers = vec![(
        "spin-host".to_string(),
        setup::host_binary(Profile::Release),
    )];
    if let Some(other) = &settings.compare {
        // Named after its file (`spin`, or an older `spin-host` build), marked as the other one.
        let file = other.file_name().map_or_else(
            || "other".to_owned(),
            |name| name.to_string_lossy().into_owned(),
        );
        servers.push((format!("{file}-compared"), other.clone()));
    }
    let mut reports = Vec::new();
    for (name, program) in servers {
        let dir = work_dir.join(name.to_lowercase());
        let upgrades = name == "spin-host";
        reports.push(bench_server(
            name, program, &dir, &settings, &fixture, upgrades,
        )?);
    }

    print_reports(&reports, &settings);
    sizes::print(&sizes);
    // Kept on failure: the servers' logs are there.
    let _ = std::fs::remove_dir_all(&work_dir);
    Ok(())
}

/// Starts one server on a fresh database, loads the fixture, runs every scenario, then the
/// durability check, the reads without the gateway and, with `upgrades`, the upgrade scenario.
fn bench_server(
    name: String,
    program: PathBuf,
    dir: &Path,
    settings: &Settings,
    fixture: &[u8],
    upgrades: bool,
) -> Result<Report> {
    let state_dir = dir.join("state");
    std::fs::create_dir_all(&state_dir)
        .with_context(|| format!("could not create {}", state_dir.display()))?;
    let runtime_config = dir.join("runtime-config.toml");
    std::fs::write(&runtime_config, runtime_config_in(dir))?;
    let mut spec = ServerSpec {
        name,
        program,
        addr: server::free_addr()?,
        runtime_config,
        state_dir,
        log: dir.join("server.log"),
        // The latency probe's subscriber listens on loopback.
        extra_args: vec![
            "--variable".to_owned(),
            "subscriber_hosts=http://127.0.0.1:*".to_owned(),
        ],
        env: vec![(admin_token::ENV.to_owned(), admin_token::random_token()?)],
    };

    eprintln!(
        "bench: starting {} on {} (log: {})",
        spec.name,
        spec.addr,
        spec.log.display()
    );
    let mut server = Server::start(&spec)?;
    let key = server::create_all_scopes_key(server.addr(), &spec.env[0].1, "xtask-bench")?;
    eprintln!("bench: loading {FIXTURE} with PUT /visits");
    let loaded = http::request_as(server.addr(), Some(&key), "PUT", "/visits", Some(fixture))?;
    if !loaded.is_success() {
        bail!(
            "{}: PUT /visits answered {}: {}",
            spec.name,
            loaded.status,
            loaded.body_text()
        );
    }

    eprintln!("bench: creating customers bench-0 .. bench-99 for the ticket scenario");
    for i in 0..100 {
        let customer = format!(
            r#"{{"name":"Bench Customer {i}","email":"bench{i}@example.com","tier":"pro"}}"#
        );
        let path = format!("/support/customers/bench-{i}");
        let created = http::request_as(
            server.addr(),
            Some(&key),
            "PUT",
            &path,
            Some(customer.as_bytes()),
        )?;
        if !created.is_success() {
            bail!(
                "{}: PUT {path} answered {}: {}",
                spec.name,
                created.status,
                created.body_text()
            );
        }
    }

    eprintln!("bench: seeding chat conversations, feed follows and posts");
    let seeded = social::seed(server.addr(), &key)?;
    let scripts = write_scripts(dir, &key, &seeded)?;

    let mut runs = Vec::new();
    let selected = |part: &str| settings.selection.runs(part);
    for (index, scenario) in Scenario::ALL.into_iter().enumerate() {
        if !selected(scenario.part()) {
            continue;
        }
        for &connections in &settings.connections {
            settle(&server, &spec.name);
            eprintln!(
                "bench: {}: {} with {connections} connection(s) for {} s",
                spec.name,
                scenario.name(),
                settings.duration_secs
            );
            let url = format!("http://{}{}", server.addr(), scenario.path());
            let script = scripts.get(&index).map(PathBuf::as_path);
            let figures = wrk::run(&url, connections, settings.duration_secs, script)?;
            eprintln!(
                "bench:   {:.0} req/s, p99 {} ms, {} errors, {} timeouts",
                figures.requests_per_sec,
                ms(figures.p99_ms),
                figures.errors,
                figures.timeouts
            );
            runs.push((scenario, connections, figures));
        }
    }
    let latency = if selected("latency") {
        settle(&server, &spec.name);
        eprintln!(
            "bench: {}: event latency over {LATENCY_EVENTS} events published one by one",
            spec.name
        );
        latency::measure(server.addr(), &key, LATENCY_EVENTS).map_err(|err| {
            eprintln!("bench: {}: latency not measured: {err:#}", spec.name);
            format!("{err:#}")
        })
    } else {
        Err(NOT_SELECTED.to_owned())
    };
    let peak_rss_kib = server.peak_rss_kib();

    let durability = if selected("durability") {
        eprintln!(
            "bench: {}: durability: POST, read the count, kill -9, restart, read again",
            spec.name
        );
        check_durability(&mut server, &mut spec, &key).map_err(|err| {
            eprintln!("bench: {}: durability check failed: {err:#}", spec.name);
            format!("{err:#}")
        })
    } else {
        Err(NOT_SELECTED.to_owned())
    };
    drop(server);
    // Each variant serves the same visits read from a server of its own, started only if it
    // is selected.
    let variant = |part: &str, name: &str, args: &dyn Fn() -> Result<Vec<String>>| {
        if !selected(part) {
            return Ok(Vec::new());
        }
        bench_reads_variant(&spec, settings, name, &args()?)
    };
    let from = |manifest: PathBuf| vec!["--from".to_owned(), manifest.display().to_string()];
    let direct_reads = variant("direct", "visits direct", &|| {
        Ok(from(gateway::direct_manifest(dir)?))
    })?;
    let uncached_reads = variant("uncached", "gateway without its read cache", &|| {
        Ok(vec!["--variable".into(), "cache_ttl_seconds=0".into()])
    })?;
    // The composed topology has no read cache: each read runs the edge and visits in one
    // instance.
    let composed_reads = variant("composed", "composed topology", &|| {
        Ok(from(Topology::Composed.manifest()))
    })?;
    let passthrough_reads = variant("passthrough", "composed, pass-through middleware", &|| {
        passthrough::build_middleware()?;
        Ok(from(passthrough::passthrough_manifest(dir)?))
    })?;
    let upgrade = (upgrades && selected("upgrade")).then(|| {
        let scripts = upgrade::Scripts {
            chat_send: &scripts[&scenario_index(Scenario::SendMessage)],
            feed_timeline: &scripts[&scenario_index(Scenario::ReadTimeline)],
        };
        upgrade::run(&spec, dir, &scripts, settings.duration_secs).map_err(|err| {
            eprintln!("bench: {}: upgrade scenario failed: {err:#}", spec.name);
            format!("{err:#}")
        })
    });
    Ok(Report {
        server: spec.name.clone(),
        runs,
        peak_rss_kib,
        latency,
        durability,
        direct_reads,
        uncached_reads,
        composed_reads,
        passthrough_reads,
        upgrade,
    })
}

/// Lets the server finish what the previous run left behind (events still being forwarded
/// from outboxes) before the next is measured, so that no run pays for another's work.
fn settle(server: &Server, name: &str) {
    let (waited, idle) = server.wait_until_idle(SETTLE_LIMIT);
    if !idle {
        eprintln!(
            "bench: {name}: still busy after {} s; measuring anyway",
            waited.as_secs()
        );
    } else if waited > Duration::from_secs(1) {
        eprintln!(
            "bench: {name}: waited {:.1} s for the work of the previous run to finish",
            waited.as_secs_f64()
        );
    }
}

fn scenario_index(scenario: Scenario) -> usize {
    Scenario::ALL
        .iter()
        .position(|&s| s == scenario)
        .expect("every scenario is in ALL")
}

/// The wrk scripts of the keyed scenarios, by scenario index.
fn write_scripts(
    dir: &Path,
    key: &str,
    seeded: &social::Seeded,
) -> Result<HashMap<usize, PathBuf>> {
    let mut scripts = HashMap::new();
    for (i, scenario) in Scenario::ALL.into_iter().enumerate() {
        if let Some(script) = scenario.script(seeded) {
            let file = dir.join(format!("scenario-{i}.lua"));
            std::fs::write(&file, gateway::with_key(&script, key))?;
            scripts.insert(i, file);
        }
    }
    Ok(scripts)
}

/// The visits read again, on the same data, from a server started with `extra_args`: visits'
/// own public route (the same work without the gateway hop), or the gateway without its cache.
fn bench_reads_variant(
    spec: &ServerSpec,
    settings: &Settings,
    variant: &str,
    extra_args: &[String],
) -> Result<Vec<(u32, Figures)>> {
    let direct = ServerSpec {
        name: format!("{} ({variant})", spec.name),
        addr: server::free_addr()?,
        extra_args: extra_args.to_vec(),
        program: spec.program.clone(),
        runtime_config: spec.runtime_config.clone(),
        state_dir: spec.state_dir.clone(),
        log: spec.log.clone(),
        env: spec.env.clone(),
    };
    eprintln!("bench: starting {} on {}", direct.name, direct.addr);
    let server = Server::start(&direct)?;
    let mut runs = Vec::new();
    for &connections in &settings.connections {
        eprintln!(
            "bench: {}: {} with {connections} connection(s) for {} s",
            direct.name,
            Scenario::ReadVisits.name(),
            settings.duration_secs
        );
        let url = format!("http://{}{}", server.addr(), Scenario::ReadVisits.path());
        let figures = wrk::run(&url, connections, settings.duration_secs, None)?;
        eprintln!("bench:   {:.0} req/s", figures.requests_per_sec);
        runs.push((connections, figures));
    }
    Ok(runs)
}

/// Records a visit, reads the count, kills the server with SIGKILL, restarts it on the same
/// state and reads the count again.
fn check_durability(server: &mut Server, spec: &mut ServerSpec, key: &str) -> Result<Durability> {
    let path = format!("/visits/{DURABILITY_ID}");
    let posted = http::request_as(
        server.addr(),
        Some(key),
        "POST",
        &path,
        Some(VISIT.as_bytes()),
    )?;
    if !posted.is_success() {
        bail!(
            "POST {path} answered {}: {}",
            posted.status,
            posted.body_text()
        );
    }
    let before = visit_count(server)?;
    ensure!(
        before > 0,
        "GET {path} counts no visits right after an acknowledged POST"
    );
    server.kill_hard();
    spec.addr = server::free_addr()?;
    *server = Server::start(spec).context("restarting after kill -9")?;
    let after = visit_count(server)?;
    Ok(Durability { before, after })
}

/// Total `EventCount` of `DURABILITY_ID` since the benchmark's event day, wherever the
/// response puts the counts; a 404 counts as no visits.
fn visit_count(server: &Server) -> Result<u64> {
    let path = format!("/visits/{DURABILITY_ID}?startDate=20171001");
    // From visits' database itself, not the gateway's read cache.
    let response = http::get_fresh(server.addr(), &path)?;
    if response.status == 404 {
        return Ok(0);
    }
    if !response.is_success() {
        bail!(
            "GET {path} answered {}: {}",
            response.status,
            response.body_text()
        );
    }
    let json: serde_json::Value = serde_json::from_slice(&response.body)
        .with_context(|| format!("GET {path} did not answer JSON: {}", response.body_text()))?;
    sum_event_counts(&json)
        .with_context(|| format!("no EventCount in the answer to GET {path}: {json}"))
}

fn sum_event_counts(json: &serde_json::Value) -> Option<u64> {
    use serde_json::Value;
    match json {
        Value::Object(fields) => {
            if let Some(count) = fields
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case("EventCount"))
            {
                return count.1.as_u64();
            }
            sum_of(fields.values())
        }
        Value::Array(items) if items.is_empty() => Some(0),
        Value::Array(items) => sum_of(items.iter()),
        _ => None,
    }
}

/// Sum over the values that have counts; `None` if none has.
fn sum_of<'a>(values: impl Iterator<Item = &'a serde_json::Value>) -> Option<u64> {
    values
        .filter_map(sum_event_counts)
        .fold(None, |sum, count| Some(sum.unwrap_or(0) + count))
}

fn print_reports(reports: &[Report], settings: &Settings) {
    println!();
    println!(
        "{} s per run (wrk --latency --timeout 2s); ingest rows also give readings/s",
        settings.duration_secs
    );
    for report in reports {
        println!();
        println!("{}: peak RSS {}", report.server, mib(report.peak_rss_kib));
        print_header();
        for (scenario, connections, f) in &report.runs {
            print_row(
                scenario.name(),
                *connections,
                [
                    format!("{:.0}", f.requests_per_sec),
                    ms(f.p50_ms),
                    ms(f.p99_ms),
                    f.errors.to_string(),
                    f.timeouts.to_string(),
                ],
            );
        }
        for (scenario, connections, f) in &report.runs {
            let per_request = scenario.readings_per_request();
            if per_request > 0 {
                println!(
                    "telemetry ingest, {per_request} per request, {connections} conns: {:.0} readings/s",
                    f.requests_per_sec * f64::from(per_request)
                );
            }
        }
        print_gateway_hop(report);
        match &report.latency {
            Ok(l) => println!(
                "event latency (publish -> subscriber ack), {} events: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                l.events, l.p50_ms, l.p99_ms, l.max_ms
            ),
            Err(err) => println!("event latency: not measured ({err})"),
        }
        match &report.durability {
            Ok(Durability { before, after }) => println!(
                "durability: /visits/{DURABILITY_ID} count {before} before kill -9, \
                 {after} after restart: {}",
                if after >= before {
                    "survived"
                } else {
                    "LOST acknowledged writes"
                }
            ),
            Err(err) => println!("durability: not checked ({err})"),
        }
        match &report.upgrade {
            Some(Ok(figures)) => upgrade::print(figures),
            Some(Err(err)) => println!("upgrade: not measured ({err})"),
            None => {}
        }
    }

    let [host, spin] = reports else { return };
    println!();
    println!(
        "{} / {}: peak RSS {}",
        host.server,
        spin.server,
        ratio(
            host.peak_rss_kib.map(|k| k as f64),
            spin.peak_rss_kib.map(|k| k as f64)
        )
    );
    println!(
        "(req/s above 1: host faster; latency, errors, timeouts and RSS below 1: host better)"
    );
    print_header();
    for ((scenario, connections, h), (_, _, s)) in host.runs.iter().zip(&spin.runs) {
        print_row(
            scenario.name(),
            *connections,
            [
                ratio(Some(h.requests_per_sec), Some(s.requests_per_sec)),
                ratio(h.p50_ms, s.p50_ms),
                ratio(h.p99_ms, s.p99_ms),
                ratio(Some(h.errors as f64), Some(s.errors as f64)),
                ratio(Some(h.timeouts as f64), Some(s.timeouts as f64)),
            ],
        );
    }
}

/// The visits read on each path as a share of the same read served directly: through the
/// gateway with its cache, chained through it without the cache, and composed with the edge.
fn print_gateway_hop(report: &Report) {
    let share = |through: f64, direct: f64| 100.0 * through / direct.max(f64::MIN_POSITIVE);
    for (connections, direct) in &report.direct_reads {
        println!(
            "visits read, {connections} conns: direct {:.0} req/s (p50 {} ms, p99 {} ms, {} errors)",
            direct.requests_per_sec,
            ms(direct.p50_ms),
            ms(direct.p99_ms),
            direct.errors
        );
        let cached = report
            .runs
            .iter()
            .find(|(scenario, conns, _)| *scenario == Scenario::ReadVisits && conns == connections)
            .map(|(_, _, figures)| figures);
        let find = |reads: &[(u32, Figures)]| {
            reads
                .iter()
                .find(|(c, _)| c == connections)
                .map(|(_, figures)| *figures)
        };
        let paths = [
            ("through the gateway, with its read cache", cached.copied()),
            (
                "chained through the gateway, cache off",
                find(&report.uncached_reads),
            ),
            (
                "composed (edge + visits, one instance)",
                find(&report.composed_reads),
            ),
            (
                "composed, pass-through in the edge's place",
                find(&report.passthrough_reads),
            ),
        ];
        for (path, figures) in paths {
            let Some(figures) = figures else { continue };
            println!(
                "  {path:<42} {:>7.0} req/s (p99 {} ms, {} errors) = {:.0}% of direct",
                figures.requests_per_sec,
                ms(figures.p99_ms),
                figures.errors,
                share(figures.requests_per_sec, direct.requests_per_sec)
            );
        }
    }
}

fn print_header() {
    print_row_raw(
        "scenario",
        "conns",
        ["req/s", "p50 ms", "p99 ms", "errors", "timeouts"].map(String::from),
    );
}

fn print_row(scenario: &str, connections: u32, figures: [String; 5]) {
    print_row_raw(scenario, &connections.to_string(), figures);
}

fn print_row_raw(
    scenario: &str,
    connections: &str,
    [rps, p50, p99, errors, timeouts]: [String; 5],
) {
    println!(
        "{scenario:<36} {connections:>5} {rps:>10} {p50:>8} {p99:>8} {errors:>8} {timeouts:>8}"
    );
}

fn ms(value: Option<f64>) -> String {
    value.map_or("-".to_string(), |ms| format!("{ms:.2}"))
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("unknown".to_string(), |kib| {
        format!("{:.1} MiB", kib as f64 / 1024.0)
    })
}

/// `a / b` to two places; `-` when undefined.
fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "-".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_summed_wherever_the_response_puts_them() {
        let json = serde_json::json!({"Id": 1000, "Visits": [
            {"EventDay": 20171012, "EventCount": 3},
            {"EventDay": 20171013, "EventCount": 4},
        ]});
        assert_eq!(sum_event_counts(&json), Some(7));
        assert_eq!(
            sum_event_counts(&serde_json::json!({"EventCount": 2})),
            Some(2)
        );
        assert_eq!(
            sum_event_counts(&serde_json::json!({"Visits": []})),
            Some(0)
        );
        assert_eq!(sum_event_counts(&serde_json::json!({"Total": 2})), None);
    }
}
