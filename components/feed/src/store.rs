//! The feed database (label `feed`): its schema and every SQL statement of the service.
//!
//! Each `execute` runs one statement (Spin ignores the rest). The schema is created lazily by
//! `db::with_schema`; writes run inside `db::transaction` (`BEGIN IMMEDIATE`, so one writer at a
//! time), together with their outbox rows.

use service_kit::db::{self, col_int, col_text, exec, first_row, int, text};
use service_kit::idempotency::KeyTable;
use service_kit::{outbox, ApiError};
use spin_sdk::sqlite::{Connection, Row};

use crate::listing::PageQuery;
use crate::post::{NewPost, Post};
use crate::user::{Follow, UserView};

pub const DATABASE_LABEL: &str = "feed";

/// The whole database schema: the service's tables, then the outbox's.
pub const SCHEMA_PARTS: &[&[&str]] = &[SCHEMA, outbox::SCHEMA];

pub const SCHEMA: &[&str] = &[
    // AUTOINCREMENT: ids only grow and are never reused, so `id` is the order of publication
    // (the key of every cursor).
    "CREATE TABLE IF NOT EXISTS posts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        author TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at INTEGER NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS posts_by_author ON posts (author, id)",
    "CREATE TABLE IF NOT EXISTS follows (
        follower TEXT NOT NULL,
        followee TEXT NOT NULL,
        since INTEGER NOT NULL,
        PRIMARY KEY (follower, followee)
    ) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS follows_by_followee ON follows (followee, follower)",
    // The first result of each Idempotency-Key, per author (the key's scope).
    "CREATE TABLE IF NOT EXISTS post_idempotency_keys (
        author TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        post_id INTEGER NOT NULL,
        response TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (author, key)
    ) WITHOUT ROWID",
];

const POST_COLUMNS: &str = "id, author, text, created_at";

pub fn open() -> Result<Connection, ApiError> {
    Ok(Connection::open(DATABASE_LABEL)?)
}

/// Runs a unit of work on the database, creating the schema (with the outbox's) first if this is
/// the first use.
pub fn with_schema<T>(
    conn: &Connection,
    work: impl FnMut(&Connection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    db::with_schema_parts(conn, SCHEMA_PARTS, work)
}

/// Records that `user` follows `other`; the follow as stored and whether it is new (a repeated
/// follow keeps the first one's time).
pub fn follow(
    conn: &Connection,
    user: &str,
    other: &str,
    now: i64,
) -> Result<(Follow, bool), ApiError> {
    let inserted = exec(
        conn,
        "INSERT OR IGNORE INTO follows (follower, followee, since) VALUES (?, ?, ?)
         RETURNING since",
        &[text(user), text(other), int(now)],
    )?;
    let created = inserted.rows().next().is_some();
    let result = exec(
        conn,
        "SELECT since FROM follows WHERE follower = ? AND followee = ?",
        &[text(user), text(other)],
    )?;
    let since = first_row(&result, |row| col_int(row, "since"))
        .ok_or_else(|| ApiError::storage("the follow just written is missing"))?;
    let follow = Follow {
        user: user.to_owned(),
        following: other.to_owned(),
        since,
    };
    Ok((follow, created))
}

/// Ends a follow; whether there was one.
pub fn unfollow(conn: &Connection, user: &str, other: &str) -> Result<bool, ApiError> {
    let result = exec(
        conn,
        "DELETE FROM follows WHERE follower = ? AND followee = ? RETURNING since",
        &[text(user), text(other)],
    )?;
    let deleted = result.rows().next().is_some();
    Ok(deleted)
}

/// The user's counts (zero for a user nobody has named yet).
pub fn user(conn: &Connection, id: &str) -> Result<UserView, ApiError> {
    let result = exec(
        conn,
        "SELECT (SELECT COUNT(*) FROM posts WHERE author = ?1) AS posts,
                (SELECT COUNT(*) FROM follows WHERE follower = ?1) AS following,
                (SELECT COUNT(*) FROM follows WHERE followee = ?1) AS followers",
        &[text(id)],
    )?;
    first_row(&result, |row| UserView {
        id: id.to_owned(),
        posts: col_int(row, "posts"),
        following: col_int(row, "following"),
        followers: col_int(row, "followers"),
    })
    .ok_or_else(|| ApiError::storage("the counts query gave no row"))
}

/// Stores a post; the post as stored. Must run inside the write transaction.
pub fn insert_post(
    conn: &Connection,
    author: &str,
    new: &NewPost,
    now: i64,
) -> Result<Post, ApiError> {
    let result = exec(
        conn,
        "INSERT INTO posts (author, text, created_at) VALUES (?, ?, ?) RETURNING id",
        &[text(author), text(&new.text), int(now)],
    )?;
    let id = first_row(&result, |row| col_int(row, "id"))
        .ok_or_else(|| ApiError::storage("INSERT ... RETURNING gave no row"))?;
    Ok(Post {
        id,
        author: author.to_owned(),
        text: new.text.clone(),
        created_at: now,
    })
}

/// One post of an author.
pub fn post(conn: &Connection, author: &str, id: i64) -> Result<Option<Post>, ApiError> {
    let result = exec(
        conn,
        &format!("SELECT {POST_COLUMNS} FROM posts WHERE author = ? AND id = ?"),
        &[text(author), int(id)],
    )?;
    Ok(first_row(&result, post_row))
}

/// The author's posts, newest first, below the cursor, at most `query.limit`.
pub fn posts_of(conn: &Connection, author: &str, query: &PageQuery) -> Result<Vec<Post>, ApiError> {
    let result = exec(
        conn,
        &format!(
            "SELECT {POST_COLUMNS} FROM posts WHERE author = ? AND id < ?
             ORDER BY id DESC LIMIT ?"
        ),
        &[
            text(author),
            int(query.before.unwrap_or(i64::MAX)),
            int(query.limit),
        ],
    )?;
    Ok(result.rows().map(|row| post_row(&row)).collect())
}

/// The user's timeline: their own posts and those of everyone they follow now, newest first,
/// below the cursor, at most `query.limit`.
///
/// Only a page's worth of posts per author is read: each author's `limit`-th newest post below
/// the cursor bounds a range of `posts_by_author`, and the page is the newest of those ranges
/// together. So a page costs (authors x limit) index entries, however many posts there are,
/// where walking all posts newest first would pass every post of the users not followed.
pub fn timeline(conn: &Connection, user: &str, query: &PageQuery) -> Result<Vec<Post>, ApiError> {
    let result = exec(
        conn,
        &format!(
            "WITH authors (author) AS (
                 SELECT ?2 UNION SELECT followee FROM follows WHERE follower = ?2),
             candidates (id) AS (
                 SELECT p.id FROM authors a
                 JOIN posts p ON p.author = a.author AND p.id < ?1
                 WHERE p.id >= COALESCE(
                     (SELECT q.id FROM posts q WHERE q.author = a.author AND q.id < ?1
                      ORDER BY q.id DESC LIMIT 1 OFFSET ?3 - 1), 0))
             SELECT {POST_COLUMNS} FROM posts WHERE id IN candidates
             ORDER BY id DESC LIMIT ?3"
        ),
        &[
            int(query.before.unwrap_or(i64::MAX)),
            text(user),
            int(query.limit),
        ],
    )?;
    Ok(result.rows().map(|row| post_row(&row)).collect())
}

/// Its Idempotency-Keys (the table is in [`SCHEMA`]).
pub const KEYS: KeyTable = KeyTable {
    table: "post_idempotency_keys",
    scope: "author",
    resource: "post_id",
};

fn post_row(row: &Row<'_>) -> Post {
    Post {
        id: col_int(row, "id"),
        author: col_text(row, "author"),
        text: col_text(row, "text"),
        created_at: col_int(row, "created_at"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_statement_is_a_single_idempotent_statement() {
        for statement in SCHEMA.iter().chain(outbox::SCHEMA) {
            assert!(!statement.contains(';'), "{statement}");
            assert!(
                statement.contains("IF NOT EXISTS") || statement.starts_with("INSERT OR IGNORE"),
                "{statement}"
            );
        }
    }
}
