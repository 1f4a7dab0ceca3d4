//! WAL checkpoints off the write queue's critical path.
//!
//! SQLite's automatic checkpoint runs inside the `COMMIT` that pushes the WAL
//! past 1000 pages, copying pages and syncing the database file before the
//! statement returns. With the write queue (see [`super::write_queue`]) the
//! committing handle still holds its turn then, so every waiting writer would
//! wait for the disk too. Instead, guest connections only *note* that a
//! checkpoint is due (the WAL hook replaces SQLite's automatic one), and the
//! host runs a passive checkpoint on the blocking pool, one at a time per
//! database, beside the writers.

use std::cell::Cell;
use std::os::raw::c_int;

/// WAL size, in pages, from which a commit asks for a checkpoint (SQLite's default).
const CHECKPOINT_PAGES: c_int = 1000;

thread_local! {
    /// The WAL's size after a commit on this thread that grew it past `CHECKPOINT_PAGES`.
    static DUE: Cell<Option<c_int>> = const { Cell::new(None) };
}

/// WAL hook of guest connections: called after each commit with the WAL's size.
pub fn note_wal_size(_wal: &rusqlite::hooks::Wal, pages: c_int) -> rusqlite::Result<()> {
    if pages >= CHECKPOINT_PAGES {
        DUE.with(|due| due.set(Some(pages)));
    }
    Ok(())
}

/// The WAL size, if a statement just run on this thread asked for a checkpoint; clears it.
pub fn take_due() -> Option<c_int> {
    DUE.with(Cell::take)
}

/// Whether a WAL of `pages` needs a checkpoint when the last one was asked at `last` pages.
/// SQLite's own hook checkpoints at every commit while the WAL is large (it stays large until
/// a writer can restart it, which readers may hold off); one per `CHECKPOINT_PAGES` new pages
/// does the same work without a blocking-pool task per commit. A smaller WAL than at the last
/// checkpoint has restarted.
pub fn worth_it(pages: c_int, last: c_int) -> bool {
    pages < last || pages >= last + CHECKPOINT_PAGES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_is_worth_it_per_threshold_of_new_pages_or_after_a_restart() {
        assert!(worth_it(1000, 0));
        assert!(!worth_it(1500, 1000));
        assert!(worth_it(2000, 1000));
        assert!(worth_it(1000, 2500), "the WAL restarted");
    }
    use rusqlite::Connection;

    #[test]
    fn a_commit_past_the_threshold_asks_for_a_checkpoint_instead_of_running_it() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("db")).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.wal_hook(Some(note_wal_size));
        conn.execute_batch("CREATE TABLE t (x)").unwrap();
        take_due();
        conn.execute("INSERT INTO t VALUES (1)", []).unwrap();
        assert_eq!(take_due(), None, "a small WAL needs no checkpoint");
        conn.execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200)
             INSERT INTO t SELECT randomblob(4000) FROM n",
        )
        .unwrap();
        assert!(take_due().is_some_and(|pages| pages >= CHECKPOINT_PAGES));
        assert_eq!(take_due(), None, "taking the request clears it");
        let wal_pages: i64 = conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))
            .unwrap();
        assert!(
            wal_pages >= i64::from(CHECKPOINT_PAGES),
            "the commit did not checkpoint by itself"
        );
    }
}
