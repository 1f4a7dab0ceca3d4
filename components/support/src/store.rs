//! The support database (label `support`): its schema and every SQL statement of the service.
//!
//! Each `execute` runs one statement (Spin ignores the rest). The schema is created lazily by
//! `db::with_schema`; writes run inside `db::transaction`, together with their outbox rows.

use service_kit::db::{
    self, col_int, col_opt_int, col_opt_text, col_text, exec, first_row, int, opt_int, opt_text,
    text,
};
use service_kit::idempotency::KeyTable;
use service_kit::{outbox, ApiError};
use spin_sdk::sqlite::{Connection, Row};

use crate::customer::{Customer, CustomerDetails, Tier};
use crate::listing::ListQuery;
use crate::ticket::{NewTicket, Priority, Status, Ticket};

pub const DATABASE_LABEL: &str = "support";

/// The whole database schema: the service's tables, then the outbox's.
pub const SCHEMA_PARTS: &[&[&str]] = &[SCHEMA, outbox::SCHEMA];

pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS customers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        email TEXT NOT NULL,
        tier TEXT NOT NULL,
        phone TEXT,
        version INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) WITHOUT ROWID",
    // Ids only grow (the largest is never deleted), so "newest first" is "id descending".
    "CREATE TABLE IF NOT EXISTS tickets (
        id INTEGER PRIMARY KEY,
        customer_id TEXT NOT NULL REFERENCES customers (id),
        subject TEXT NOT NULL,
        description TEXT NOT NULL,
        priority TEXT NOT NULL,
        status TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        resolved_at INTEGER
    )",
    "CREATE INDEX IF NOT EXISTS tickets_by_customer ON tickets (customer_id, id)",
    "CREATE INDEX IF NOT EXISTS tickets_by_status ON tickets (status, id)",
    // The first result of each Idempotency-Key, per customer (the key's scope).
    "CREATE TABLE IF NOT EXISTS ticket_idempotency_keys (
        customer_id TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        ticket_id INTEGER NOT NULL,
        response TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (customer_id, key)
    ) WITHOUT ROWID",
];

const CUSTOMER_COLUMNS: &str = "id, name, email, tier, phone, version, created_at, updated_at";
const TICKET_COLUMNS: &str =
    "id, customer_id, subject, description, priority, status, version, created_at, updated_at, resolved_at";

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

pub fn customer(conn: &Connection, id: &str) -> Result<Option<Customer>, ApiError> {
    let result = exec(
        conn,
        &format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = ?"),
        &[text(id)],
    )?;
    first_row(&result, customer_row).transpose()
}

/// The customer and how many of its tickets still need attention (open or pending).
pub fn customer_with_open_count(
    conn: &Connection,
    id: &str,
) -> Result<Option<(Customer, i64)>, ApiError> {
    let result = exec(
        conn,
        &format!(
            "SELECT {CUSTOMER_COLUMNS}, (SELECT COUNT(*) FROM tickets t
                 WHERE t.customer_id = c.id AND t.status IN ('open', 'pending')) AS open_tickets
             FROM customers c WHERE id = ?"
        ),
        &[text(id)],
    )?;
    first_row(&result, |row| {
        Ok((customer_row(row)?, col_int(row, "open_tickets")))
    })
    .transpose()
}

pub fn insert_customer(conn: &Connection, customer: &Customer) -> Result<(), ApiError> {
    let d = &customer.details;
    exec(
        conn,
        &format!("INSERT INTO customers ({CUSTOMER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
        &[
            text(&customer.id),
            text(&d.name),
            text(&d.email),
            text(d.tier.as_str()),
            opt_text(d.phone.as_deref()),
            int(customer.version),
            int(customer.created_at),
            int(customer.updated_at),
        ],
    )?;
    Ok(())
}

pub fn update_customer(conn: &Connection, customer: &Customer) -> Result<(), ApiError> {
    let d = &customer.details;
    exec(
        conn,
        "UPDATE customers SET name = ?, email = ?, tier = ?, phone = ?, version = ?, updated_at = ?
         WHERE id = ?",
        &[
            text(&d.name),
            text(&d.email),
            text(d.tier.as_str()),
            opt_text(d.phone.as_deref()),
            int(customer.version),
            int(customer.updated_at),
            text(&customer.id),
        ],
    )?;
    Ok(())
}

/// Inserts an open ticket if the customer exists (checked in the same statement); its id, or
/// `None` for an unknown customer.
pub fn insert_ticket(
    conn: &Connection,
    customer_id: &str,
    new: &NewTicket,
    now: i64,
) -> Result<Option<i64>, ApiError> {
    let result = exec(
        conn,
        "INSERT INTO tickets (customer_id, subject, description, priority, status, version, created_at, updated_at)
         SELECT id, ?, ?, ?, 'open', 1, ?, ? FROM customers WHERE id = ?
         RETURNING id",
        &[
            text(&new.subject),
            text(&new.description),
            text(new.priority.as_str()),
            int(now),
            int(now),
            text(customer_id),
        ],
    )?;
    Ok(first_row(&result, |row| col_int(row, "id")))
}

pub fn ticket(conn: &Connection, id: i64) -> Result<Option<Ticket>, ApiError> {
    let result = exec(
        conn,
        &format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?"),
        &[int(id)],
    )?;
    first_row(&result, ticket_row).transpose()
}

pub fn update_ticket(conn: &Connection, ticket: &Ticket) -> Result<(), ApiError> {
    exec(
        conn,
        "UPDATE tickets SET priority = ?, status = ?, version = ?, updated_at = ?, resolved_at = ?
         WHERE id = ?",
        &[
            text(ticket.priority.as_str()),
            text(ticket.status.as_str()),
            int(ticket.version),
            int(ticket.updated_at),
            opt_int(ticket.resolved_at),
            int(ticket.id),
        ],
    )?;
    Ok(())
}

/// The customer's `limit` newest tickets.
pub fn recent_tickets(
    conn: &Connection,
    customer_id: &str,
    limit: i64,
) -> Result<Vec<Ticket>, ApiError> {
    list_tickets(
        conn,
        &ListQuery {
            customer: Some(customer_id.to_owned()),
            status: None,
            limit,
            before: None,
        },
    )
}

/// Tickets matching the query, newest first, at most `query.limit` of them.
pub fn list_tickets(conn: &Connection, query: &ListQuery) -> Result<Vec<Ticket>, ApiError> {
    // Only the filters given go into the SQL, so each shape uses its index.
    let mut conditions = Vec::new();
    let mut params = Vec::new();
    if let Some(customer) = &query.customer {
        conditions.push("customer_id = ?");
        params.push(text(customer));
    }
    if let Some(status) = query.status {
        conditions.push("status = ?");
        params.push(text(status.as_str()));
    }
    if let Some(before) = query.before {
        conditions.push("id < ?");
        params.push(int(before));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    params.push(int(query.limit));
    let result = exec(
        conn,
        &format!("SELECT {TICKET_COLUMNS} FROM tickets {filter} ORDER BY id DESC LIMIT ?"),
        &params,
    )?;
    result.rows().map(|row| ticket_row(&row)).collect()
}

/// Its Idempotency-Keys (the table is in [`SCHEMA`]).
pub const KEYS: KeyTable = KeyTable {
    table: "ticket_idempotency_keys",
    scope: "customer_id",
    resource: "ticket_id",
};

fn corrupt(table: &str, row: &Row<'_>, column: &str) -> ApiError {
    ApiError::storage(format!(
        "{table} row has an unexpected {column}: {:?}",
        row.get::<&str>(column)
    ))
}

fn customer_row(row: &Row<'_>) -> Result<Customer, ApiError> {
    let tier =
        Tier::parse(&col_text(row, "tier")).ok_or_else(|| corrupt("customers", row, "tier"))?;
    Ok(Customer {
        id: col_text(row, "id"),
        details: CustomerDetails {
            name: col_text(row, "name"),
            email: col_text(row, "email"),
            tier,
            phone: col_opt_text(row, "phone"),
        },
        version: col_int(row, "version"),
        created_at: col_int(row, "created_at"),
        updated_at: col_int(row, "updated_at"),
    })
}

fn ticket_row(row: &Row<'_>) -> Result<Ticket, ApiError> {
    let priority = Priority::parse(&col_text(row, "priority"))
        .ok_or_else(|| corrupt("tickets", row, "priority"))?;
    let status =
        Status::parse(&col_text(row, "status")).ok_or_else(|| corrupt("tickets", row, "status"))?;
    Ok(Ticket {
        id: col_int(row, "id"),
        customer_id: col_text(row, "customer_id"),
        subject: col_text(row, "subject"),
        description: col_text(row, "description"),
        priority,
        status,
        version: col_int(row, "version"),
        created_at: col_int(row, "created_at"),
        updated_at: col_int(row, "updated_at"),
        resolved_at: col_opt_int(row, "resolved_at"),
    })
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
