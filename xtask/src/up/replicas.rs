//! `cargo xtask up --replicas N [--kv redis]`: N host processes of one application on one
//! listening address and the same stores, as replicas behind a load balancer would run.
//!
//! The kernel balances: every replica binds the address with SO_REUSEPORT (`spin-host up
//! --reuse-port`), and Linux hands each new connection to one of them by a hash of its
//! addresses. That needs no extra process or dependency, and a replica that dies simply stops
//! getting connections. A client on one keep-alive connection stays on one replica, as it
//! would behind most HTTP load balancers.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::ops::RangeInclusive;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::setup;

/// The runtime config that puts every key-value label in one Redis (usable on Spin too).
pub const REDIS_RUNTIME_CONFIG: &str = "deploy/runtime-config.redis.toml";
/// Where that runtime config expects Redis.
const REDIS_ADDR: &str = "127.0.0.1:6379";

/// Most replicas `--replicas` starts: each is a full host with its own compiled code.
pub const MAX_REPLICAS: usize = 16;

/// Parses `--replicas N`: 1 to [`MAX_REPLICAS`].
pub fn parse_count(value: &str) -> Result<usize> {
    parse_count_within(value, 1..=MAX_REPLICAS)
}

/// Parses a `--replicas` value that must lie in `allowed` (`bench` wants at least two).
pub fn parse_count_within(value: &str, allowed: RangeInclusive<usize>) -> Result<usize> {
    match value.parse::<usize>() {
        Ok(count) if allowed.contains(&count) => Ok(count),
        _ => bail!(
            "--replicas takes a number from {} to {}, not {value:?}",
            allowed.start(),
            allowed.end()
        ),
    }
}

/// Parses `--kv`: `redis` or `local` (the default: SQLite files, as runtime-config.toml says).
pub fn parse_kv(value: &str) -> Result<bool> {
    match value {
        "redis" => Ok(true),
        "local" => Ok(false),
        other => bail!("--kv takes `redis` or `local`, not {other:?}"),
    }
}

/// Makes sure a Redis answers where the Redis runtime config points: one already running, or
/// a `redis-server` started here (without persistence) and returned so it lives as long as the
/// replicas.
pub fn ensure_redis() -> Result<Option<Child>> {
    let addr: SocketAddr = REDIS_ADDR.parse().expect("a socket address");
    if TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok() {
        eprintln!("Using the Redis at {REDIS_ADDR}");
        return Ok(None);
    }
    let child = Command::new("redis-server")
        .args([
            "--port",
            "6379",
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .context(
            "no Redis answers at 127.0.0.1:6379 and redis-server could not be started \
             (install it: `apt-get install redis-server`)",
        )?;
    for _ in 0..50 {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
            eprintln!("Started redis-server on {REDIS_ADDR} (no persistence)");
            return Ok(Some(child));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("redis-server did not start listening on {REDIS_ADDR}")
}

/// Starts `count` copies of `host` (each with `--reuse-port`), waits until one of them exits,
/// then stops the rest and returns that exit's verdict.
pub fn run(host: &Command, count: usize, listen: &str) -> Result<()> {
    let mut replicas = Vec::with_capacity(count);
    for replica in 1..=count {
        let mut command = copy_of(host);
        command.arg("--reuse-port");
        eprintln!("Replica {replica}/{count}: `{}`", setup::describe(&command));
        let child = command
            .spawn()
            .with_context(|| format!("could not start replica {replica}"))?;
        replicas.push(child);
    }
    eprintln!("{count} replicas share {listen}; the kernel spreads connections over them");
    let ended = loop {
        if let Some((index, status)) = replicas
            .iter_mut()
            .enumerate()
            .find_map(|(i, child)| child.try_wait().ok().flatten().map(|s| (i, s)))
        {
            break (index, status);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    for child in &mut replicas {
        let _ = child.kill();
        let _ = child.wait();
    }
    let (index, status) = ended;
    if status.success() {
        Ok(())
    } else {
        bail!(
            "replica {} exited with {status}; stopped the others",
            index + 1
        )
    }
}

/// The address the host will listen on: `--listen` among `host_args`, else Spin's default.
pub fn listen_address(host_args: &[String]) -> String {
    host_args
        .iter()
        .position(|arg| arg == "--listen")
        .and_then(|i| host_args.get(i + 1).cloned())
        .or_else(|| {
            host_args
                .iter()
                .find_map(|arg| arg.strip_prefix("--listen=").map(str::to_owned))
        })
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned())
}

/// Refuses a listen address that does not resolve, before starting anything.
pub fn check_listen(listen: &str) -> Result<()> {
    listen
        .to_socket_addrs()
        .with_context(|| format!("invalid --listen address {listen:?}"))?;
    Ok(())
}

fn copy_of(host: &Command) -> Command {
    let mut copy = Command::new(host.get_program());
    copy.args(host.get_args());
    if let Some(dir) = host.get_current_dir() {
        copy.current_dir(dir);
    }
    for (name, value) in host.get_envs() {
        match value {
            Some(value) => copy.env(name, value),
            None => copy.env_remove(name),
        };
    }
    copy
}

/// Whether the repository has the Redis runtime config (`deploy/`).
pub fn redis_config_exists(root: &Path) -> bool {
    root.join(REDIS_RUNTIME_CONFIG).is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_stores_are_checked() {
        assert_eq!(parse_count("3").unwrap(), 3);
        assert!(parse_count("0").is_err());
        assert!(parse_count("17").is_err());
        assert!(parse_count("two").is_err());
        assert_eq!(parse_count_within("2", 2..=8).unwrap(), 2);
        assert!(parse_count_within("1", 2..=8).is_err());
        assert!(parse_kv("redis").unwrap());
        assert!(!parse_kv("local").unwrap());
        assert!(parse_kv("memcached").is_err());
    }

    #[test]
    fn the_listen_address_comes_from_the_host_arguments() {
        let args = |list: &[&str]| list.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        assert_eq!(listen_address(&args(&[])), "127.0.0.1:3000");
        assert_eq!(
            listen_address(&args(&["--listen", "127.0.0.1:4000"])),
            "127.0.0.1:4000"
        );
        assert_eq!(
            listen_address(&args(&["--listen=0.0.0.0:80"])),
            "0.0.0.0:80"
        );
    }
}
