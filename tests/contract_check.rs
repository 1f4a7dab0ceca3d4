//! Shared by the `*_contract` tests (included with `#[path]`, not a test target of its own): a
//! service's OpenAPI document, fetched from the running service, and a small checker of real
//! responses against it.
//!
//! The checker knows the part of OpenAPI 3.1's schema dialect the documents use: `$ref`,
//! `allOf`/`oneOf`/`anyOf`, `type` (one or a list), `enum`/`const`, `required`, `properties`,
//! `additionalProperties: false`, `items`, `minItems`/`maxItems`, `minLength`/`maxLength`,
//! `minimum`/`maximum`. Patterns and formats are left to the services' unit tests.

#![allow(dead_code)]

use std::collections::BTreeSet;

use integration_tests::{TestApp, TestResponse};
use serde_json::Value;

pub struct Contract {
    pub doc: Value,
}

impl Contract {
    /// `GET /<service>/openapi.json`, checked to be an OpenAPI 3.1 JSON document.
    pub fn fetch(app: &TestApp, service: &str) -> Contract {
        let response = app.get(&format!("/{service}/openapi.json"));
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(content_type(&response).as_deref(), Some("application/json"));
        let doc = response.json();
        let version = doc["openapi"].as_str().unwrap_or_default();
        assert!(version.starts_with("3.1"), "openapi: {version:?}");
        assert_eq!(doc["info"]["title"], service);
        assert!(!doc["info"]["version"]
            .as_str()
            .unwrap_or_default()
            .is_empty());
        Contract { doc }
    }

    /// `(path, METHOD)` of every documented operation.
    pub fn operations(&self) -> BTreeSet<(String, String)> {
        let mut all = BTreeSet::new();
        for (path, item) in self.doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("path item").keys() {
                all.insert((path.clone(), method.to_uppercase()));
            }
        }
        all
    }

    /// Asserts the response is one the operation documents: its status, its content type and a
    /// body that fits the schema (or no body where none is documented). Returns the body as JSON
    /// (null when empty).
    pub fn assert_fits(&self, path: &str, method: &str, response: &TestResponse) -> Value {
        let operation = &self.doc["paths"][path][method.to_lowercase()];
        assert!(operation.is_object(), "{method} {path} is not documented");
        let status = response.status.to_string();
        let documented = &operation["responses"][&status];
        assert!(
            documented.is_object(),
            "{method} {path}: status {status} is not documented: {}",
            response.text()
        );
        let Some(content) = documented["content"].as_object() else {
            assert!(
                response.body.is_empty(),
                "{method} {path} {status}: a body where none is documented: {}",
                response.text()
            );
            return Value::Null;
        };
        let media = content_type(response).expect("a content type");
        let schema = &content.get(&media).unwrap_or_else(|| {
            panic!("{method} {path} {status}: undocumented content type {media}")
        })["schema"];
        let body = response.json();
        let errors = self.check(schema, &body, "body");
        assert!(
            errors.is_empty(),
            "{method} {path} {status}: the body does not fit the contract:\n{}\nbody: {body}",
            errors.join("\n")
        );
        body
    }

    /// Checks `value` against `schema`; the problems found, each with where it is.
    pub fn check(&self, schema: &Value, value: &Value, at: &str) -> Vec<String> {
        let mut errors = Vec::new();
        if let Some(reference) = schema["$ref"].as_str() {
            errors.extend(self.check(&self.resolve(reference), value, at));
        }
        if let Some(all) = schema["allOf"].as_array() {
            for part in all {
                errors.extend(self.check(part, value, at));
            }
        }
        if let Some(one) = schema["oneOf"].as_array() {
            let fitting = one
                .iter()
                .filter(|part| self.check(part, value, at).is_empty())
                .count();
            if fitting != 1 {
                errors.push(format!(
                    "{at}: fits {fitting} of oneOf's {} schemas",
                    one.len()
                ));
            }
        }
        if let Some(any) = schema["anyOf"].as_array() {
            if !any
                .iter()
                .any(|part| self.check(part, value, at).is_empty())
            {
                errors.push(format!("{at}: fits none of anyOf"));
            }
        }
        if let Some(types) = types(&schema["type"]) {
            if !types.iter().any(|t| has_type(value, t)) {
                errors.push(format!("{at}: {value} is not of type {types:?}"));
                return errors;
            }
        }
        if let Some(options) = schema["enum"].as_array() {
            if !options.contains(value) {
                errors.push(format!("{at}: {value} is not one of {options:?}"));
            }
        }
        if let Some(constant) = schema.get("const") {
            if constant != value {
                errors.push(format!("{at}: {value} is not {constant}"));
            }
        }
        match value {
            Value::Object(fields) => {
                for name in schema["required"].as_array().into_iter().flatten() {
                    let name = name.as_str().unwrap_or_default();
                    if !fields.contains_key(name) {
                        errors.push(format!("{at}: required field {name:?} is missing"));
                    }
                }
                let properties = schema["properties"].as_object();
                for (name, field) in fields {
                    match properties.and_then(|p| p.get(name)) {
                        Some(property) => {
                            errors.extend(self.check(property, field, &format!("{at}.{name}")))
                        }
                        None if schema["additionalProperties"] == false => {
                            errors.push(format!("{at}: field {name:?} is not in the schema"))
                        }
                        None => {}
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item) = schema.get("items") {
                    for (index, element) in items.iter().enumerate() {
                        errors.extend(self.check(item, element, &format!("{at}[{index}]")));
                    }
                }
                bound(
                    &mut errors,
                    at,
                    "minItems",
                    &schema["minItems"],
                    items.len() as f64,
                    |n, b| n >= b,
                );
                bound(
                    &mut errors,
                    at,
                    "maxItems",
                    &schema["maxItems"],
                    items.len() as f64,
                    |n, b| n <= b,
                );
            }
            Value::String(text) => {
                let chars = text.chars().count() as f64;
                bound(
                    &mut errors,
                    at,
                    "minLength",
                    &schema["minLength"],
                    chars,
                    |n, b| n >= b,
                );
                bound(
                    &mut errors,
                    at,
                    "maxLength",
                    &schema["maxLength"],
                    chars,
                    |n, b| n <= b,
                );
            }
            Value::Number(number) => {
                let n = number.as_f64().unwrap_or_default();
                bound(&mut errors, at, "minimum", &schema["minimum"], n, |n, b| {
                    n >= b
                });
                bound(&mut errors, at, "maximum", &schema["maximum"], n, |n, b| {
                    n <= b
                });
            }
            _ => {}
        }
        errors
    }

    fn resolve(&self, reference: &str) -> Value {
        let pointer = reference.strip_prefix('#').expect("a local $ref");
        self.doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("$ref {reference} resolves to nothing"))
            .clone()
    }
}

/// The response's media type, without parameters.
pub fn content_type(response: &TestResponse) -> Option<String> {
    response.header("content-type").map(|value| {
        value
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    })
}

fn types(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(one) => Some(vec![one.clone()]),
        Value::Array(many) => Some(
            many.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect(),
        ),
        _ => None,
    }
}

fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => false,
    }
}

fn bound(
    errors: &mut Vec<String>,
    at: &str,
    keyword: &str,
    limit: &Value,
    n: f64,
    ok: fn(f64, f64) -> bool,
) {
    if let Some(limit) = limit.as_f64() {
        if !ok(n, limit) {
            errors.push(format!("{at}: {n} breaks {keyword} {limit}"));
        }
    }
}

/// Asserts every documented path answers an undocumented method with 405 and an `allow` header
/// naming exactly the documented ones. `concrete` turns a templated path into one to request.
pub fn assert_other_methods_are_405(
    app: &TestApp,
    contract: &Contract,
    concrete: impl Fn(&str) -> String,
) {
    let operations = contract.operations();
    let paths: BTreeSet<&String> = operations.iter().map(|(path, _)| path).collect();
    for path in paths {
        let documented: BTreeSet<&str> = operations
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, method)| method.as_str())
            .collect();
        for method in ["GET", "PUT", "POST", "PATCH", "DELETE"] {
            if documented.contains(method) {
                continue;
            }
            let url = concrete(path);
            let response = app.request(method, &url, &[("content-type", "application/json")], "{}");
            assert_eq!(response.status, 405, "{method} {url}: {}", response.text());
            let allow: BTreeSet<&str> = response
                .header("allow")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .collect();
            assert_eq!(allow, documented, "{method} {url}");
        }
    }
}

/// Asserts `GET /<service>/health` answers 200 with the report every service gives, each of
/// `checks` `ok`, fitting the service's contract.
pub fn assert_healthy(app: &TestApp, service: &str, checks: &[&str]) {
    let path = format!("/{service}/health");
    let response = app.get(&path);
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(content_type(&response).as_deref(), Some("application/json"));
    let checks: serde_json::Map<String, Value> = checks
        .iter()
        .map(|name| (name.to_string(), Value::from("ok")))
        .collect();
    let expected = serde_json::json!({"status": "ok", "service": service, "checks": checks});
    assert_eq!(response.json(), expected);
    Contract::fetch(app, service).assert_fits(&path, "GET", &response);
}

/// Asserts `GET /<service>/health` answers 503 naming the failure of its `sqlite` check when the
/// SQLite database `label` cannot be opened (the host opens a label's file on each new
/// connection: it is made a directory).
pub fn assert_health_fails_without_sqlite(app: &TestApp, service: &str, label: &str) {
    let database = app.temp_dir().join(format!("{label}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", database.display()));
    }
    std::fs::create_dir(&database).unwrap();
    let path = format!("/{service}/health");
    let response = app.get(&path);
    assert_eq!(response.status, 503, "{}", response.text());
    let report = response.json();
    assert_eq!(report["status"], "failing");
    assert_eq!(report["service"], service);
    let message = report["checks"]["sqlite"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(&format!("sqlite {label}: ")),
        "{message:?}"
    );
    Contract::fetch(app, service).assert_fits(&path, "GET", &response);
}

/// Asserts the contract documents exactly the `(method, path)` operations of `served`, each
/// answering the request `sample` gives it (content type, body) with a documented status and
/// body, and every other method of a documented path with 405.
pub fn assert_serves_exactly(
    app: &TestApp,
    contract: &Contract,
    served: &[(&str, &str)],
    concrete: impl Fn(&str) -> String,
    sample: impl Fn(&str, &str) -> (&'static str, Vec<u8>),
) {
    let expected: BTreeSet<(String, String)> = served
        .iter()
        .map(|(method, path)| (path.to_string(), method.to_uppercase()))
        .collect();
    assert_eq!(contract.operations(), expected);
    for &(method, path) in served {
        let (media, body) = sample(method, path);
        let response = send_typed(app, method, &concrete(path), media, body);
        contract.assert_fits(path, method, &response);
    }
    assert_other_methods_are_405(app, contract, concrete);
}

/// A request and the status it must get: (method, documented path, path, content type, body,
/// status).
pub type ContractCase = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Vec<u8>,
    u16,
);

/// Sends each case, asserting its status and that the answer fits the operation's contract.
pub fn assert_cases_fit(app: &TestApp, contract: &Contract, cases: Vec<ContractCase>) {
    for (method, documented, path, media, body, status) in cases {
        let response = send_typed(app, method, path, media, body);
        assert_eq!(
            response.status,
            status,
            "{method} {path}: {}",
            response.text()
        );
        contract.assert_fits(documented, method, &response);
    }
}

fn send_typed(app: &TestApp, method: &str, path: &str, media: &str, body: Vec<u8>) -> TestResponse {
    app.request(
        &method.to_uppercase(),
        path,
        &[("content-type", media)],
        body,
    )
}

impl Contract {
    /// Asserts the response has `status` and is one the operation documents (see
    /// [`Contract::assert_fits`]); returns its body as JSON.
    pub fn assert_answer(
        &self,
        path: &str,
        method: &str,
        status: u16,
        response: &TestResponse,
    ) -> Value {
        assert_eq!(
            response.status,
            status,
            "{method} {path}: {}",
            response.text()
        );
        self.assert_fits(path, method, response)
    }
}
