//! Reloading the application while it serves: on `SIGHUP`, or on a change
//! seen by `up --watch`. Each reload re-reads `spin.toml` and the runtime
//! config and hands them to [`AppRuntime::reload`], which swaps in only what
//! changed; one that fails changes nothing. Reloads run one at a time, in
//! the order asked; requests that arrive while one runs are served one
//! reload later (they coalesce).

mod background;
pub mod watch;

use crate::manifest::App;
use crate::runtime::AppRuntime;
use crate::runtime_config::RuntimeConfig;
use anyhow::Result;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;

/// Where the application is read from, at start and on every reload.
#[derive(Clone)]
pub struct Source {
    pub manifest: PathBuf,
    pub runtime_config: Option<PathBuf>,
    /// `up -c`: the selection applies to every reload.
    pub component_ids: Vec<String>,
}

impl Source {
    /// Loads and validates the manifest (with the selection) and the runtime config.
    pub fn read(&self) -> Result<(App, RuntimeConfig)> {
        let mut app = App::load(&self.manifest)?;
        if !self.component_ids.is_empty() {
            app = app.select_components(&self.component_ids)?;
        }
        let runtime_config = match &self.runtime_config {
            Some(path) => RuntimeConfig::load(path)?,
            None => Default::default(),
        };
        Ok((app, runtime_config))
    }
}

/// Why a reload was asked for, for the log.
pub type Reason = &'static str;

/// Runs the reloads asked through the returned sender until every sender is dropped.
pub fn start(app: Arc<AppRuntime>, source: Source) -> mpsc::UnboundedSender<Reason> {
    let (requests, mut asked) = mpsc::unbounded_channel::<Reason>();
    tokio::spawn(async move {
        while let Some(reason) = asked.recv().await {
            // Asked again while the last one ran: one reload reads it all.
            while asked.try_recv().is_ok() {}
            reload_once(&app, &source, reason).await;
        }
    });
    requests
}

/// Asks for a reload on each `SIGHUP`.
pub fn on_sighup(requests: mpsc::UnboundedSender<Reason>) -> Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            if requests.send("SIGHUP").is_err() {
                break;
            }
        }
    });
    Ok(())
}

async fn reload_once(app: &Arc<AppRuntime>, source: &Source, reason: Reason) {
    eprintln!("Reloading the application ({reason})");
    let started = Instant::now();
    let functions_before = app.function_cache_counts();
    let outcome = {
        let (app, source) = (app.clone(), source.clone());
        // Compiling is CPU work: off the async workers, and below their priority, so serving
        // goes on (see `background`).
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            background::run(|| {
                // Stores built by the reload may need the runtime (as on the blocking pool).
                let _context = runtime.enter();
                let (manifest, runtime_config) = source.read()?;
                app.reload(manifest, &runtime_config)
            })
        })
        .await
        .unwrap_or_else(|join| Err(anyhow::anyhow!("reload task failed: {join}")))
    };
    match outcome {
        Ok((changes, warnings)) => {
            app.metrics.count_reload(true);
            for warning in warnings {
                eprintln!("{warning}");
            }
            for change in &changes {
                app.metrics.count_swap(&change.id);
                eprintln!(
                    "Swapped component `{}`: {} -> {} in {} ms",
                    change.id,
                    short(change.old_digest.as_deref()),
                    short(change.new_digest.as_deref()),
                    change.took.as_millis()
                );
            }
            let functions_after = app.function_cache_counts();
            eprintln!(
                "Reloaded in {} ms: {} component(s) swapped{}",
                started.elapsed().as_millis(),
                changes.len(),
                reused_functions(functions_before, functions_after)
            );
            if compiled_any(functions_before, functions_after) {
                // What this reload compiled was stored: keep the file within its limit.
                let app = app.clone();
                tokio::task::spawn_blocking(move || app.trim_function_cache());
            }
        }
        Err(e) => {
            app.metrics.count_reload(false);
            eprintln!("Reload failed; still serving the previous version: {e:#}");
        }
    }
}

/// Whether the function cache was consulted between the two counts: something was compiled.
fn compiled_any(before: Option<(u64, u64)>, after: Option<(u64, u64)>) -> bool {
    before
        .zip(after)
        .is_some_and(|(before, after)| after != before)
}

/// `, N of M compiled functions reused` over one reload; empty when nothing was compiled or
/// there is no function cache.
fn reused_functions(before: Option<(u64, u64)>, after: Option<(u64, u64)>) -> String {
    let (Some((hits_before, misses_before)), Some((hits, misses))) = (before, after) else {
        return String::new();
    };
    let (reused, compiled) = (
        hits.saturating_sub(hits_before),
        misses.saturating_sub(misses_before),
    );
    if reused + compiled == 0 {
        return String::new();
    }
    format!(
        ", {reused} of {} compiled functions reused",
        reused + compiled
    )
}

/// A digest's first 12 hex digits; `none` for an added or removed component.
fn short(digest: Option<&str>) -> &str {
    digest.map_or("none", |d| &d[..d.len().min(12)])
}

#[cfg(test)]
mod tests {
    use super::{compiled_any, reused_functions, short};

    #[test]
    fn reused_functions_counts_one_reload_only() {
        assert_eq!(
            reused_functions(Some((10, 5)), Some((40, 7))),
            ", 30 of 32 compiled functions reused"
        );
        assert_eq!(reused_functions(Some((3, 3)), Some((3, 3))), "");
        assert_eq!(reused_functions(None, None), "");
    }

    #[test]
    fn only_a_reload_that_compiled_trims_the_function_cache() {
        assert!(compiled_any(Some((10, 5)), Some((10, 6))));
        assert!(compiled_any(Some((10, 5)), Some((11, 5))));
        assert!(!compiled_any(Some((3, 3)), Some((3, 3))));
        assert!(!compiled_any(None, None));
    }

    #[test]
    fn digests_are_shortened_for_the_log() {
        assert_eq!(short(Some("0123456789abcdef0123")), "0123456789ab");
        assert_eq!(short(Some("abc")), "abc");
        assert_eq!(short(None), "none");
    }
}
