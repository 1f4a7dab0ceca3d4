//! `cargo xtask up`: build, then serve the application with our host; with `--watch`, also
//! rebuild and swap in each component whose sources change (`watch`); with `--replicas N`, run N
//! hosts on one address and the same stores (`replicas`).

mod changes;
pub mod replicas;
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
    let replica_count = match crate::take_value(&mut options, "--replicas")? {
        Some(count) => Some(replicas::parse_count(&count)?),
        None => None,
    };
    let kv_in_redis = match crate::take_value(&mut options, "--kv")? {
        Some(kv) => replicas::parse_kv(&kv)?,
        None => false,
    };
    crate::reject_unknown("up", &options, Some("spin-host up"))?;
    if watch && replica_count.is_some() {
        anyhow::bail!(
            "--watch and --replicas do not go together: upgrade replicas one by one with SIGHUP"
        );
    }
    if kv_in_redis && !replicas::redis_config_exists(&setup::repo_root()) {
        anyhow::bail!("{} is missing", replicas::REDIS_RUNTIME_CONFIG);
    }
    let listen = replicas::listen_address(host_args);
    replicas::check_listen(&listen)?;
    build::build(profile, Components::App)?;

    let runtime_config = if kv_in_redis {
        replicas::REDIS_RUNTIME_CONFIG
    } else {
        "runtime-config.toml"
    };
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
    // Kept alive (and stopped on drop) while the host or its replicas run.
    let redis = if kv_in_redis {
        replicas::ensure_redis()?.map(StopOnDrop)
    } else {
        None
    };
    if let Some(count) = replica_count {
        return replicas::run(&host, count, &listen);
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
    if redis.is_some() {
        // Not exec: the Redis started here must be stopped when the host ends.
        let status = host
            .status()
            .with_context(|| format!("could not start {}", setup::describe(&host)))?;
        anyhow::ensure!(status.success(), "the host exited with {status}");
        return Ok(());
    }
    exec(host)
}

/// A child process killed when this goes out of scope.
struct StopOnDrop(std::process::Child);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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
