//! The chat database (label `chat`): its schema and every SQL statement of the service.
//!
//! Each `execute` runs one statement (Spin ignores the rest). The schema is created lazily by
//! `db::with_schema`; writes run inside `db::transaction` (`BEGIN IMMEDIATE`, so one writer at a
//! time), together with their outbox rows: that is what makes `seq` gapless under concurrency.

use service_kit::db::{
    self, col_int, col_opt_text, col_text, exec, first_row, int, opt_text, text,
};
use service_kit::idempotency::KeyTable;
use service_kit::{outbox, ApiError};
use spin_sdk::sqlite::{Connection, Row};

use crate::conversation::{Conversation, NewConversation};
use crate::listing::{ConversationQuery, MessageQuery};
use crate::message::{Message, NewMessage};

pub const DATABASE_LABEL: &str = "chat";

/// The whole database schema: the service's tables, then the outbox's.
pub const SCHEMA_PARTS: &[&[&str]] = &[SCHEMA, outbox::SCHEMA];

pub const SCHEMA: &[&str] = &[
    // `activity` orders "most recently active first": every write takes the next number.
    "CREATE TABLE IF NOT EXISTS conversations (
        id INTEGER PRIMARY KEY,
        title TEXT,
        last_seq INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        last_activity_at INTEGER NOT NULL,
        activity INTEGER NOT NULL
    )",
    "CREATE UNIQUE INDEX IF NOT EXISTS conversations_by_activity ON conversations (activity)",
    "CREATE TABLE IF NOT EXISTS members (
        conversation_id INTEGER NOT NULL REFERENCES conversations (id),
        user_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, user_id)
    ) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS members_by_user ON members (user_id, conversation_id)",
    "CREATE TABLE IF NOT EXISTS messages (
        conversation_id INTEGER NOT NULL REFERENCES conversations (id),
        seq INTEGER NOT NULL,
        sender TEXT NOT NULL,
        text TEXT NOT NULL,
        sent_at INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, seq)
    ) WITHOUT ROWID",
    // The first result of each Idempotency-Key, per conversation (the key's scope).
    "CREATE TABLE IF NOT EXISTS message_idempotency_keys (
        conversation_id INTEGER NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        seq INTEGER NOT NULL,
        response TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, key)
    ) WITHOUT ROWID",
];

/// A conversation's columns, its members (comma-joined in their order: ids hold no commas).
const CONVERSATION_COLUMNS: &str = "c.id, c.title, c.last_seq, c.created_at, c.last_activity_at, c.activity,
    (SELECT group_concat(user_id, ',') FROM
        (SELECT user_id FROM members m WHERE m.conversation_id = c.id ORDER BY position)) AS members";
/// The next activity number (inside a write transaction, so no other writer takes it).
const NEXT_ACTIVITY: &str = "(SELECT COALESCE(MAX(activity), 0) + 1 FROM conversations)";

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

/// Inserts a conversation and its members; the conversation as stored.
pub fn insert_conversation(
    conn: &Connection,
    new: &NewConversation,
    now: i64,
) -> Result<Conversation, ApiError> {
    let result = exec(
        conn,
        &format!(
            "INSERT INTO conversations (title, last_seq, created_at, last_activity_at, activity)
             VALUES (?, 0, ?, ?, {NEXT_ACTIVITY}) RETURNING id, activity"
        ),
        &[opt_text(new.title.as_deref()), int(now), int(now)],
    )?;
    let (id, activity) = first_row(&result, |row| {
        (col_int(row, "id"), col_int(row, "activity"))
    })
    .ok_or_else(|| ApiError::storage("INSERT ... RETURNING gave no row"))?;
    for (position, member) in new.members.iter().enumerate() {
        exec(
            conn,
            "INSERT INTO members (conversation_id, user_id, position) VALUES (?, ?, ?)",
            &[int(id), text(member), int(position as i64)],
        )?;
    }
    Ok(Conversation {
        id,
        title: new.title.clone(),
        members: new.members.clone(),
        last_seq: 0,
        created_at: now,
        last_activity_at: now,
        activity,
    })
}

pub fn conversation(conn: &Connection, id: i64) -> Result<Option<Conversation>, ApiError> {
    let result = exec(
        conn,
        &format!("SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.id = ?"),
        &[int(id)],
    )?;
    Ok(first_row(&result, conversation_row))
}

/// The member's conversations, most recently active first, at most `query.limit` of them.
pub fn conversations_of(
    conn: &Connection,
    query: &ConversationQuery,
) -> Result<Vec<Conversation>, ApiError> {
    let result = exec(
        conn,
        &format!(
            "SELECT {CONVERSATION_COLUMNS} FROM members mine
             JOIN conversations c ON c.id = mine.conversation_id
             WHERE mine.user_id = ? AND c.activity < ?
             ORDER BY c.activity DESC LIMIT ?"
        ),
        &[
            text(&query.member),
            int(query.before.unwrap_or(i64::MAX)),
            int(query.limit),
        ],
    )?;
    Ok(result.rows().map(|row| conversation_row(&row)).collect())
}

/// Appends a message: takes the conversation's next `seq` and activity and stores the message.
/// Must run inside the write transaction that checked the conversation and the sender.
pub fn append_message(
    conn: &Connection,
    conversation_id: i64,
    new: &NewMessage,
    now: i64,
) -> Result<Message, ApiError> {
    let result = exec(
        conn,
        &format!(
            "UPDATE conversations SET last_seq = last_seq + 1, last_activity_at = ?,
                 activity = {NEXT_ACTIVITY}
             WHERE id = ? RETURNING last_seq"
        ),
        &[int(now), int(conversation_id)],
    )?;
    let seq = first_row(&result, |row| col_int(row, "last_seq"))
        .ok_or_else(|| ApiError::storage(format!("conversation {conversation_id} vanished")))?;
    exec(
        conn,
        "INSERT INTO messages (conversation_id, seq, sender, text, sent_at) VALUES (?, ?, ?, ?, ?)",
        &[
            int(conversation_id),
            int(seq),
            text(&new.sender),
            text(&new.text),
            int(now),
        ],
    )?;
    Ok(Message {
        conversation_id,
        seq,
        sender: new.sender.clone(),
        text: new.text.clone(),
        sent_at: now,
    })
}

/// The conversation's messages after `query.after`, in `seq` order, at most `query.limit`.
pub fn messages(
    conn: &Connection,
    conversation_id: i64,
    query: &MessageQuery,
) -> Result<Vec<Message>, ApiError> {
    let result = exec(
        conn,
        "SELECT conversation_id, seq, sender, text, sent_at FROM messages
         WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        &[int(conversation_id), int(query.after), int(query.limit)],
    )?;
    Ok(result
        .rows()
        .map(|row| Message {
            conversation_id: col_int(&row, "conversation_id"),
            seq: col_int(&row, "seq"),
            sender: col_text(&row, "sender"),
            text: col_text(&row, "text"),
            sent_at: col_int(&row, "sent_at"),
        })
        .collect())
}

/// Its Idempotency-Keys (the table is in [`SCHEMA`]).
pub const KEYS: KeyTable = KeyTable {
    table: "message_idempotency_keys",
    scope: "conversation_id",
    resource: "seq",
};

fn conversation_row(row: &Row<'_>) -> Conversation {
    let members = col_opt_text(row, "members").unwrap_or_default();
    Conversation {
        id: col_int(row, "id"),
        title: col_opt_text(row, "title"),
        members: members
            .split(',')
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect(),
        last_seq: col_int(row, "last_seq"),
        created_at: col_int(row, "created_at"),
        last_activity_at: col_int(row, "last_activity_at"),
        activity: col_int(row, "activity"),
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
