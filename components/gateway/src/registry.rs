//! Discovery: the registered services with their contracts and health, and the app's health as
//! one answer. Names and versions come from each service's own OpenAPI `info`, so the registry
//! cannot drift from what the services say of themselves.

use std::time::Duration;

use futures::future::join_all;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::proxy::{call, get_json, CallError};
use crate::reply::Reply;

/// One entry of `GET /services`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceEntry {
    pub name: String,
    /// From the contract's `info.version`; `null` while the service does not answer.
    pub version: Option<String>,
    /// From the contract's `info.description`.
    pub description: Option<String>,
    pub base_path: String,
    pub contract_url: String,
    pub health_url: String,
}

impl ServiceEntry {
    /// The entry for `name`, given its contract (if it could be read).
    pub fn new(name: &str, contract: Option<&Value>) -> ServiceEntry {
        let info = |field: &str| {
            contract
                .and_then(|doc| doc["info"][field].as_str())
                .map(str::to_owned)
        };
        ServiceEntry {
            name: name.to_owned(),
            version: info("version"),
            description: info("description"),
            base_path: format!("/{name}"),
            contract_url: format!("/services/{name}/openapi.json"),
            health_url: format!("/{name}/health"),
        }
    }
}

fn contract_path(name: &str) -> String {
    format!("/{name}/openapi.json")
}

/// The services' entries, their contracts read concurrently, each within `limit` (a contract
/// that does not come in time leaves its entry without version and description).
pub async fn entries(services: &[String], request_id: &str, limit: Duration) -> Vec<ServiceEntry> {
    let contracts =
        join_all(services.iter().map(|name| async move {
            get_json(name, &contract_path(name), request_id, limit).await
        }))
        .await;
    services
        .iter()
        .zip(contracts)
        .map(|(name, contract)| {
            let document = match contract {
                Ok((200, document)) => Some(document),
                Ok((status, _)) => {
                    eprintln!("gateway: registry: {name} answered {status} for its contract");
                    None
                }
                Err(err) => {
                    eprintln!("gateway: registry: {err}");
                    None
                }
            };
            ServiceEntry::new(name, document.as_ref())
        })
        .collect()
}

/// `GET /services/{name}/openapi.json`: the service's document, byte for byte as it serves it.
pub async fn contract(name: &str, request_id: &str, limit: Duration) -> Reply {
    let headers = [("x-request-id".to_owned(), request_id.as_bytes().to_vec())];
    match call(
        name,
        "GET",
        &contract_path(name),
        &headers,
        Vec::new(),
        limit,
    )
    .await
    {
        Ok(upstream) if upstream.status == 200 => Reply {
            status: 200,
            headers: vec![("content-type".into(), b"application/json".to_vec())],
            body: upstream.body,
        },
        Ok(upstream) => unavailable(
            502,
            name,
            &format!("its contract answered {}", upstream.status),
        ),
        Err(CallError::Failed(why)) => unavailable(502, name, &why),
        Err(CallError::TimedOut(why)) => unavailable(504, name, &why),
    }
}

fn unavailable(status: u16, name: &str, why: &str) -> Reply {
    eprintln!("gateway: contract of {name}: {why}");
    let message = if status == 504 {
        format!("the contract of {name} did not come in time")
    } else {
        format!("the contract of {name} is unavailable")
    };
    Reply::json(status, &json!({ "message": message }))
}

/// `GET /health`: every service's own health, read concurrently, each within `limit`: a service
/// whose check does not answer in time is failing ("timed out"), so the answer is prompt
/// whatever a service's stores do.
pub async fn health(services: &[String], request_id: &str, limit: Duration) -> Reply {
    let reports = join_all(services.iter().map(|name| async move {
        get_json(name, &format!("/{name}/health"), request_id, limit)
            .await
            .map_err(|err| err.to_string())
    }))
    .await;
    let (status, body) = aggregate(services.iter().cloned().zip(reports).collect());
    Reply::json(status, &body)
}

/// What one service's health endpoint gave: its status and body, or why it could not be read.
pub type Report = Result<(u16, Value), String>;

/// 200 when every service answered 200, else 503 naming the others. A service that answered
/// keeps its own report; one that did not gets `{"status": "failing", "error"}`.
pub fn aggregate(reports: Vec<(String, Report)>) -> (u16, Value) {
    let mut failing = Vec::new();
    let mut services = Map::new();
    for (name, report) in reports {
        let body = match report {
            Ok((200, body)) => body,
            Ok((status, body)) => {
                failing.push(name.clone());
                if body.is_object() {
                    body
                } else {
                    json!({ "status": "failing", "error": format!("answered {status}") })
                }
            }
            Err(error) => {
                failing.push(name.clone());
                json!({ "status": "failing", "error": error })
            }
        };
        services.insert(name, body);
    }
    let status = if failing.is_empty() { "ok" } else { "failing" };
    let code = if failing.is_empty() { 200 } else { 503 };
    (
        code,
        json!({ "status": status, "failing": failing, "services": services }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_take_their_info_from_the_contract() {
        let doc =
            json!({"info": {"title": "support", "version": "0.1.0", "description": "Tickets"}});
        let entry = ServiceEntry::new("support", Some(&doc));
        assert_eq!(entry.version.as_deref(), Some("0.1.0"));
        assert_eq!(entry.description.as_deref(), Some("Tickets"));
        assert_eq!(entry.contract_url, "/services/support/openapi.json");
        assert_eq!(entry.health_url, "/support/health");
        assert_eq!(ServiceEntry::new("visits", None).version, None);
    }

    #[test]
    fn health_is_ok_only_when_every_service_is() {
        let ok = json!({"status": "ok", "service": "a", "checks": {}});
        let (code, body) = aggregate(vec![("a".into(), Ok((200, ok.clone())))]);
        assert_eq!(code, 200);
        assert_eq!(body["status"], "ok");
        assert_eq!(body["failing"], json!([]));

        let sick = json!({"status": "failing", "service": "b", "checks": {"sqlite": "io"}});
        let (code, body) = aggregate(vec![
            ("a".into(), Ok((200, ok))),
            ("b".into(), Ok((503, sick.clone()))),
            ("c".into(), Err("c is unreachable".into())),
        ]);
        assert_eq!(code, 503);
        assert_eq!(body["failing"], json!(["b", "c"]));
        assert_eq!(body["services"]["b"], sick);
        assert_eq!(body["services"]["c"]["error"], "c is unreachable");
    }
}
