//! Development tasks, run with `cargo xtask <command>` (see `USAGE`).
//!
//! Each command lives in its own module; `setup` holds what they share (paths, the wasm
//! target, building the host). Components are built by the host's `spin-host build`.

mod admin_token;
mod bench;
mod build;
mod compose;
mod conformance;
mod http;
mod prerequisites;
mod server;
mod setup;
mod test;
mod topology;
mod up;

use std::process::ExitCode;

const USAGE: &str = "\
Usage: cargo xtask <command> [options] [-- passthrough args]

Commands:
  build [--release]          install the wasm32-wasip2 target if missing, run the build
                             commands of spin.toml and spin.composed.toml (like
                             `spin build`), build spin-host
  up [--release] [--watch] [--topology chained|composed] [--replicas N] [--kv redis|local]
     [-- ARGS]
                             build, then run `spin-host up --runtime-config-file
                             runtime-config.toml ARGS` in the repository root;
                             --topology composed serves spin.composed.toml (each
                             service behind its composed edge) instead of spin.toml;
                             --watch: when files under a component's `watch` globs in
                             spin.toml change, rebuild only that component
                             (`spin-host build -c ID`) and have the host reload
                             (SIGHUP), which swaps it in while the rest keeps serving;
                             a failed build leaves the running version serving;
                             --replicas N: N hosts on the same address (SO_REUSEPORT:
                             the kernel spreads connections) and the same stores;
                             --kv redis: every key-value label in one Redis
                             (deploy/runtime-config.redis.toml; starts redis-server
                             on 127.0.0.1:6379 if none answers there)
  compose [--no-build]       build the components of spin.composed.toml's compositions
                             (each component whose wasi:http/incoming-handler import is
                             another component: the edge and its service), then write
                             each as one standalone component (`wac plug`'s result) to
                             target/composed/<service>.wasm
  test [--no-conformance] [--topology chained|composed] [-- ARGS]
                             install what the tests need if missing (redis-server from
                             Debian's packages when root, schemathesis with pip at the
                             pinned version), build (also tests/apps/*/spin.toml), then
                             `cargo test --workspace ARGS` with SPIN_HOST_BIN set
                             (SPIN_BIN, if set, is passed on for the comparison tests),
                             then contract conformance: schemathesis against
                             each service's contract through the gateway of a live app
                             (settings in xtask/conformance/); --no-conformance skips it.
                             The app suites and conformance run once per topology
                             (APP_TOPOLOGY tells the harness); --topology picks one
  conformance [--topology chained|composed]
                             build, then only the contract conformance step of `test`
  bench [--duration SECS] [--connections N[,N...]] [--only PART[,PART...]] [--compare BIN]
        [--replicas N]
                             load-test the visits API with wrk (default 10 s at 1 and 32
                             connections); with --compare BIN (or SPIN_BIN set), also
                             against that server (the real Spin, an older spin-host),
                             printing ratios; --only
                             runs some parts: visits-read, visits-write, tickets, ingest,
                             ingest-batch, send, timeline, latency, durability, direct,
                             uncached, composed, passthrough, upgrade; --replicas N:
                             only a mixed workload (reads, writes, ingest) on one host,
                             then on N replicas (SO_REUSEPORT) on the same stores, then
                             while one replica is killed (the failed requests counted)
  help                       print this message
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    };
    let (options, passthrough) = split_passthrough(rest);
    let result = match command.as_str() {
        "build" => build::run(options, passthrough),
        "compose" => compose::run(options, passthrough),
        "up" => up::run(options, passthrough),
        "test" => test::run(options, passthrough),
        "conformance" => conformance::command(options, passthrough),
        "bench" => bench::run(options, passthrough),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        unknown => {
            eprintln!("error: unknown command `{unknown}`\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Splits a command's arguments at the first `--`: xtask's own options before it, arguments
/// for the program the command runs after it.
fn split_passthrough(args: &[String]) -> (&[String], &[String]) {
    match args.iter().position(|arg| arg == "--") {
        Some(i) => (&args[..i], &args[i + 1..]),
        None => (args, &[]),
    }
}

/// Fails on any option the command does not take; `runs` names the program that receives
/// the arguments after `--`, if the command runs one.
fn reject_unknown(command: &str, options: &[String], runs: Option<&str>) -> anyhow::Result<()> {
    let Some(option) = options.first() else {
        return Ok(());
    };
    match runs {
        Some(program) => anyhow::bail!(
            "`{command}` does not take `{option}`; arguments for `{program}` go after `--`"
        ),
        None => anyhow::bail!("`{command}` does not take `{option}` (see `cargo xtask help`)"),
    }
}

/// Fails if the command does not pass arguments on to another program.
fn reject_passthrough(command: &str, passthrough: &[String]) -> anyhow::Result<()> {
    match passthrough.first() {
        None => Ok(()),
        Some(arg) => anyhow::bail!("`{command}` takes no arguments after `--` (got `{arg}`)"),
    }
}

/// Removes `flag` from `options` and says whether it was there.
fn take_flag(options: &mut Vec<String>, flag: &str) -> bool {
    let before = options.len();
    options.retain(|option| option != flag);
    options.len() != before
}

/// Removes `--name VALUE` or `--name=VALUE` from `options` and returns the value.
fn take_value(options: &mut Vec<String>, name: &str) -> anyhow::Result<Option<String>> {
    let prefix = format!("{name}=");
    let Some(i) = options
        .iter()
        .position(|o| o == name || o.starts_with(&prefix))
    else {
        return Ok(None);
    };
    let option = options.remove(i);
    if let Some(value) = option.strip_prefix(&prefix) {
        return Ok(Some(value.to_string()));
    }
    if i < options.len() {
        return Ok(Some(options.remove(i)));
    }
    anyhow::bail!("`{name}` needs a value")
}
