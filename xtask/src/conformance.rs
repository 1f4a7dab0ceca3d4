//! Contract conformance, run by `cargo xtask test` after the cargo tests: schemathesis against
//! each service's OpenAPI contract on a live app, through the gateway, with a key that has every
//! scope. Any server error or answer the contract does not allow fails the task. What the run
//! accepts and why is in `xtask/conformance/schemathesis.toml`.

mod app;

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{bail, Context, Result};

use crate::server::SERVICES;
use crate::{
    build::{self, Components},
    prerequisites,
    setup::{self, Profile},
    topology::Topology,
};
use app::LiveApp;

/// schemathesis's settings and hooks, relative to the repository root (its working directory).
const CONFIG: &str = "xtask/conformance/schemathesis.toml";

/// One service's run: how it ended and schemathesis's own summary lines.
struct Outcome {
    service: &'static str,
    passed: bool,
    seconds: u64,
    summary: Vec<String>,
}

/// `cargo xtask conformance [--topology NAME]`: builds the app, then runs only this step of
/// `cargo xtask test`.
pub fn command(options: &[String], passthrough: &[String]) -> Result<()> {
    let mut options = options.to_vec();
    let topology = Topology::take_option(&mut options)?;
    crate::reject_unknown("conformance", &options, None)?;
    crate::reject_passthrough("conformance", passthrough)?;
    prerequisites::ensure_schemathesis()?;
    build::build(Profile::Dev, Components::App)?;
    run(&setup::host_binary(Profile::Dev), topology)
}

/// Tests every service's contract on a live app of `topology` served by `host`.
pub fn run(host: &Path, topology: Topology) -> Result<()> {
    let version = schemathesis_version()?;
    eprintln!(
        "Contract conformance ({} topology) with schemathesis {version}, settings in {CONFIG}",
        topology.name()
    );
    let app = LiveApp::start(host, topology)?;
    let outcomes = test_every_service(&app);
    let keep_files = !matches!(&outcomes, Ok(all) if all.iter().all(|o| o.passed));
    let log = app.log();
    app.stop(keep_files);
    let outcomes = outcomes?;

    println!(
        "xtask: contract conformance ({} topology):",
        topology.name()
    );
    for outcome in &outcomes {
        let verdict = if outcome.passed { "ok" } else { "FAILED" };
        let summary = outcome.summary.join("; ");
        println!(
            "  {:<10} {verdict:<6} {:>4} s  {summary}",
            outcome.service, outcome.seconds
        );
    }
    let failed: Vec<_> = outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(|o| o.service)
        .collect();
    if !failed.is_empty() {
        bail!(
            "contract conformance ({} topology) failed for {} (the host's output is in {})",
            topology.name(),
            failed.join(", "),
            log.display()
        );
    }
    Ok(())
}

fn test_every_service(app: &LiveApp) -> Result<Vec<Outcome>> {
    let key = app.key_with_every_scope()?;
    SERVICES
        .iter()
        .map(|&service| test_service(app, service, &key))
        .collect()
}

/// Runs schemathesis against one service's contract, as the gateway serves it, echoing its
/// output as it comes.
fn test_service(app: &LiveApp, service: &'static str, key: &str) -> Result<Outcome> {
    let base_url = app.base_url();
    let contract = format!("/services/{service}/openapi.json");
    let mut cmd = schemathesis();
    cmd.args(["--config-file", CONFIG, "run", "--no-color"])
        .arg(format!("{base_url}{contract}"))
        .args(["--url", &base_url])
        .args(["--header", &format!("Authorization: Bearer {key}")])
        // Hypothesis keeps caches in `.hypothesis` of the working directory (the repository).
        .env("HYPOTHESIS_STORAGE_DIRECTORY", app.dir().join("hypothesis"));
    eprintln!("\n==> {service}: schemathesis run {base_url}{contract}");
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .context("could not start schemathesis")?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut summary = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading schemathesis's output")?;
        println!("{line}");
        if let Some(kept) = summary_line(&line) {
            summary.push(kept);
        }
    }
    let status = child.wait().context("waiting for schemathesis")?;
    Ok(Outcome {
        service,
        passed: status.success(),
        seconds: started.elapsed().as_secs(),
        summary,
    })
}

/// The lines of schemathesis's output worth repeating in the final summary: the test case
/// counts (`383 generated, 383 passed`) and the verdict (`No issues found in 2.69s`).
fn summary_line(line: &str) -> Option<String> {
    let trimmed = line.trim();
    if trimmed.contains(" generated, ") {
        return Some(trimmed.to_owned());
    }
    let verdict = trimmed.trim_matches('=').trim();
    (trimmed.starts_with("===") && !verdict.is_empty() && verdict.contains(" in "))
        .then(|| verdict.to_owned())
}

/// `python3 -m schemathesis.cli`, run from the repository root: the module, rather than the
/// `schemathesis` script, is found wherever pip put it for that interpreter.
fn schemathesis() -> Command {
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "schemathesis.cli"])
        .current_dir(setup::repo_root());
    cmd
}

/// The installed version; `cargo xtask test` and `conformance` install the pinned one first.
fn schemathesis_version() -> Result<String> {
    match prerequisites::installed_schemathesis() {
        Some(version) => Ok(version),
        None => bail!(
            "schemathesis is not installed for python3: `python3 -m pip install \
             'schemathesis=={}'`, or skip this step with `cargo xtask test --no-conformance`",
            prerequisites::SCHEMATHESIS_VERSION
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_keeps_counts_and_verdicts() {
        let counts = "  383 generated, 383 passed";
        assert_eq!(
            summary_line(counts).as_deref(),
            Some("383 generated, 383 passed")
        );
        let verdict = "=========== No issues found in 2.69s ===========";
        assert_eq!(
            summary_line(verdict).as_deref(),
            Some("No issues found in 2.69s")
        );
        let failures = "============= 3 failures in 4.77s =============";
        assert_eq!(
            summary_line(failures).as_deref(),
            Some("3 failures in 4.77s")
        );
        assert_eq!(
            summary_line("=================== SUMMARY ==================="),
            None
        );
        assert_eq!(summary_line("     ✅ 11 passed"), None);
    }
}
