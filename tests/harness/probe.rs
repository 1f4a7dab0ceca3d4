//! Talking to the probe component (`tests/components/probe`): its echo of what a request looked
//! like inside the guest, and its calls to each capability (key-value, SQLite, variables,
//! outbound HTTP), answered as JSON.

use serde_json::{json, Value};

use crate::app::TestApp;
use crate::http::TestResponse;

/// The probe's echo of a request: what the component saw.
pub struct Echo(pub Value);

impl Echo {
    pub fn of(response: &TestResponse) -> Echo {
        assert_eq!(response.status, 200, "echo failed: {}", response.text());
        Echo(response.json())
    }

    pub fn from_json(value: &Value) -> Echo {
        Echo(value.clone())
    }

    /// All values of a header, in the order the component saw them.
    pub fn header_values(&self, name: &str) -> Vec<String> {
        self.0["headers"]
            .as_array()
            .expect("headers list")
            .iter()
            .filter(|pair| {
                pair[0]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .map(|pair| pair[1].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The single value of a header; fails if it is absent or repeated.
    pub fn header(&self, name: &str) -> String {
        let values = self.header_values(name);
        assert_eq!(
            values.len(),
            1,
            "expected exactly one {name:?} header, got {values:?}; echo: {}",
            self.0
        );
        values[0].clone()
    }

    pub fn str(&self, field: &str) -> &str {
        self.0[field]
            .as_str()
            .unwrap_or_else(|| panic!("echo has no string {field:?}: {}", self.0))
    }

    pub fn component(&self) -> &str {
        self.str("component")
    }
}

/// The probe's echo of `GET path`.
pub fn echo(app: &TestApp, path: &str) -> Echo {
    Echo::of(&app.get(path))
}

/// The raw route (as written in the manifest) that served `path`.
pub fn route_serving(app: &TestApp, path: &str) -> String {
    echo(app, path).header("spin-raw-component-route")
}

/// The JSON body of a probe answer, asserting `200`.
pub fn probe_json(response: TestResponse) -> Value {
    assert_eq!(response.status, 200, "probe failed: {}", response.text());
    response.json()
}

/// The probe's `get` of `key` in the key-value store `label`.
pub fn kv_get(app: &TestApp, label: &str, key: &str) -> Value {
    probe_json(app.get(&format!("/probe/kv/{label}/get/{key}")))
}

/// The probe's `set` of `key` to `value` in the key-value store `label`.
pub fn kv_set(app: &TestApp, label: &str, key: &str, value: &str) -> Value {
    probe_json(app.post(&format!("/probe/kv/{label}/set/{key}"), "text/plain", value))
}

/// The probe's `delete` of `key` in the key-value store `label`.
pub fn kv_delete(app: &TestApp, label: &str, key: &str) -> Value {
    probe_json(app.post(&format!("/probe/kv/{label}/delete/{key}"), "text/plain", ""))
}

/// The probe's `exists` of `key` in the key-value store `label`.
pub fn kv_exists(app: &TestApp, label: &str, key: &str) -> Value {
    probe_json(app.get(&format!("/probe/kv/{label}/exists/{key}")))
}

/// Every key of the key-value store `label`, sorted.
pub fn kv_keys(app: &TestApp, label: &str) -> Vec<String> {
    let result = probe_json(app.get(&format!("/probe/kv/{label}/keys")));
    let mut keys: Vec<String> = result["ok"]
        .as_array()
        .unwrap_or_else(|| panic!("keys failed: {result}"))
        .iter()
        .map(|k| k.as_str().expect("string key").to_owned())
        .collect();
    keys.sort();
    keys
}

/// Runs `statement` with `params` on the SQLite database `label`; its rows or its error.
pub fn sql(app: &TestApp, label: &str, statement: &str, params: Value) -> Value {
    let body = json!({ "sql": statement, "params": params }).to_string();
    probe_json(app.post(&format!("/probe/sqlite/{label}"), "application/json", body))
}

/// Runs a statement that must succeed; returns its rows.
pub fn sql_ok(app: &TestApp, label: &str, statement: &str, params: Value) -> Value {
    let result = sql(app, label, statement, params);
    assert!(
        result.get("error").is_none(),
        "{statement:?} failed: {result}"
    );
    result["rows"].clone()
}

/// The probe's read of the variable `name`.
pub fn var(app: &TestApp, name: &str) -> Value {
    probe_json(app.get(&format!("/probe/var/{name}")))
}

/// Makes the probe send an outbound request.
pub fn fetch(app: &TestApp, url: &str, method: &str, headers: &[&str], body: &str) -> Value {
    let mut path = format!("/probe/fetch?url={}&method={method}", encode(url));
    for header in headers {
        path.push_str(&format!("&header={}", encode(header)));
    }
    probe_json(app.request("POST", &path, &[], body))
}

/// Asserts that an outbound request was refused as not allowed (`HttpRequestDenied`).
pub fn assert_denied(result: &Value) {
    let code = result["code"].as_str().unwrap_or_default();
    assert!(
        code.contains("HttpRequestDenied"),
        "expected HttpRequestDenied, got {result}"
    );
}

/// Percent-encodes `text` for a query parameter.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The port the app listens on, as text.
pub fn port_of(app: &TestApp) -> &str {
    app.base_url.rsplit(':').next().expect("port in base url")
}
