//! `cargo xtask up --watch`: `spin watch` without its downtime. The host serves throughout;
//! when files under a component's `watch` globs change (and settle), only that component is
//! rebuilt (`spin-host build -c ID`), then the host gets `SIGHUP` and swaps in just the wasm
//! that changed. A failed build leaves the running version serving. A change to spin.toml or
//! the runtime config re-reads the globs and reloads the host too.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus},
    sync::atomic::{AtomicBool, Ordering},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};

use super::changes::{Settling, Snapshot};
use super::watch_globs::{self, ComponentWatch};
use crate::setup::{self, Profile};

/// How often the files are looked at.
const POLL: Duration = Duration::from_millis(500);

/// Serves with `host` (a `spin-host up` command) and rebuilds on changes until Ctrl-C or
/// SIGTERM, or until the host exits; then exits with the host's exit code.
pub fn run(
    profile: Profile,
    mut host: Command,
    manifest: PathBuf,
    runtime_config: PathBuf,
) -> Result<()> {
    stop_signal::install();
    let config_files = vec![manifest.clone(), runtime_config];
    let mut watches = watch_globs::read(&manifest)?;
    describe(&watches);

    eprintln!("Running `{}`", setup::describe(&host));
    let mut child = host
        .spawn()
        .with_context(|| format!("could not start {}", setup::describe(&host)))?;
    let watching = Watcher {
        profile,
        manifest: &manifest,
        host: &mut child,
    }
    .watch(&mut watches, &config_files);
    let status = stop(&mut child)?;
    watching?;
    std::process::exit(status.code().unwrap_or(1))
}

struct Watcher<'a> {
    profile: Profile,
    manifest: &'a Path,
    host: &'a mut Child,
}

impl Watcher<'_> {
    /// Polls until asked to stop or until the host is gone.
    fn watch(&mut self, watches: &mut Vec<ComponentWatch>, config_files: &[PathBuf]) -> Result<()> {
        let watched = |watches: &[ComponentWatch]| {
            let sources = watches.iter().flat_map(|watch| watch.files());
            Snapshot::take(config_files.iter().cloned().chain(sources))
        };
        let mut seen = watched(watches);
        let mut settling = Settling::default();
        loop {
            thread::sleep(POLL);
            if stop_signal::received() || self.host.try_wait()?.is_some() {
                return Ok(());
            }
            let now = watched(watches);
            let changed = now.changed_since(&seen);
            seen = now;
            let Some(changed) = settling.poll(changed) else {
                continue;
            };
            let config_changed = changed.iter().any(|file| config_files.contains(file));
            if config_changed {
                eprintln!("watch: {} changed", list(&changed, config_files));
                reread(self.manifest, watches);
                // Files that only the new globs cover are not changes.
                seen = watched(watches);
            }
            let mut built = false;
            for watch in watch_globs::watching(watches, &changed) {
                let theirs: Vec<_> = changed
                    .iter()
                    .filter(|file| watch.matches(file))
                    .cloned()
                    .collect();
                eprintln!(
                    "watch: {} changed: rebuilding `{}`",
                    shorten(&theirs),
                    watch.id
                );
                built |= self.build(&watch.id);
                if stop_signal::received() {
                    return Ok(());
                }
            }
            if built || config_changed {
                self.reload()?;
            }
        }
    }

    /// Runs the component's build command; whether it succeeded. Cargo's output (with the
    /// compiler's errors) goes to the terminal as it comes.
    fn build(&self, id: &str) -> bool {
        let started = Instant::now();
        let mut build = Command::new(setup::host_binary(self.profile));
        build
            .current_dir(setup::repo_root())
            .arg("build")
            .arg("--from")
            .arg(self.manifest)
            .args(["--component-id", id]);
        let outcome = run_unless_stopped(&mut build);
        let took = started.elapsed().as_secs_f64();
        match outcome {
            Ok(Some(status)) if status.success() => {
                eprintln!("watch: built `{id}` in {took:.1} s");
                true
            }
            Ok(Some(status)) => {
                eprintln!(
                    "watch: building `{id}` failed ({status}, {took:.1} s); \
                     the running version keeps serving"
                );
                false
            }
            Ok(None) => false,
            Err(err) => {
                eprintln!("watch: could not build `{id}`: {err:#}");
                false
            }
        }
    }

    /// Asks the host to reload; it swaps in only the components whose wasm changed.
    fn reload(&mut self) -> Result<()> {
        eprintln!("watch: asking the host to reload (SIGHUP)");
        signal(self.host, libc::SIGHUP)
    }
}

/// Prints what is watched, one line per component.
fn describe(watches: &[ComponentWatch]) {
    if watches.is_empty() {
        eprintln!("watch: no component has `watch` globs in spin.toml; nothing to rebuild");
    }
    for watch in watches {
        eprintln!(
            "watch: `{}` rebuilds on {}",
            watch.id,
            watch.globs.join(", ")
        );
    }
}

/// Reads the globs again after spin.toml changed; on an error keeps the old ones.
fn reread(manifest: &Path, watches: &mut Vec<ComponentWatch>) {
    match watch_globs::read(manifest) {
        Ok(new) => {
            *watches = new;
            describe(watches);
        }
        Err(err) => eprintln!("watch: keeping the previous globs: {err:#}"),
    }
}

/// The changed files among `of`, for a message.
fn list(changed: &[PathBuf], of: &[PathBuf]) -> String {
    let ours: Vec<_> = changed.iter().filter(|f| of.contains(f)).cloned().collect();
    shorten(&ours)
}

/// Up to three files relative to the repository, then how many more.
fn shorten(files: &[PathBuf]) -> String {
    let root = setup::repo_root();
    let mut names: Vec<String> = files
        .iter()
        .take(3)
        .map(|file| {
            file.strip_prefix(&root)
                .unwrap_or(file)
                .display()
                .to_string()
        })
        .collect();
    if files.len() > 3 {
        names.push(format!("and {} more", files.len() - 3));
    }
    names.join(", ")
}

/// Runs `cmd` to its end, or stops it when Ctrl-C or SIGTERM arrives (`None`).
fn run_unless_stopped(cmd: &mut Command) -> Result<Option<ExitStatus>> {
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not start {}", setup::describe(cmd)))?;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if stop_signal::received() {
            signal(&child, libc::SIGTERM)?;
            child.wait()?;
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Stops the host as Ctrl-C would (it drains its requests) and waits for it. On Ctrl-C it
/// has the SIGINT already; one more signal does no harm.
fn stop(host: &mut Child) -> Result<ExitStatus> {
    if let Some(status) = host.try_wait()? {
        return Ok(status);
    }
    signal(host, libc::SIGTERM)?;
    Ok(host.wait()?)
}

fn signal(child: &Child, signal: libc::c_int) -> Result<()> {
    // SAFETY: kill(2) on our own child's pid, which is not reaped until we wait for it.
    if unsafe { libc::kill(child.id() as libc::pid_t, signal) } != 0 {
        return Err(std::io::Error::last_os_error()).context("could not signal the host");
    }
    Ok(())
}

/// Ctrl-C and SIGTERM end the watch instead of killing xtask, so the host is stopped and
/// waited for, whichever process got the signal.
mod stop_signal {
    use super::*;

    static RECEIVED: AtomicBool = AtomicBool::new(false);

    extern "C" fn note(_: libc::c_int) {
        RECEIVED.store(true, Ordering::SeqCst);
    }

    pub fn install() {
        for signal in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
            unsafe {
                libc::signal(
                    signal,
                    note as extern "C" fn(libc::c_int) as libc::sighandler_t,
                )
            };
        }
    }

    pub fn received() -> bool {
        RECEIVED.load(Ordering::SeqCst)
    }
}
