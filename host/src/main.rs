//! `spin-host`: a Spin-compatible local host for this application.
//!
//! `spin-host up` loads `spin.toml` and `runtime-config.toml` the way `spin up`
//! does and serves the HTTP trigger, reloading on `SIGHUP` (and on changes
//! with `--watch`); `spin-host build` runs the build commands.

mod authority;
mod build;
mod capabilities;
mod capability_set;
mod component;
mod compose;
mod engine;
mod function_cache;
mod instance;
mod loaded_app;
mod manifest;
mod metrics;
mod reload;
mod routes;
mod runtime;
mod runtime_config;
mod server;
mod spin_headers;

use anyhow::{bail, Context, Result};

// Every request allocates and frees many small objects across threads (stores, resource
// tables, HTTP messages); mimalloc serves those faster than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Spin sets no memory cap by default; this host caps each instance so one
/// runaway request cannot exhaust the machine. `--max-instance-memory` raises it.
const DEFAULT_MAX_INSTANCE_MEMORY: usize = 512 * 1024 * 1024;

#[derive(Parser)]
#[command(
    name = "spin-host",
    version,
    about = "A Spin-compatible local host built on wasmtime"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the application (like `spin up`).
    Up(Box<UpArgs>),
    /// Run the components' build commands (like `spin build`).
    Build(BuildArgs),
}

#[derive(clap::Args)]
struct UpArgs {
    /// Address to listen on.
    #[arg(long, env = "SPIN_HTTP_LISTEN_ADDR", default_value = "127.0.0.1:3000")]
    listen: String,
    /// The manifest file, or a directory holding `spin.toml`.
    #[arg(short = 'f', long = "from")]
    from: Option<PathBuf>,
    /// Runtime configuration (stores, databases, variable providers).
    #[arg(long = "runtime-config-file", env = "RUNTIME_CONFIG_FILE")]
    runtime_config_file: Option<PathBuf>,
    /// Where default stores live; empty for in-memory. Default: `.spin` beside the manifest.
    #[arg(long = "state-dir")]
    state_dir: Option<String>,
    /// Where guest stdout/stderr are logged; empty for none. Default: `<state dir>/logs`.
    #[arg(short = 'L', long = "log-dir")]
    log_dir: Option<String>,
    /// Where compiled components are cached. Default: ~/.cache/spin-host.
    #[arg(long = "cache-dir")]
    cache_dir: Option<PathBuf>,
    /// Compile components on every start instead of using the cache.
    #[arg(long = "disable-cache")]
    disable_cache: bool,
    /// Wall-clock limit for one request, in seconds (this host's addition to Spin).
    #[arg(long = "request-timeout", default_value_t = 60)]
    request_timeout: u64,
    /// Largest linear memory an instance may grow to, in bytes [default: 512 MiB].
    #[arg(long = "max-instance-memory", env = "SPIN_MAX_INSTANCE_MEMORY")]
    max_instance_memory: Option<usize>,
    /// Environment variable for every component, KEY=VALUE (repeatable).
    #[arg(short = 'e', long = "env")]
    env: Vec<String>,
    /// Application variable value, name=value (repeatable).
    #[arg(long = "variable")]
    variable: Vec<String>,
    /// Serve Prometheus metrics at http://ADDR/metrics (this host's addition
    /// to Spin). Off by default.
    #[arg(long = "metrics-listen", value_name = "ADDR")]
    metrics_listen: Option<String>,
    /// Share the listen address with other processes that also pass this flag (SO_REUSEPORT):
    /// the kernel spreads new connections over them. For replicas of one application on one
    /// machine (this host's addition to Spin).
    #[arg(long = "reuse-port")]
    reuse_port: bool,
    /// Run only this component and its triggers (repeatable), as `spin up -c`.
    #[arg(short = 'c', long = "component-id", value_name = "ID")]
    component_id: Vec<String>,
    /// Reload when a component's wasm, the manifest or the runtime config
    /// changes, swapping in only what changed (`SIGHUP` reloads always).
    #[arg(long = "watch")]
    watch: bool,
}

#[derive(clap::Args)]
struct BuildArgs {
    /// The manifest file, or a directory holding `spin.toml`.
    #[arg(short = 'f', long = "from")]
    from: Option<PathBuf>,
    /// Build only these components.
    #[arg(short = 'c', long = "component-id")]
    component_id: Vec<String>,
}

fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let result = match Cli::parse().command {
        Command::Up(args) => up(*args),
        Command::Build(args) => manifest_path(args.from.as_deref())
            .and_then(|path| manifest::App::load(&path))
            .and_then(|app| build::build(&app, &args.component_id)),
    };
    capabilities::wasi::guest_output::flush();
    if let Err(e) = result {
        eprintln!("Error: {e:#}");
        std::process::exit(1);
    }
}

/// `--from` as a file or directory; by default `spin.toml` here or above.
fn manifest_path(from: Option<&Path>) -> Result<PathBuf> {
    match from {
        Some(path) if path.is_dir() => Ok(path.join("spin.toml")),
        Some(path) => Ok(path.to_path_buf()),
        None => {
            let mut dir = std::env::current_dir()?;
            loop {
                let candidate = dir.join("spin.toml");
                if candidate.is_file() {
                    return Ok(candidate);
                }
                if !dir.pop() {
                    bail!("no spin.toml found in the current directory or its parents");
                }
            }
        }
    }
}

fn split_pairs(pairs: &[String], what: &str) -> Result<Vec<(String, String)>> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None => bail!("{what} {pair:?} must be KEY=VALUE"),
        })
        .collect()
}

fn up(args: UpArgs) -> Result<()> {
    let source = reload::Source {
        manifest: manifest_path(args.from.as_deref())?,
        runtime_config: args.runtime_config_file.clone(),
        component_ids: args.component_id.clone(),
    };
    let (app, runtime_config) = source.read()?;
    if let Some(summary) = &runtime_config.summary {
        eprintln!("{summary}");
    }
    let cwd = std::env::current_dir()?;
    let state_dir = match args.state_dir.clone().or(runtime_config.state_dir.clone()) {
        Some(dir) if dir.is_empty() => None,
        Some(dir) => Some(cwd.join(dir)),
        None => Some(app.dir.join(".spin")),
    };
    let log_dir = match args.log_dir.clone().or(runtime_config.log_dir.clone()) {
        Some(dir) if dir.is_empty() => None,
        Some(dir) => Some(cwd.join(dir)),
        None => state_dir.as_ref().map(|d| d.join("logs")),
    };
    if let Some(dir) = &log_dir {
        eprintln!("Logging component stdio to {:?}", dir);
    }
    let cache_dir = if args.disable_cache {
        None
    } else {
        args.cache_dir.clone().or_else(engine::default_cache_dir)
    };
    let listen_addr = resolve_listen(&args.listen, "--listen")?;
    let metrics_addr = args
        .metrics_listen
        .as_deref()
        .map(|addr| resolve_listen(addr, "--metrics-listen"))
        .transpose()?;
    print_storage_lines(&app, state_dir.as_deref());

    let options = runtime::StartOptions {
        app,
        capabilities: capability_set::CapabilityOptions {
            state_dir,
            log_dir,
            env_overrides: split_pairs(&args.env, "--env")?,
            cli_variables: split_pairs(&args.variable, "--variable")?
                .into_iter()
                .collect::<BTreeMap<_, _>>(),
        },
        cache_dir,
        listen_addr,
        limits: runtime::Limits {
            request_timeout: Duration::from_secs(args.request_timeout.max(1)),
            max_instance_memory: args
                .max_instance_memory
                .or(runtime_config.max_instance_memory.map(|m| m as usize))
                .or(Some(DEFAULT_MAX_INSTANCE_MEMORY)),
        },
        runtime_config,
    };

    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    tokio.block_on(async move {
        let (app, warnings) = runtime::AppRuntime::start(options)?;
        for warning in warnings {
            eprintln!("{warning}");
        }
        let listener = if args.reuse_port {
            bind_shared(listen_addr)?
        } else {
            bind(listen_addr).await?
        };
        let metrics_listener = match metrics_addr {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        print_routes(&app, listener.local_addr()?);
        let reloads = reload::start(app.clone(), source.clone());
        reload::on_sighup(reloads.clone())?;
        if args.watch {
            let config_files = [Some(source.manifest.clone()), source.runtime_config.clone()];
            reload::watch::start(
                app.clone(),
                config_files.into_iter().flatten().collect(),
                reloads,
            );
        }
        // One signal stops both listeners; each then drains its connections.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let metrics_server = match metrics_listener {
            Some(metrics_listener) => {
                println!(
                    "Serving metrics on http://{}/metrics",
                    metrics_listener.local_addr()?
                );
                let mut stopped = stopped.clone();
                let shutdown = async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                };
                Some(tokio::spawn(server::serve_metrics(
                    app.metrics.clone(),
                    metrics_listener,
                    shutdown,
                )))
            }
            None => None,
        };
        let shutdown = async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        };
        server::serve(app, listener, shutdown).await?;
        if let Some(metrics_server) = metrics_server {
            metrics_server.await??;
        }
        capabilities::wasi::guest_output::flush();
        eprintln!("Shutting down");
        Ok(())
    })
}

async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            anyhow::anyhow!("{addr} is already in use")
        } else {
            anyhow::Error::from(e).context(format!("cannot listen on {addr}"))
        }
    })
}

/// Binds `addr` with SO_REUSEPORT, so that replicas started the same way share it.
fn bind_shared(addr: SocketAddr) -> Result<tokio::net::TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket
        .bind(addr)
        .with_context(|| format!("cannot listen on {addr} (shared with --reuse-port)"))?;
    socket
        .listen(1024)
        .with_context(|| format!("cannot listen on {addr}"))
}

fn resolve_listen(listen: &str, flag: &str) -> Result<SocketAddr> {
    use std::net::ToSocketAddrs;
    let addrs: Vec<SocketAddr> = listen
        .to_socket_addrs()
        .with_context(|| format!("invalid {flag} address {listen:?}"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.ip() == std::net::Ipv4Addr::LOCALHOST)
        .or(addrs.first())
        .copied()
        .with_context(|| format!("{flag} {listen:?} resolves to no address"))
}

fn print_storage_lines(app: &manifest::App, state_dir: Option<&Path>) {
    let uses = |pick: fn(&manifest::ComponentDecl) -> &Vec<String>| {
        app.triggered_components()
            .any(|c| pick(c).iter().any(|l| l == "default"))
    };
    let location = |file: &str, what: &str| match state_dir {
        Some(dir) => format!("{:?}", dir.join(file)),
        None => format!("a temporary in-memory {what}"),
    };
    if uses(|c| &c.sqlite_databases) {
        eprintln!(
            "Storing default SQLite data to {}.",
            location(capabilities::sqlite::DEFAULT_DATABASE_FILE, "database")
        );
    }
    if uses(|c| &c.key_value_stores) {
        eprintln!(
            "Storing default key-value data to {}.",
            location(capabilities::key_value::DEFAULT_STORE_FILE, "store")
        );
    }
}

/// Spin's banner: the base URL, then public routes in matching order.
fn print_routes(app: &runtime::AppRuntime, addr: SocketAddr) {
    let app = app.current();
    let base = format!("http://{addr}");
    println!();
    println!("Serving {base}");
    println!("Available Routes:");
    for route in app.router.routes_in_order() {
        let url = if route.wildcard {
            format!("{base}{} (wildcard)", route.component_route)
        } else {
            format!("{base}{}", route.matched)
        };
        println!("  {}: {url}", route.label);
        if let Some(description) = app.descriptions.get(&route.label).filter(|d| !d.is_empty()) {
            println!("    {description}");
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).expect("SIGTERM handler installs");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
