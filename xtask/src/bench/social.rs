//! The chat and feed scenarios: a few conversations and a small follow graph with posts, seeded
//! before the runs, and the wrk scripts that send messages and read timelines over them.

use std::net::SocketAddr;

use anyhow::{bail, Context, Result};

use crate::http;

/// Conversations the sends spread over (each send serialises on its conversation's `seq`).
const CONVERSATIONS: usize = 8;
/// Users `u0` .. `u19`; each follows the next `FOLLOWS` users (in a ring) and posts `POSTS`.
const USERS: usize = 20;
const FOLLOWS: usize = 5;
const POSTS: usize = 5;
/// The member every message is sent as.
const SENDER: &str = "alice";

/// What `seed` created: the conversation ids and the user ids.
pub struct Seeded {
    pub conversations: Vec<i64>,
    pub users: Vec<String>,
}

/// Creates the conversations, the follows and the posts through the gateway with `key`.
pub fn seed(addr: SocketAddr, key: &str) -> Result<Seeded> {
    let mut conversations = Vec::new();
    for i in 0..CONVERSATIONS {
        let body = format!(r#"{{"members":["{SENDER}","bob","carol"],"title":"Bench {i}"}}"#);
        let created = send(addr, key, "POST", "/chat/conversations", Some(&body))?;
        let created: serde_json::Value = serde_json::from_slice(&created.body)
            .context("POST /chat/conversations did not answer JSON")?;
        conversations.push(
            created["id"]
                .as_i64()
                .context("POST /chat/conversations answered no id")?,
        );
    }
    let users: Vec<String> = (0..USERS).map(|i| format!("u{i}")).collect();
    for (i, user) in users.iter().enumerate() {
        for step in 1..=FOLLOWS {
            let other = &users[(i + step) % USERS];
            send(
                addr,
                key,
                "PUT",
                &format!("/feed/users/{user}/following/{other}"),
                None,
            )?;
        }
        for post in 0..POSTS {
            let body = format!(r#"{{"text":"Post {post} of {user}, seeded by the benchmark"}}"#);
            send(
                addr,
                key,
                "POST",
                &format!("/feed/users/{user}/posts"),
                Some(&body),
            )?;
        }
    }
    Ok(Seeded {
        conversations,
        users,
    })
}

fn send(
    addr: SocketAddr,
    key: &str,
    method: &str,
    path: &str,
    json: Option<&str>,
) -> Result<http::Response> {
    let response = http::request_as(addr, Some(key), method, path, json.map(str::as_bytes))?;
    if !response.is_success() {
        bail!(
            "{method} {path} answered {}: {}",
            response.status,
            response.body_text()
        );
    }
    Ok(response)
}

/// `POST /chat/conversations/{id}/messages` over the seeded conversations in turn.
pub fn send_messages(seeded: &Seeded) -> String {
    let ids: Vec<String> = seeded.conversations.iter().map(i64::to_string).collect();
    format!(
        r#"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{{"sender":"{SENDER}","text":"Hello from the benchmark"}}'
local conversations = {{{}}}
local counter = 0
request = function()
  local id = conversations[counter % #conversations + 1]
  counter = counter + 1
  return wrk.format(nil, "/chat/conversations/" .. id .. "/messages")
end
"#,
        ids.join(",")
    )
}

/// `GET /feed/users/{id}/timeline` (first page) over the seeded users in turn.
pub fn read_timelines(seeded: &Seeded) -> String {
    let users: Vec<String> = seeded.users.iter().map(|u| format!("\"{u}\"")).collect();
    format!(
        r#"
local users = {{{}}}
local counter = 0
request = function()
  local user = users[counter % #users + 1]
  counter = counter + 1
  return wrk.format("GET", "/feed/users/" .. user .. "/timeline")
end
"#,
        users.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded() -> Seeded {
        Seeded {
            conversations: vec![3, 4],
            users: vec!["u0".into(), "u1".into()],
        }
    }

    #[test]
    fn scripts_name_the_seeded_ids() {
        let sends = send_messages(&seeded());
        assert!(sends.contains("local conversations = {3,4}"));
        assert!(sends.contains(r#"wrk.body = '{"sender":"alice","text":"#));
        assert!(read_timelines(&seeded()).contains(r#"local users = {"u0","u1"}"#));
    }
}
