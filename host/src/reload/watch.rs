//! `up --watch`: polls the triggered components' wasm files, the manifest and
//! the runtime config every [`POLL`], and asks for a reload once a change has
//! settled (nothing changed over one more poll), so that a build writing a
//! file in several steps causes one reload, not several.

use super::Reason;
use crate::runtime::AppRuntime;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;

/// How often the files are looked at.
pub const POLL: Duration = Duration::from_millis(500);

/// What is compared: a file's modification time and size (`None`: missing).
type Stamp = Option<(SystemTime, u64)>;

/// Watches until the reload loop is gone. `config_files` are the manifest and
/// the runtime config; the wasm files are those of the version serving.
pub fn start(
    app: Arc<AppRuntime>,
    config_files: Vec<PathBuf>,
    requests: mpsc::UnboundedSender<Reason>,
) {
    tokio::spawn(async move {
        let mut seen: HashMap<PathBuf, Stamp> = HashMap::new();
        let mut unsettled = false;
        let mut ticker = tokio::time::interval(POLL);
        loop {
            ticker.tick().await;
            let files = watched(&app, &config_files);
            let stamps = tokio::task::spawn_blocking(move || stamps(files))
                .await
                .unwrap_or_default();
            let changed = note(&mut seen, stamps);
            if changed {
                unsettled = true;
            } else if unsettled {
                unsettled = false;
                if requests.send("a watched file changed").is_err() {
                    break;
                }
            }
        }
    });
}

fn watched(app: &AppRuntime, config_files: &[PathBuf]) -> Vec<PathBuf> {
    let current = app.current();
    let sources = current.components.values().flat_map(|c| {
        std::iter::once(c.source.clone()).chain(c.dependency_sources.iter().cloned())
    });
    config_files.iter().cloned().chain(sources).collect()
}

fn stamps(files: Vec<PathBuf>) -> Vec<(PathBuf, Stamp)> {
    files
        .into_iter()
        .map(|file| {
            let stamp = std::fs::metadata(&file)
                .ok()
                .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
            (file, stamp)
        })
        .collect()
}

/// Records `stamps`; whether a file seen before has a different one. A file
/// seen for the first time (a component a reload added) is not a change.
fn note(seen: &mut HashMap<PathBuf, Stamp>, stamps: Vec<(PathBuf, Stamp)>) -> bool {
    let mut changed = false;
    for (file, stamp) in stamps {
        if let Some(before) = seen.insert(file, stamp) {
            changed |= before != stamp;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_a_different_stamp_of_a_known_file() {
        let mut seen = HashMap::new();
        let at = |secs| Some((SystemTime::UNIX_EPOCH + Duration::from_secs(secs), 10));
        let file = PathBuf::from("a.wasm");
        assert!(!note(&mut seen, vec![(file.clone(), at(1))]), "first sight");
        assert!(!note(&mut seen, vec![(file.clone(), at(1))]), "unchanged");
        assert!(note(&mut seen, vec![(file.clone(), at(2))]), "touched");
        assert!(note(&mut seen, vec![(file.clone(), None)]), "removed");
        assert!(
            !note(&mut seen, vec![(file, None), ("b.wasm".into(), at(1))]),
            "added file"
        );
    }
}
