//! `cargo xtask up`: build, then serve the application with our host; with `--watch`, also
//! rebuild and swap in each component whose sources change (`watch`).

mod changes;
mod watch;
mod watch_globs;

use std::process::Command;

use anyhow::{Context, Result};

use crate::{
    admin_token,
    build::{self, Components},
    setup::{self, Profile},
    topology::Topology,
};

pub fn run(options: &[String], host_args: &[String]) -> Result<()> {
    let mut options = options.to_vec();
    let profile = if crate::take_flag(&mut options, "--release") {
        Profile::Release
    } else {
        Profile::Dev
    };
    let watch = crate::take_flag(&mut options, "--watch");
    let topology = Topology::take_option(&mut options)?;
    crate::reject_unknown("up", &options, Some("spin-host up"))?;
    build::build(profile, Components::App)?;

    let runtime_config = "runtime-config.toml";
    let mut host = Command::new(setup::host_binary(profile));
    host.current_dir(setup::repo_root())
        .args(["up", "--runtime-config-file", runtime_config])
        .args(topology.up_args())
        .args(host_args);
    if let Some(token) = admin_token::for_local_run(&setup::repo_root(), host_args)? {
        eprintln!(
            "Admin token for /admin/keys: {token} (kept in {}; set {} to choose your own)",
            admin_token::file_hint(),
            admin_token::ENV
        );
        host.env(admin_token::ENV, token);
    }
    if watch {
        return watch::run(
            profile,
            host,
            topology.manifest(),
            setup::repo_root().join(runtime_config),
        );
    }
    eprintln!("Running `{}`", setup::describe(&host));
    exec(host)
}

/// Becomes the host (on Unix), so Ctrl-C, the exit code and the terminal are all the host's.
#[cfg(unix)]
fn exec(mut host: Command) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let err = host.exec();
    Err(err).with_context(|| format!("could not start {}", setup::describe(&host)))
}

/// Runs the host and exits with its exit code. Ctrl-C reaches the host from the console too.
#[cfg(not(unix))]
fn exec(mut host: Command) -> Result<()> {
    let status = host
        .status()
        .with_context(|| format!("could not start {}", setup::describe(&host)))?;
    std::process::exit(status.code().unwrap_or(1))
}
