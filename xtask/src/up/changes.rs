//! Seeing the watched files change by polling: each poll takes a [`Snapshot`] of their
//! modification times and sizes, and [`Settling`] gathers what changed until a poll sees
//! nothing new, so that a save in several steps (or a checkout of many files) is one rebuild.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
    time::SystemTime,
};

/// A file's modification time and size.
type Stamp = (SystemTime, u64);

/// The stamps of a set of files at one moment; missing files are left out.
#[derive(Default)]
pub struct Snapshot(BTreeMap<PathBuf, Stamp>);

impl Snapshot {
    /// Stamps `files` now.
    pub fn take(files: impl IntoIterator<Item = PathBuf>) -> Snapshot {
        Snapshot(
            files
                .into_iter()
                .filter_map(|file| {
                    let meta = std::fs::metadata(&file).ok()?;
                    let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                    Some((file, (modified, meta.len())))
                })
                .collect(),
        )
    }

    /// The files added, removed or restamped since `before`, in path order.
    pub fn changed_since(&self, before: &Snapshot) -> Vec<PathBuf> {
        let restamped_or_added = self
            .0
            .iter()
            .filter(|(file, stamp)| before.0.get(*file) != Some(stamp))
            .map(|(file, _)| file);
        let removed = before.0.keys().filter(|file| !self.0.contains_key(*file));
        let changed: BTreeSet<_> = restamped_or_added.chain(removed).cloned().collect();
        changed.into_iter().collect()
    }
}

/// Gathers the changes of successive polls until one poll brings none.
#[derive(Default)]
pub struct Settling {
    pending: BTreeSet<PathBuf>,
}

impl Settling {
    /// Notes one poll's changes; once a poll has none after some did, returns everything
    /// gathered (in path order) and starts over.
    pub fn poll(&mut self, changed: Vec<PathBuf>) -> Option<Vec<PathBuf>> {
        if changed.is_empty() {
            if self.pending.is_empty() {
                return None;
            }
            return Some(std::mem::take(&mut self.pending).into_iter().collect());
        }
        self.pending.extend(changed);
        None
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn snapshot(files: &[(&str, u64, u64)]) -> Snapshot {
        Snapshot(
            files
                .iter()
                .map(|&(file, secs, len)| {
                    let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
                    (PathBuf::from(file), (modified, len))
                })
                .collect(),
        )
    }

    fn paths(files: &[&str]) -> Vec<PathBuf> {
        files.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn identical_snapshots_have_no_changes() {
        let files = [("a.rs", 1, 10), ("b.rs", 1, 20)];
        assert!(snapshot(&files).changed_since(&snapshot(&files)).is_empty());
    }

    #[test]
    fn a_new_time_or_size_is_a_change() {
        let before = snapshot(&[("a.rs", 1, 10), ("b.rs", 1, 20), ("c.rs", 1, 30)]);
        let after = snapshot(&[("a.rs", 2, 10), ("b.rs", 1, 21), ("c.rs", 1, 30)]);
        assert_eq!(after.changed_since(&before), paths(&["a.rs", "b.rs"]));
    }

    #[test]
    fn added_and_removed_files_are_changes() {
        let before = snapshot(&[("a.rs", 1, 10), ("gone.rs", 1, 10)]);
        let after = snapshot(&[("a.rs", 1, 10), ("new.rs", 1, 10)]);
        assert_eq!(after.changed_since(&before), paths(&["gone.rs", "new.rs"]));
    }

    #[test]
    fn take_stamps_existing_files_and_skips_missing_ones() {
        let file = std::env::temp_dir().join(format!("xtask-changes-{}.rs", std::process::id()));
        std::fs::write(&file, "fn main() {}").unwrap();
        let missing = file.with_extension("missing");
        let before = Snapshot::take([file.clone(), missing.clone()]);
        assert_eq!(before.0.keys().collect::<Vec<_>>(), [&file]);
        std::fs::write(&file, "fn main() { changed() }").unwrap();
        let after = Snapshot::take([file.clone(), missing]);
        let _ = std::fs::remove_file(&file);
        assert_eq!(after.changed_since(&before), [file]);
    }

    #[test]
    fn nothing_is_reported_while_nothing_changes() {
        let mut settling = Settling::default();
        assert_eq!(settling.poll(vec![]), None);
        assert_eq!(settling.poll(vec![]), None);
    }

    #[test]
    fn changes_are_reported_once_a_poll_brings_none() {
        let mut settling = Settling::default();
        assert_eq!(settling.poll(paths(&["b.rs"])), None, "still changing");
        assert_eq!(
            settling.poll(paths(&["a.rs", "b.rs"])),
            None,
            "still changing"
        );
        assert_eq!(
            settling.poll(vec![]),
            Some(paths(&["a.rs", "b.rs"])),
            "settled"
        );
        assert_eq!(settling.poll(vec![]), None, "reported once");
    }
}
