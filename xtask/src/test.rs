//! `cargo xtask test`: build everything the tests run, then the whole workspace's tests.

use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::{
    build::{self, Components},
    setup::{self, Profile},
};

pub fn run(options: &[String], cargo_test_args: &[String]) -> Result<()> {
    crate::reject_unknown("test", options, Some("cargo test"))?;
    let started = Instant::now();
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
    let status = cmd.status().context("could not start cargo test")?;
    let elapsed = started.elapsed().as_secs();
    if !status.success() {
        bail!("xtask test: FAILED after {elapsed} s (cargo test: {status})");
    }
    println!("xtask test: all tests passed in {elapsed} s (components, host and workspace tests)");
    Ok(())
}

fn join<'a>(args: impl Iterator<Item = &'a std::ffi::OsStr>) -> String {
    args.map(|arg| arg.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
