//! What every service's contract and health endpoint share: the error body schema, the health
//! report, store checks, the `500 storage error` every store-backed operation can answer, and
//! the checks the services' unit tests run on their generated documents.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use spin_sdk::http::Response;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, ToSchema};

use crate::api::json_response;

/// The body of every 4xx and 5xx answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What is wrong (for a 5xx only a short phrase; the detail is logged).
    pub message: String,
}

/// Whether a service can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
    Failing,
}

/// The answer of `GET /<service>/health`: the same shape for every service, so one aggregator
/// can read them all.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` when every check is, else `failing`.
    pub status: HealthStatus,
    /// The service's name.
    pub service: String,
    /// Each check of the service's own stores: `ok`, or what failed.
    pub checks: BTreeMap<String, String>,
}

impl Health {
    /// The report for these named check outcomes.
    pub fn from_checks(service: &str, checks: Vec<(&str, Result<(), String>)>) -> Health {
        let mut status = HealthStatus::Ok;
        let checks = checks
            .into_iter()
            .map(|(name, outcome)| {
                let text = match outcome {
                    Ok(()) => "ok".to_owned(),
                    Err(failure) => {
                        eprintln!("{service}: health: {name}: {failure}");
                        status = HealthStatus::Failing;
                        failure
                    }
                };
                (name.to_owned(), text)
            })
            .collect();
        Health {
            status,
            service: service.to_owned(),
            checks,
        }
    }

    /// 200 when healthy, else 503.
    pub fn status_code(&self) -> u16 {
        match self.status {
            HealthStatus::Ok => 200,
            HealthStatus::Failing => 503,
        }
    }

    pub fn into_response(self) -> Response {
        json_response(self.status_code(), &self)
    }
}

/// The SQLite database `label` answers `SELECT 1`.
pub fn check_sqlite(label: &str) -> Result<(), String> {
    spin_sdk::sqlite::Connection::open(label)
        .and_then(|conn| conn.execute("SELECT 1", &[]))
        .map(|_| ())
        .map_err(|err| format!("sqlite {label}: {err:?}"))
}

/// The key-value store `label` opens and answers a lookup.
pub fn check_key_value(label: &str) -> Result<(), String> {
    spin_sdk::key_value::Store::open(label)
        .and_then(|store| store.exists("health"))
        .map(|_| ())
        .map_err(|err| format!("key-value {label}: {err:?}"))
}

/// The document as a `200 application/json` answer.
pub fn document_response(document: &OpenApi) -> Response {
    json_response(200, document)
}

/// Adds `500 {"message": "storage error"}` to every operation except the named ones (those
/// that never touch a store), as every store-backed handler can answer it.
pub struct StorageErrors(pub &'static [&'static str]);

impl Modify for StorageErrors {
    fn modify(&self, openapi: &mut OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                let id = operation.operation_id.as_deref().unwrap_or_default();
                if self.0.contains(&id) {
                    continue;
                }
                let response = ResponseBuilder::new()
                    .description(
                        "The service's storage failed (`storage error`; details are logged).",
                    )
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody"))))
                            .build(),
                    )
                    .build();
                operation
                    .responses
                    .responses
                    .entry("500".to_owned())
                    .or_insert(response.into());
            }
        }
    }
}

/// `(path, METHOD)` of every operation in a serialised document.
pub fn operations(document: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut all = BTreeSet::new();
    if let Some(paths) = document["paths"].as_object() {
        for (path, item) in paths {
            for method in item.as_object().into_iter().flat_map(|m| m.keys()) {
                all.insert((path.clone(), method.to_uppercase()));
            }
        }
    }
    all
}

/// Every `$ref` in a serialised document that names no schema of its components.
pub fn unresolved_refs(document: &serde_json::Value) -> Vec<String> {
    fn walk(value: &serde_json::Value, refs: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(target) = map.get("$ref").and_then(|r| r.as_str()) {
                    refs.push(target.to_owned());
                }
                map.values().for_each(|v| walk(v, refs));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, refs)),
            _ => {}
        }
    }
    let mut refs = Vec::new();
    walk(document, &mut refs);
    refs.into_iter()
        .filter(|target| {
            let name = target.trim_start_matches("#/components/schemas/");
            document["components"]["schemas"].get(name).is_none()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn health_is_failing_when_any_check_fails() {
        let health = Health::from_checks(
            "x",
            vec![("sqlite", Ok(())), ("key_value", Err("down".into()))],
        );
        assert_eq!(health.status, HealthStatus::Failing);
        assert_eq!(health.status_code(), 503);
        assert_eq!(health.checks["sqlite"], "ok");
        assert_eq!(health.checks["key_value"], "down");
        let healthy = Health::from_checks("x", vec![("sqlite", Ok(()))]);
        assert_eq!(healthy.status_code(), 200);
    }

    #[test]
    fn operations_and_refs_are_read_from_a_document() {
        let doc = json!({
            "paths": {"/a": {"get": {"$ref": "#/components/schemas/A"}, "put": {}}},
            "components": {"schemas": {"A": {}}},
            "extra": {"$ref": "#/components/schemas/Missing"}
        });
        let ops: Vec<_> = operations(&doc).into_iter().collect();
        assert_eq!(
            ops,
            [("/a".into(), "GET".into()), ("/a".into(), "PUT".into())]
        );
        assert_eq!(unresolved_refs(&doc), ["#/components/schemas/Missing"]);
    }
}
