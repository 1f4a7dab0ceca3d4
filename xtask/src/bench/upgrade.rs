//! The upgrade scenario: feed timeline reads and chat sends at once, first steady, then while
//! chat is upgraded five times by SIGHUP (the host's reload), then while the host is restarted
//! five times instead (what `spin watch` does). Each upgrade alternates two builds of chat.wasm
//! with different digests: the built one and a copy with a custom section appended.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, ensure, Context, Result};

use super::ms;
use super::wrk::{self, Figures};
use crate::server::{self, Server, ServerSpec};
use crate::setup;

const UPGRADES: usize = 5;
/// Connections of each of the two wrk processes.
const CONNECTIONS: u32 = 16;
/// Five upgrades need room: each run lasts at least this long.
const MIN_LOAD_SECS: u64 = 20;
const SWAP_TIMEOUT: Duration = Duration::from_secs(120);
const SWAP_LINE: &str = "Swapped component `chat`";
const FAILED_LINE: &str = "Reload failed";
/// Where chat's source stands in `spin.toml`.
const CHAT_SOURCE: &str = "source = \"target/wasm32-wasip2/release/chat.wasm\"";

/// The wrk scripts of the two loads.
pub struct Scripts<'a> {
    pub chat_send: &'a Path,
    pub feed_timeline: &'a Path,
}

/// The figures of the two loads of one run.
pub struct Load {
    pub chat: Figures,
    pub feed: Figures,
}

pub struct Upgrade {
    pub load_secs: u64,
    pub steady: Load,
    pub reload: Load,
    /// SIGHUP sent -> the host logs chat swapped, per upgrade.
    pub reload_times: Vec<Duration>,
    pub restart: Load,
    /// Stop begun -> the new host answers its health check, per restart.
    pub restart_times: Vec<Duration>,
}

/// Runs the three loads on a host started from a manifest copy whose chat source is a file of
/// `dir`, on the state (and key) of `spec`.
pub fn run(
    spec: &ServerSpec,
    dir: &Path,
    scripts: &Scripts,
    duration_secs: u64,
) -> Result<Upgrade> {
    let dir = dir.join("upgrade");
    std::fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    let builds = Builds::prepare(&dir)?;
    builds.install(0)?;
    let spec = ServerSpec {
        name: format!("{} (upgrades)", spec.name),
        program: spec.program.clone(),
        addr: server::free_addr()?,
        runtime_config: spec.runtime_config.clone(),
        state_dir: spec.state_dir.clone(),
        log: dir.join("server.log"),
        extra_args: vec![
            "--from".to_owned(),
            manifest_with_chat_at(&dir, &builds.active)?
                .display()
                .to_string(),
        ],
        env: spec.env.clone(),
    };
    eprintln!(
        "bench: starting {} on {} (log: {})",
        spec.name,
        spec.addr,
        spec.log.display()
    );
    let mut server = Some(Server::start(&spec)?);
    let load_secs = duration_secs.max(MIN_LOAD_SECS);
    let addr = spec.addr;

    eprintln!(
        "bench: upgrade: feed reads + chat sends, {CONNECTIONS} conns each, {load_secs} s, steady"
    );
    let (steady, ()) = under_load(addr, scripts, load_secs, || Ok(()))?;

    eprintln!("bench: upgrade: the same load while chat is reloaded {UPGRADES} times (SIGHUP)");
    let (reload, reload_times) = under_load(addr, scripts, load_secs, || {
        spaced(load_secs, |n| {
            let host = server.as_ref().context("no host running")?;
            reload_chat(host, &spec.log, &builds, n % 2)
        })
    })?;

    eprintln!("bench: upgrade: the same load while the host is restarted {UPGRADES} times");
    let (restart, restart_times) = under_load(addr, scripts, load_secs, || {
        spaced(load_secs, |n| {
            builds.install(n % 2)?;
            let stopping = Instant::now();
            drop(server.take());
            server = Some(Server::start(&spec).context("restarting the host")?);
            Ok(stopping.elapsed())
        })
    })?;
    Ok(Upgrade {
        load_secs,
        steady,
        reload,
        reload_times,
        restart,
        restart_times,
    })
}

/// Runs chat sends and feed reads (two wrk processes at once) for `secs` while `during` runs.
fn under_load<T>(
    addr: SocketAddr,
    scripts: &Scripts,
    secs: u64,
    during: impl FnOnce() -> Result<T>,
) -> Result<(Load, T)> {
    thread::scope(|scope| {
        let load = |path: &str, script: &Path| {
            let url = format!("http://{addr}{path}");
            let script = script.to_path_buf();
            scope.spawn(move || wrk::run(&url, CONNECTIONS, secs, Some(&script)))
        };
        let chat = load("/chat/conversations/1/messages", scripts.chat_send);
        let feed = load("/feed/users/u0/timeline", scripts.feed_timeline);
        let during = during();
        let chat = chat.join().expect("the chat wrk thread panicked")?;
        let feed = feed.join().expect("the feed wrk thread panicked")?;
        eprintln!(
            "bench:   chat {:.0} req/s, {} errors; feed {:.0} req/s, p99 {} ms, {} errors",
            chat.requests_per_sec,
            chat.errors + chat.timeouts,
            feed.requests_per_sec,
            ms(feed.p99_ms),
            feed.errors + feed.timeouts
        );
        Ok((Load { chat, feed }, during?))
    })
}

/// Calls `upgrade(1..=UPGRADES)` spread evenly over a load of `secs`; the durations it returns.
fn spaced(secs: u64, mut upgrade: impl FnMut(usize) -> Result<Duration>) -> Result<Vec<Duration>> {
    let start = Instant::now();
    let step = Duration::from_secs(secs) / (UPGRADES as u32 + 1);
    let mut times = Vec::new();
    for n in 1..=UPGRADES {
        if let Some(wait) = (step * n as u32).checked_sub(start.elapsed()) {
            thread::sleep(wait);
        }
        let took = upgrade(n)?;
        eprintln!("bench:   upgrade {n}: {} ms", took.as_millis());
        times.push(took);
    }
    if start.elapsed() > Duration::from_secs(secs) {
        eprintln!("bench:   (the upgrades outlasted the load)");
    }
    Ok(times)
}

/// Installs build `which`, sends SIGHUP and waits for the host to log chat swapped.
fn reload_chat(host: &Server, log: &Path, builds: &Builds, which: usize) -> Result<Duration> {
    // Only what the host logs from now on is read: re-reading the whole log every poll took a
    // noticeable share of the CPU the host under test was measured on.
    let mut since = LogTail::at_end(log)?;
    builds.install(which)?;
    let signalled = Instant::now();
    host.signal(libc::SIGHUP);
    loop {
        let logged = since.read_new()?;
        if logged.contains(SWAP_LINE) {
            return Ok(signalled.elapsed());
        }
        ensure!(
            !logged.contains(FAILED_LINE),
            "the reload failed; see {}",
            log.display()
        );
        if signalled.elapsed() > SWAP_TIMEOUT {
            bail!(
                "chat was not swapped within {} s of SIGHUP; see {}",
                SWAP_TIMEOUT.as_secs(),
                log.display()
            );
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// What a log gained after a point: the text appended since, read a piece at a time.
struct LogTail {
    file: std::fs::File,
    text: String,
}

impl LogTail {
    fn at_end(log: &Path) -> Result<LogTail> {
        use std::io::{Seek, SeekFrom};
        let mut file = std::fs::File::open(log)
            .with_context(|| format!("could not read {}", log.display()))?;
        file.seek(SeekFrom::End(0))?;
        Ok(LogTail {
            file,
            text: String::new(),
        })
    }

    /// Everything appended since `at_end`.
    fn read_new(&mut self) -> Result<&str> {
        use std::io::Read;
        let mut bytes = Vec::new();
        self.file.read_to_end(&mut bytes)?;
        self.text.push_str(&String::from_utf8_lossy(&bytes));
        Ok(&self.text)
    }
}

/// The two builds of chat and the file the manifest copy names, replaced by rename.
struct Builds {
    files: [PathBuf; 2],
    active: PathBuf,
}

impl Builds {
    fn prepare(dir: &Path) -> Result<Builds> {
        let built = setup::repo_root().join("target/wasm32-wasip2/release/chat.wasm");
        let wasm =
            std::fs::read(&built).with_context(|| format!("could not read {}", built.display()))?;
        let files = [dir.join("chat-built.wasm"), dir.join("chat-marked.wasm")];
        std::fs::write(&files[0], &wasm)?;
        std::fs::write(
            &files[1],
            with_custom_section(wasm, "xtask-bench", b"upgrade"),
        )?;
        Ok(Builds {
            files,
            active: dir.join("chat.wasm"),
        })
    }

    /// Makes build `which` the active file at once: a copy renamed over it.
    fn install(&self, which: usize) -> Result<()> {
        let next = self.active.with_extension("wasm.next");
        std::fs::copy(&self.files[which], &next)?;
        std::fs::rename(&next, &self.active)
            .with_context(|| format!("could not replace {}", self.active.display()))
    }
}

/// `wasm` with a custom section appended: the same code under another digest.
fn with_custom_section(mut wasm: Vec<u8>, name: &str, payload: &[u8]) -> Vec<u8> {
    let mut content = leb128(name.len());
    content.extend_from_slice(name.as_bytes());
    content.extend_from_slice(payload);
    wasm.push(0);
    wasm.extend(leb128(content.len()));
    wasm.extend(content);
    wasm
}

fn leb128(mut n: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            bytes.push(byte);
            return bytes;
        }
        bytes.push(byte | 0x80);
    }
}

/// A copy of `spin.toml` in `dir` whose chat source is `chat`; other sources point at the
/// repository's build output.
fn manifest_with_chat_at(dir: &Path, chat: &Path) -> Result<PathBuf> {
    let root = setup::repo_root();
    let manifest = std::fs::read_to_string(root.join("spin.toml")).context("reading spin.toml")?;
    ensure!(
        manifest.contains(CHAT_SOURCE),
        "spin.toml no longer names chat's source as `{CHAT_SOURCE}`"
    );
    let chat_source = format!(
        "source = {}",
        toml::Value::String(chat.display().to_string())
    );
    let variant = manifest.replace(CHAT_SOURCE, &chat_source).replace(
        "source = \"target/",
        &format!("source = \"{}/target/", root.display()),
    );
    let path = dir.join("spin.upgrade.toml");
    std::fs::write(&path, variant).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The three runs side by side.
pub fn print(upgrade: &Upgrade) {
    println!(
        "upgrade: feed timeline reads + chat sends, {CONNECTIONS} conns each, {} s per run; \
         chat upgraded {UPGRADES} times (two builds alternating)",
        upgrade.load_secs
    );
    let runs = [&upgrade.steady, &upgrade.reload, &upgrade.restart];
    let row = |label: &str, cells: [String; 3]| {
        let [a, b, c] = cells;
        println!("  {label:<34} {a:>12} {b:>12} {c:>12}");
    };
    row(
        "",
        ["no upgrade", "reload", "full restart"].map(String::from),
    );
    let each = |f: &dyn Fn(&Load) -> String| runs.map(f);
    row(
        "chat send req/s",
        each(&|l| format!("{:.0}", l.chat.requests_per_sec)),
    );
    row(
        "chat send errors (target 0)",
        each(&|l| (l.chat.errors + l.chat.timeouts).to_string()),
    );
    row(
        "feed timeline req/s",
        each(&|l| format!("{:.0}", l.feed.requests_per_sec)),
    );
    row(
        "feed timeline errors (target 0)",
        each(&|l| (l.feed.errors + l.feed.timeouts).to_string()),
    );
    row("feed p99 ms", each(&|l| ms(l.feed.p99_ms)));
    let steady = upgrade.steady.feed.p99_ms;
    row(
        "feed p99 / no upgrade (target 1.5)",
        each(&|l| super::ratio(l.feed.p99_ms, steady)),
    );
    row(
        "to serving the new chat, ms (max)",
        [
            "-".to_string(),
            max_ms(&upgrade.reload_times),
            max_ms(&upgrade.restart_times),
        ],
    );
    println!(
        "  reload: SIGHUP -> `{SWAP_LINE}` logged, ms: {}",
        list_ms(&upgrade.reload_times)
    );
    println!(
        "  full restart: stop begun -> new host healthy, ms: {}",
        list_ms(&upgrade.restart_times)
    );
}

fn max_ms(times: &[Duration]) -> String {
    times
        .iter()
        .max()
        .map_or("-".to_string(), |t| t.as_millis().to_string())
}

fn list_ms(times: &[Duration]) -> String {
    let times: Vec<String> = times.iter().map(|t| t.as_millis().to_string()).collect();
    times.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_custom_section_is_framed_as_wasm_wants() {
        let wasm = with_custom_section(vec![0, b'a', b's', b'm'], "n", b"xy");
        assert_eq!(wasm, [0, b'a', b's', b'm', 0, 4, 1, b'n', b'x', b'y']);
        assert_eq!(leb128(300), [0xac, 0x02]);
    }

    #[test]
    fn a_log_tail_sees_only_what_is_appended_even_a_line_written_in_pieces() {
        use std::io::Write;
        let log = std::env::temp_dir().join(format!("xtask-log-tail-{}", std::process::id()));
        std::fs::write(&log, format!("{SWAP_LINE}: an earlier reload\n")).unwrap();
        let mut tail = LogTail::at_end(&log).unwrap();
        assert!(!tail.read_new().unwrap().contains(SWAP_LINE));
        let mut writer = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        let (first, rest) = SWAP_LINE.split_at(9);
        writer.write_all(first.as_bytes()).unwrap();
        assert!(!tail.read_new().unwrap().contains(SWAP_LINE));
        writer.write_all(rest.as_bytes()).unwrap();
        let seen = tail.read_new().unwrap().to_owned();
        let _ = std::fs::remove_file(&log);
        assert_eq!(seen, SWAP_LINE);
    }

    #[test]
    fn the_manifest_copy_takes_chat_from_the_given_file() {
        let dir = std::env::temp_dir().join(format!("xtask-upgrade-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let chat = dir.join("chat.wasm");
        let manifest =
            std::fs::read_to_string(manifest_with_chat_at(&dir, &chat).unwrap()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(manifest.contains(&format!("source = \"{}\"", chat.display())));
        assert!(!manifest.contains("source = \"target/"));
    }
}
