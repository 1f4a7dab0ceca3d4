//! The `bootstrap_subscriptions` variable: subscriptions the log creates on first use (e.g. the
//! `insights` read side), each exactly once, so deleting one later sticks. A bad variable never
//! fails a request: it is logged and ignored.

use service_kit::clock::now_millis;
use spin_sdk::sqlite::Connection;

use crate::domain::parse_bootstrap;
use crate::store;

/// Creates the listed subscriptions not applied yet. `log_problems`: report invalid entries
/// (off on the publish path, which would repeat them on every request).
pub fn ensure(conn: &Connection, log_problems: bool) {
    let Ok(text) = spin_sdk::variables::get("bootstrap_subscriptions") else {
        return;
    };
    let (entries, problems) = parse_bootstrap(&text);
    if log_problems {
        for problem in &problems {
            eprintln!("events: bootstrap_subscriptions: {problem} (ignored)");
        }
    }
    if entries.is_empty() {
        return;
    }
    let applied = match store::applied_bootstrap(conn) {
        Ok(applied) => applied,
        Err(err) => return eprintln!("events: bootstrap_subscriptions: {:?}", err.detail),
    };
    let pending: Vec<_> = entries
        .iter()
        .filter(|(name, _)| !applied.contains(name))
        .collect();
    if pending.is_empty() {
        return;
    }
    if let Err(err) = store::apply_bootstrap(conn, &pending, now_millis()) {
        eprintln!("events: bootstrap_subscriptions: {:?}", err.detail);
    }
}
