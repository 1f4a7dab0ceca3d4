//! `cargo xtask test`: install what the tests need (`prerequisites`), build everything they run,
//! then the whole workspace's tests, then the services' contract conformance (`conformance`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::{
    build::{self, Components},
    conformance, prerequisites,
    setup::{self, Profile},
    topology::Topology,
};

pub fn run(options: &[String], cargo_test_args: &[String]) -> Result<()> {
    let mut options = options.to_vec();
    let check_conformance = !crate::take_flag(&mut options, "--no-conformance");
    let only = crate::take_value(&mut options, "--topology")?
        .map(|name| Topology::parse(&name))
        .transpose()?;
    crate::reject_unknown("test", &options, Some("cargo test"))?;
    let started = Instant::now();
    let failed = |step: &str| {
        format!(
            "xtask test: FAILED after {} s ({step})",
            started.elapsed().as_secs()
        )
    };
    // Before building: a missing tool that cannot be installed stops the run at once.
    prerequisites::ensure_test_tools(check_conformance)?;
    build::build(Profile::Dev, Components::AppAndTestApps)?;
    let host = setup::host_binary(Profile::Dev);
    let topologies: Vec<Topology> = match only {
        Some(topology) => vec![topology],
        None => Topology::ALL
            .into_iter()
            .filter(|topology| topology.manifest().is_file())
            .collect(),
    };

    // The whole workspace once, its app suites on the chained topology; then the app suites
    // again on each other topology.
    let mut totals = Totals::default();
    for topology in &topologies {
        let mut cmd = setup::cargo();
        if *topology == Topology::Chained {
            cmd.args(["test", "--workspace"]);
        } else {
            cmd.args(["test", "-p", "integration-tests"]);
            for suite in app_suites()? {
                cmd.args(["--test", &suite]);
            }
        }
        cmd.args(cargo_test_args)
            .env("SPIN_HOST_BIN", &host)
            .env(TOPOLOGY_ENV, topology.name());
        run_cargo_test(cmd, &mut totals).with_context(|| failed("cargo test"))?;
    }
    println!(
        "xtask: {} passed, {} failed, {} skipped",
        totals.passed, totals.failed, totals.ignored
    );
    if totals.passed == 0 {
        bail!("xtask test: no test ran");
    }
    let checked = if check_conformance {
        for topology in &topologies {
            conformance::run(&host, *topology).with_context(|| failed("conformance"))?;
        }
        "workspace tests and contract conformance"
    } else {
        println!("xtask: contract conformance skipped (--no-conformance)");
        "workspace tests"
    };
    let names: Vec<_> = topologies.iter().map(|t| t.name()).collect();
    let elapsed = started.elapsed().as_secs();
    println!(
        "xtask test: all tests passed in {elapsed} s ({checked}; topologies: {})",
        names.join(", ")
    );
    Ok(())
}

/// The variable that tells the test harness which topology to start the app in.
const TOPOLOGY_ENV: &str = "APP_TOPOLOGY";

/// Runs one `cargo test`, passing its output through as it comes and adding up its counts.
fn run_cargo_test(mut cmd: Command, totals: &mut Totals) -> Result<()> {
    eprintln!(
        "Running `cargo {}` with SPIN_HOST_BIN and {TOPOLOGY_ENV}={}",
        join(cmd.get_args()),
        cmd.get_envs()
            .find(|(name, _)| *name == TOPOLOGY_ENV)
            .and_then(|(_, value)| value)
            .map(|value| value.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    // Inherited by the tests, which also run against Spin when it is set.
    if let Some(spin) = std::env::var_os("SPIN_BIN") {
        eprintln!("Passing on SPIN_BIN={}", spin.to_string_lossy());
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .context("could not start cargo test")?;
    let stdout = child.stdout.take().expect("stdout is piped");
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo test output")?;
        println!("{line}");
        totals.add(&line);
    }
    let status = child.wait().context("waiting for cargo test")?;
    if !status.success() {
        bail!("cargo test: {status}");
    }
    Ok(())
}

/// The integration suites that start the application (every `[[test]]` of tests/Cargo.toml but
/// the host's own `host_*` conformance suites, which do not depend on the topology).
fn app_suites() -> Result<Vec<String>> {
    let path = setup::repo_root().join("tests/Cargo.toml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("could not read {}", path.display()))?;
    let manifest: toml::Table = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    let suites: Vec<String> = manifest
        .get("test")
        .and_then(|tests| tests.as_array())
        .into_iter()
        .flatten()
        .filter_map(|test| test.get("name")?.as_str())
        .filter(|name| !name.starts_with("host_"))
        .map(str::to_owned)
        .collect();
    if suites.is_empty() {
        bail!("{} lists no [[test]] suites", path.display());
    }
    Ok(suites)
}

/// Sums of libtest's `test result: ok. 3 passed; 0 failed; 1 ignored; ...` lines.
#[derive(Debug, Default, PartialEq)]
struct Totals {
    passed: u64,
    failed: u64,
    ignored: u64,
}

impl Totals {
    fn add(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(kind), Some(count)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(count) = count.parse::<u64>() else {
                continue;
            };
            match kind {
                "passed" => self.passed += count,
                "failed" => self.failed += count,
                "ignored" => self.ignored += count,
                _ => {}
            }
        }
    }
}

fn join<'a>(args: impl Iterator<Item = &'a std::ffi::OsStr>) -> String {
    args.map(|arg| arg.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::Totals;

    #[test]
    fn result_lines_are_summed() {
        let mut totals = Totals::default();
        totals.add("test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s");
        totals
            .add("test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out");
        totals.add("running 3 tests");
        assert_eq!(
            totals,
            Totals {
                passed: 5,
                failed: 1,
                ignored: 1
            }
        );
    }
}
