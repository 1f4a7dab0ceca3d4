//! The wasmtime engine: configured once (pooling allocator, epoch deadlines),
//! components compiled once per content hash and cached on disk.

use crate::capabilities::provides::Interface;
use crate::compose;
use crate::function_cache::FunctionCache;
use crate::instance::InstanceState;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker, ResourceType};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch ticks; deadlines are checked at this granularity.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Requests served at once; the pools below are sized from it.
pub const MAX_CONCURRENT_INSTANCES: u32 = 1000;

/// Per instance slot, the dirty linear memory reset in place rather than decommitted: more
/// than a typical request of our services writes (stack, heap, statics).
const KEEP_RESIDENT_MEMORY_BYTES: usize = 4 << 20;
const KEEP_RESIDENT_TABLE_BYTES: usize = 64 << 10;

/// The engine every component is compiled and run with, and its epoch ticker.
/// With `functions`, Cranelift reuses the functions it compiled before (see `function_cache`).
pub fn new_engine(
    max_instance_memory: Option<usize>,
    functions: Option<Arc<FunctionCache>>,
) -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    if let Some(functions) = functions {
        config.enable_incremental_compilation(functions)?;
    }
    config.epoch_interruption(true);
    // `SPIN_HOST_PERFMAP=1`: name compiled wasm functions in /tmp/perf-<pid>.map, so that
    // `perf report` shows guest functions by name (from the component's name section, if any).
    if std::env::var_os("SPIN_HOST_PERFMAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    let mut pooling = PoolingAllocationConfig::default();
    pooling.total_component_instances(MAX_CONCURRENT_INSTANCES);
    // A Spin component holds a few core instances (program, adapters).
    pooling.total_core_instances(MAX_CONCURRENT_INSTANCES * 4);
    pooling.total_memories(MAX_CONCURRENT_INSTANCES * 2);
    pooling.total_tables(MAX_CONCURRENT_INSTANCES * 4);
    pooling.total_stacks(MAX_CONCURRENT_INSTANCES);
    if let Some(max) = max_instance_memory {
        pooling.max_memory_size(max);
    }
    // Reset a finished instance's memory by copying back only the pages it dirtied, found
    // with the kernel's PAGEMAP_SCAN, instead of madvise-ing the whole slot away: no page
    // tables torn down (no TLB-flush IPIs to the other cores) and no page faults when the
    // next request touches the same pages. Beyond these sizes the rest is decommitted as before.
    pooling.pagemap_scan(wasmtime::Enabled::Auto);
    pooling.linear_memory_keep_resident(KEEP_RESIDENT_MEMORY_BYTES);
    pooling.table_keep_resident(KEEP_RESIDENT_TABLE_BYTES);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    let engine = Engine::new(&config).map_err(anyhow::Error::from)?;

    // One ticker for the whole process drives every store's deadline.
    let ticker = engine.weak();
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            match ticker.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => return,
            }
        })?;
    Ok(engine)
}

/// The linker every component starts from, with every capability linked,
/// and the interfaces they provide. Built once.
pub fn base_linker(engine: &Engine) -> Result<(Linker<InstanceState>, Vec<Interface>)> {
    let mut linker = Linker::new(engine);
    let provided = InstanceState::link(&mut linker)?;
    Ok((linker, provided))
}

/// Compiles a component's `bytes`, or loads the artifact cached under
/// `cache_dir` for the same bytes and engine settings.
pub fn load_component(
    engine: &Engine,
    bytes: &[u8],
    cache_dir: Option<&Path>,
) -> Result<Component> {
    let Some(cache_dir) = cache_dir else {
        return Component::new(engine, bytes).map_err(anyhow::Error::from);
    };
    let cached = cache_dir
        .join(cache_key(engine, bytes))
        .with_extension("cwasm");
    if cached.exists() {
        // SAFETY: the file was written by `Component::serialize` of this
        // host for the same engine settings (they are part of the key).
        match unsafe { Component::deserialize_file(engine, &cached) } {
            Ok(component) => return Ok(component),
            Err(e) => tracing::warn!("ignoring unusable cache entry {}: {e}", cached.display()),
        }
    }
    let component = Component::new(engine, bytes).map_err(anyhow::Error::from)?;
    if let Err(e) = write_cache(&cached, &component) {
        tracing::warn!(
            "cannot cache compiled component at {}: {e:#}",
            cached.display()
        );
    }
    Ok(component)
}

fn cache_key(engine: &Engine, bytes: &[u8]) -> String {
    let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
    engine
        .precompile_compatibility_hash()
        .hash(&mut engine_hash);
    let mut digest = Sha256::new();
    digest.update(bytes);
    digest.update(engine_hash.finish().to_le_bytes());
    digest.update(env!("CARGO_PKG_VERSION").as_bytes());
    format!("{:x}", digest.finalize())
}

fn write_cache(path: &Path, component: &Component) -> Result<()> {
    let artifact = component.serialize().map_err(anyhow::Error::from)?;
    write_file_atomically(path, &artifact)
}

/// Writes via a temporary file and rename, so a concurrent reader never sees
/// half a file.
pub fn write_file_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("cache path has no directory")?;
    std::fs::create_dir_all(dir)?;
    let temp: PathBuf = dir.join(format!(".{}.{}.tmp", std::process::id(), rand_suffix()));
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, path)?;
    Ok(())
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Default compile cache: `$XDG_CACHE_HOME/spin-host` or `~/.cache/spin-host`.
pub fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|d| d.join("spin-host"))
}

/// Spin links every interface it knows, so an import is never missing there.
/// Here, imports of interfaces this host lacks are defined as functions that
/// trap when called. (wasmtime's own `define_unknown_imports_as_traps` would
/// also shadow WASI imports that only match by semver.)
pub fn stub_unknown_imports(
    linker: &mut Linker<InstanceState>,
    component: &Component,
    engine: &Engine,
    provided: &[Interface],
) -> Result<()> {
    for (name, item) in component.component_type().imports(engine) {
        // A non-inheriting dependency's capabilities are linked as denials.
        let provided = provided.iter().any(|interface| interface.matches(name))
            || compose::is_denied_import(name);
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            continue;
        };
        if provided {
            continue;
        }
        tracing::info!(
            "component imports `{name}`, which this host does not provide: calls will trap"
        );
        let mut scope = linker.instance(name).map_err(anyhow::Error::from)?;
        for (export, item) in instance.exports(engine) {
            match item.ty {
                ComponentItem::ComponentFunc(_) => {
                    let qualified = format!("{name}#{export}");
                    scope
                        .func_new(export, move |_, _, _, _| {
                            Err(wasmtime::format_err!(
                                "`{qualified}` is not supported by this host"
                            ))
                        })
                        .map_err(anyhow::Error::from)?;
                }
                ComponentItem::Resource(_) => {
                    scope
                        .resource(export, ResourceType::host::<()>(), |_, _| Ok(()))
                        .map_err(anyhow::Error::from)?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}
