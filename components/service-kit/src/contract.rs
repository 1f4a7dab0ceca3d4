//! What every service's contract and health endpoint share: the error body schema, the health
//! report, store checks, the `500 storage error` every store-backed operation can answer, and
//! the checks the services' unit tests run on their generated documents.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use spin_sdk::http::Response;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
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

/// `GET /<service>/health` of a service whose only store is the SQLite database `label`: 200
/// when it answers, else 503.
pub fn sqlite_health(service: &str, label: &str) -> Response {
    Health::from_checks(service, vec![("sqlite", check_sqlite(label))]).into_response()
}

/// The key-value store `label` opens and answers a lookup.
pub fn check_key_value(label: &str) -> Result<(), String> {
    spin_sdk::key_value::Store::open(label)
        .and_then(|store| store.exists("health"))
        .map(|_| ())
        .map_err(|err| format!("key-value {label}: {err:?}"))
}

/// Adds `500 {"message": "storage error"}` to every operation except the named ones (those
/// that never touch a store), as every store-backed handler can answer it.
pub struct StorageErrors(pub &'static [&'static str]);

/// `500 storage error` on every operation but health and the contract, which never touch a
/// store: what every service's document declares (`modifiers(&STORAGE_ERRORS, ...)`).
pub const STORAGE_ERRORS: StorageErrors = StorageErrors(&["health", "openapi"]);

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

/// Adds the two operations every service serves the same way to a document titled with the
/// service's name: `GET /<service>/health` (answering the shared [`Health`], which the document
/// must list among its schemas) and `GET /<service>/openapi.json`. `checks` completes "Checks
/// the service's own stores: ...".
pub struct ServiceEndpoints {
    pub checks: &'static str,
}

/// The health and contract operations of a service whose only store is its SQLite database.
pub const SQLITE_SERVICE_ENDPOINTS: ServiceEndpoints = ServiceEndpoints {
    checks: "its SQLite database answers `SELECT 1`",
};

impl Modify for ServiceEndpoints {
    fn modify(&self, openapi: &mut OpenApi) {
        let service = openapi.info.title.clone();
        let json = |schema: RefOr<Schema>| ContentBuilder::new().schema(Some(schema)).build();
        let health_body = || json(RefOr::Ref(Ref::from_schema_name("Health")));
        let health = OperationBuilder::new()
            .tag("service")
            .operation_id(Some("health"))
            .summary(Some("The service's health"))
            .description(Some(format!(
                "Checks the service's own stores: {}.",
                self.checks
            )))
            .response(
                "200",
                ResponseBuilder::new()
                    .description("Every check passed.")
                    .content("application/json", health_body())
                    .build(),
            )
            .response(
                "503",
                ResponseBuilder::new()
                    .description("A check failed; `checks` names it.")
                    .content("application/json", health_body())
                    .build(),
            );
        let document = OperationBuilder::new()
            .tag("service")
            .operation_id(Some("openapi"))
            .summary(Some("This service's OpenAPI document"))
            .response(
                "200",
                ResponseBuilder::new()
                    .description("The OpenAPI 3.1 document of the service.")
                    .content(
                        "application/json",
                        json(RefOr::T(Schema::Object(
                            ObjectBuilder::new().schema_type(Type::Object).build(),
                        ))),
                    )
                    .build(),
            );
        let paths = &mut openapi.paths;
        paths.add_path_operation(format!("/{service}/health"), vec![HttpMethod::Get], health);
        paths.add_path_operation(
            format!("/{service}/openapi.json"),
            vec![HttpMethod::Get],
            document,
        );
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

/// Checks a document against a service's route table, for its contract tests: every documented
/// operation is served and every method served at a documented path is documented.
/// `route_at(path)` is the route-table entry a templated path names (its placeholders filled in
/// by the service), as its `Debug` text and its `Allow` list. Returns the names of the routes
/// the document covers (`Ticket("7")` is `Ticket`), for checking every route is among them.
pub fn assert_served_as_documented(
    document: &serde_json::Value,
    route_at: impl Fn(&str) -> (String, String),
) -> BTreeSet<String> {
    let documented = operations(document);
    let mut served = BTreeSet::new();
    let mut routes = BTreeSet::new();
    for (path, _) in &documented {
        let (route, allowed) = route_at(path);
        for method in allowed.split(", ") {
            served.insert((path.clone(), method.to_owned()));
        }
        let name = route.split('(').next().unwrap_or_default().to_owned();
        routes.insert(name);
    }
    assert_eq!(documented, served, "documented operations vs served ones");
    routes
}

/// The parameter `name` of the operation `method` (lowercase) on `path` in a serialised
/// document; panics, naming it, when there is none (for the services' contract tests).
pub fn parameter(
    document: &serde_json::Value,
    path: &str,
    method: &str,
    name: &str,
) -> serde_json::Value {
    document["paths"][path][method]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{method} {path}: no parameter {name}"))
        .clone()
}

/// The names of a serialised object schema's `properties` (none when it has none).
pub fn property_names(schema: &serde_json::Value) -> BTreeSet<&str> {
    schema["properties"]
        .as_object()
        .into_iter()
        .flat_map(|properties| properties.keys().map(String::as_str))
        .collect()
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

/// `(path, METHOD, responses)` of every operation in a serialised document (an operation
/// without a `responses` object has an empty one).
fn operation_responses(
    document: &serde_json::Value,
) -> Vec<(String, String, serde_json::Map<String, serde_json::Value>)> {
    operations(document)
        .into_iter()
        .map(|(path, method)| {
            let responses = document["paths"][&path][method.to_lowercase()]["responses"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            (path, method, responses)
        })
        .collect()
}

/// The schema a response's `application/json` content names, if it names one.
fn json_schema_ref(response: &serde_json::Value) -> Option<&str> {
    response["content"]["application/json"]["schema"]["$ref"].as_str()
}

/// What breaks the shared error rules in a serialised document: every operation documents at
/// least one response; every 4xx and 5xx answer is `ErrorBody` JSON, except the 503 of
/// `GET .../health`, which is the `Health` report (as is its 200); and exactly the operations that
/// may touch a store (all but health, this document and CORS preflights) document `500`.
pub fn error_response_problems(document: &serde_json::Value) -> Vec<String> {
    const ERROR_BODY: &str = "#/components/schemas/ErrorBody";
    const HEALTH: &str = "#/components/schemas/Health";
    let mut problems = Vec::new();
    for (path, method, responses) in operation_responses(document) {
        let health = path.ends_with("/health") && method == "GET";
        if responses.is_empty() {
            problems.push(format!("{method} {path}: documents no response"));
        }
        for (status, response) in &responses {
            let expected = match status.as_str() {
                "200" | "503" if health => HEALTH,
                _ if status.starts_with('4') || status.starts_with('5') => ERROR_BODY,
                _ => continue,
            };
            if json_schema_ref(response) != Some(expected) {
                problems.push(format!(
                    "{method} {path} {status}: the JSON body is not {expected}"
                ));
            }
        }
        if health {
            for status in ["200", "503"]
                .into_iter()
                .filter(|s| !responses.contains_key(*s))
            {
                problems.push(format!("{method} {path}: {status} is not documented"));
            }
        }
        let stores =
            method != "OPTIONS" && !path.ends_with("/health") && !path.ends_with("/openapi.json");
        match (stores, responses.contains_key("500")) {
            (true, false) => problems.push(format!("{method} {path}: 500 is not documented")),
            (false, true) => problems.push(format!(
                "{method} {path}: documents 500 but touches no store"
            )),
            _ => {}
        }
    }
    problems
}

/// `METHOD path` of every operation whose path contains `path_part` but that does not document
/// `status`: e.g. `operations_missing(doc, "{id}", "404")` where the route table refuses ids that
/// break the rule with 404.
pub fn operations_missing(
    document: &serde_json::Value,
    path_part: &str,
    status: &str,
) -> Vec<String> {
    operation_responses(document)
        .into_iter()
        .filter(|(path, _, responses)| path.contains(path_part) && !responses.contains_key(status))
        .map(|(path, method, _)| format!("{method} {path}"))
        .collect()
}

/// What breaks the shared `info` rules in a serialised document: OpenAPI 3.1.0, titled with the
/// crate's name, at the crate's version, described as the crate is (and not blank).
pub fn info_problems(
    document: &serde_json::Value,
    name: &str,
    version: &str,
    description: &str,
) -> Vec<String> {
    let info = &document["info"];
    let mut problems = Vec::new();
    for (field, found, expected) in [
        ("openapi", &document["openapi"], "3.1.0"),
        ("info.title", &info["title"], name),
        ("info.version", &info["version"], version),
        ("info.description", &info["description"], description),
    ] {
        if found.as_str() != Some(expected) {
            problems.push(format!("{field} is {found}, not {expected:?}"));
        }
    }
    if description.trim().is_empty() {
        problems.push("info.description is blank".to_owned());
    }
    problems
}

/// Everything the shared checks find wrong with a service's serialised document: its `info`
/// ([`info_problems`]), its error answers ([`error_response_problems`]) and its references
/// ([`unresolved_refs`]). [`assert_document!`](crate::assert_document) runs it in a service's
/// unit tests with that crate's name, version and description.
pub fn document_problems(
    document: &serde_json::Value,
    name: &str,
    version: &str,
    description: &str,
) -> Vec<String> {
    let mut problems = info_problems(document, name, version, description);
    problems.extend(error_response_problems(document));
    problems.extend(
        unresolved_refs(document)
            .into_iter()
            .map(|target| format!("{target} names no schema")),
    );
    problems
}

/// Asserts that [`contract::document_problems`](crate::contract::document_problems) finds
/// nothing wrong with a serialised document, checked against the calling crate's Cargo name,
/// version and description: `assert_document!(&doc)` in a service's unit tests.
#[macro_export]
macro_rules! assert_document {
    ($document:expr) => {{
        let problems = $crate::contract::document_problems(
            $document,
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            env!("CARGO_PKG_DESCRIPTION"),
        );
        assert!(
            problems.is_empty(),
            "the document breaks the shared checks: {problems:#?}"
        );
    }};
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
        let schema = json!({"properties": {"b": {}, "a": {}}});
        assert_eq!(property_names(&schema), BTreeSet::from(["a", "b"]));
        assert!(property_names(&json!({"type": "string"})).is_empty());
    }

    fn error(status: &str, schema: &str) -> serde_json::Value {
        json!({status: {"content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}}})
    }

    #[test]
    fn error_answers_must_be_error_bodies_and_500_exactly_where_stores_are() {
        let mut ok = json!({"paths": {
            "/s/things/{id}": {"get": {"responses": error("404", "ErrorBody")}},
            "/s/health": {"get": {"responses": {}}, "options": {"responses": {"204": {}}}},
            "/s/openapi.json": {"get": {"responses": {"200": {}}}},
        }});
        ok["paths"]["/s/things/{id}"]["get"]["responses"]["500"] =
            error("500", "ErrorBody")["500"].clone();
        ok["paths"]["/s/health"]["get"]["responses"] = json!({
            "200": error("200", "Health")["200"], "503": error("503", "Health")["503"]
        });
        assert_eq!(error_response_problems(&ok), Vec::<String>::new());

        let mut bad = ok.clone();
        bad["paths"]["/s/things/{id}"]["get"]["responses"]["503"] =
            error("503", "Health")["503"].clone();
        bad["paths"]["/s/health"]["get"]["responses"]["500"] =
            error("500", "ErrorBody")["500"].clone();
        bad["paths"]["/s/health"]["get"]["responses"]["503"] =
            error("503", "ErrorBody")["503"].clone();
        bad["paths"]["/s/openapi.json"]["get"]["responses"]["400"] = json!({"description": "x"});
        bad["paths"]["/s/things/{id}"]["put"] = json!({"responses": {}});
        assert_eq!(
            error_response_problems(&bad),
            [
                "GET /s/health 503: the JSON body is not #/components/schemas/Health",
                "GET /s/health: documents 500 but touches no store",
                "GET /s/openapi.json 400: the JSON body is not #/components/schemas/ErrorBody",
                "GET /s/things/{id} 503: the JSON body is not #/components/schemas/ErrorBody",
                "PUT /s/things/{id}: documents no response",
                "PUT /s/things/{id}: 500 is not documented",
            ]
        );
    }

    #[test]
    fn operations_missing_a_status_are_named() {
        let doc = json!({"paths": {
            "/s/{id}": {"get": {"responses": {"404": {}}}, "put": {"responses": {"200": {}}}},
            "/s": {"get": {"responses": {}}},
        }});
        assert_eq!(operations_missing(&doc, "{id}", "404"), ["PUT /s/{id}"]);
    }

    #[test]
    fn info_must_name_the_crate() {
        let doc = json!({"openapi": "3.1.0", "info": {"title": "s", "version": "1.0.0", "description": "d"}});
        assert_eq!(info_problems(&doc, "s", "1.0.0", "d"), Vec::<String>::new());
        assert_eq!(info_problems(&doc, "t", "1.0.0", "d").len(), 1);
        assert_eq!(info_problems(&doc, "s", "1.0.1", "").len(), 3);
        let old = json!({"openapi": "3.0.3", "info": doc["info"]});
        assert_eq!(document_problems(&old, "s", "1.0.0", "d").len(), 1);
    }

    #[test]
    fn every_service_gets_the_same_health_and_document_operations() {
        #[derive(utoipa::OpenApi)]
        #[openapi(info(title = "demo"), components(schemas(Health)))]
        struct Demo;
        let mut document = <Demo as utoipa::OpenApi>::openapi();
        ServiceEndpoints {
            checks: "its SQLite database answers `SELECT 1`",
        }
        .modify(&mut document);
        let doc = serde_json::to_value(&document).unwrap();
        let expected: BTreeSet<(String, String)> = [
            ("/demo/health".to_owned(), "GET".to_owned()),
            ("/demo/openapi.json".to_owned(), "GET".to_owned()),
        ]
        .into();
        assert_eq!(operations(&doc), expected);
        let health = &doc["paths"]["/demo/health"]["get"];
        assert_eq!(health["operationId"], "health");
        assert!(health["description"].as_str().unwrap().contains("SELECT 1"));
        for status in ["200", "503"] {
            assert_eq!(
                health["responses"][status]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/Health"
            );
        }
        assert_eq!(
            doc["paths"]["/demo/openapi.json"]["get"]["operationId"],
            "openapi"
        );
        assert!(unresolved_refs(&doc).is_empty());
    }
}
