//! `cargo xtask test`: install what the tests need (`prerequisites`), build everything they run,
//! then the whole workspace's tests, then the services' contract conformance (`conformance`).

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::{
    build::{self, Components},
    conformance, prerequisites,
    setup::{self, Profile},
};

pub fn run(options: &[String], cargo_test_args: &[String]) -> Result<()> {
    let mut options = options.to_vec();
    let check_conformance = !crate::take_flag(&mut options, "--no-conformance");
    crate::reject_unknown("test", &options, Some("cargo test"))?;
    let started = Instant::now();
    // Before building: a missing tool that cannot be installed stops the run at once.
    prerequisites::ensure_test_tools(check_conformance)?;
    build::build(Profile::Dev, Components::AppAndTestApps)?;

    let host = setup::host_binary(Profile::Dev);
    let mut cmd = setup::cargo();
    cmd.args(["test", "--workspace"])
        .args(cargo_test_args)
        .env("SPIN_HOST_BIN", &host);
    eprintln!(
        "Running `cargo {}` with SPIN_HOST_BIN={}",
        join(cmd.get_args()),
        host.display()
    );
    // Inherited by the tests, which also run against Spin when it is set.
    if let Some(spin) = std::env::var_os("SPIN_BIN") {
        eprintln!("Passing on SPIN_BIN={}", spin.to_string_lossy());
    }
    // Test output is passed through as it comes, and its counts added up.
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .context("could not start cargo test")?;
    let mut totals = Totals::default();
    let stdout = child.stdout.take().expect("stdout is piped");
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo test output")?;
        println!("{line}");
        totals.add(&line);
    }
    let status = child.wait().context("waiting for cargo test")?;
    println!(
        "xtask: {} passed, {} failed, {} skipped",
        totals.passed, totals.failed, totals.ignored
    );
    if !status.success() {
        let elapsed = started.elapsed().as_secs();
        bail!("xtask test: FAILED after {elapsed} s (cargo test: {status})");
    }
    if totals.passed == 0 {
        bail!("xtask test: no test ran");
    }
    let checked = if check_conformance {
        conformance::run(&host).with_context(|| {
            format!("xtask test: FAILED after {} s", started.elapsed().as_secs())
        })?;
        "workspace tests and contract conformance"
    } else {
        println!("xtask: contract conformance skipped (--no-conformance)");
        "workspace tests"
    };
    let elapsed = started.elapsed().as_secs();
    println!("xtask test: all tests passed in {elapsed} s ({checked})");
    Ok(())
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
