//! A conformance probe: one Spin component that exercises every host capability
//! and reports what happened as JSON, so the host conformance tests can assert
//! on real behaviour instead of on the host's internals.
//!
//! It routes on the request's own path (not on `spin-path-info`), so it answers
//! the same way under any route, including when reached by service chaining.
//! Capability errors are *results*, not failures: they come back as `200` with
//! `{"error": "<wit variant name>", "message": ...}`, so a test can tell "the
//! host said access-denied" apart from "the host broke". Only `trap`, `hang`
//! and an exhausted `memory` end the request abnormally, on purpose.
//!
//! Endpoints (`{x}` = one path segment):
//! - any path not listed below: echo of the request (see [`echo`])
//! - `GET  /probe/kv/{label}/get/{key}`     -> `{"ok": "<value>"|null}`
//! - `POST /probe/kv/{label}/set/{key}`     -> `{"ok": null}` (body = value)
//! - `POST /probe/kv/{label}/delete/{key}`  -> `{"ok": null}`
//! - `GET  /probe/kv/{label}/exists/{key}`  -> `{"ok": true|false}`
//! - `GET  /probe/kv/{label}/keys`          -> `{"ok": ["k", ...]}` (host order)
//! - `POST /probe/sqlite/{label}` body `{"sql", "params"}` -> `{"columns", "rows"}`,
//!   or body `{"batch": [{"sql", "params"}, ...]}` (one connection, stops at the
//!   first error) -> `{"results": [...]}`
//! - `GET  /probe/var/{name}`               -> `{"ok": "<value>"}`
//! - `GET|POST /probe/fetch?url=U&method=M&header=name:value...` (body forwarded)
//!   -> `{"status", "headers", "body"}` or `{"error": "http", "code": "ErrorCode::..."}`
//! - `GET  /probe/env?name=X`               -> `{"ok": "<value>"|null}`
//! - `GET  /probe/log?text=T`               -> prints T to stdout and stderr
//! - `GET  /probe/trap`                     -> panics (a trap)
//! - `GET  /probe/hang`                     -> never returns
//! - `GET  /probe/wait/{label}/{key}`       -> waits until `key` exists in key-value
//!   store `label` (polling every 5 ms), then answers with the echo: a request held
//!   open for as long as a test needs, released by the test writing the key
//! - `GET  /probe/memory?mb=N`              -> allocates and touches N MiB
//!
//! Values: SQLite integers are JSON integers, reals are JSON floats (always
//! written with a fraction or exponent), blobs are `{"blob": [bytes]}`; the same
//! forms are accepted as parameters.

use serde_json::{json, Value as Json};
use spin_sdk::http::{IncomingRequest, Method, Request, Response};
use spin_sdk::http_component;
use spin_sdk::{key_value, sqlite, variables};

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    let path_with_query = req.path_with_query().unwrap_or_default();
    let (path, query) = split_query(&path_with_query);
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let query = parse_query(query);

    match segments.as_slice() {
        ["probe", "kv", label, op, rest @ ..] => {
            let key = rest.join("/");
            let body = read_body(req).await;
            json_response(key_value_op(label, op, &key, body))
        }
        ["probe", "sqlite", label] => {
            let body = read_body(req).await;
            json_response(sqlite_op(label, &body))
        }
        ["probe", "var", name] => json_response(variable(name)),
        ["probe", "fetch"] => {
            let body = read_body(req).await;
            json_response(fetch(&query, body).await)
        }
        ["probe", "env"] => {
            let name = first(&query, "name").unwrap_or_default();
            json_response(json!({ "ok": std::env::var(name).ok() }))
        }
        ["probe", "log"] => {
            let text = first(&query, "text").unwrap_or_default();
            println!("{text}");
            eprintln!("{text}");
            json_response(json!({ "ok": null }))
        }
        ["probe", "trap"] => panic!("probe: trap requested"),
        ["probe", "hang"] => hang(),
        ["probe", "wait", label, key] => {
            if let Err(e) = wait_for_key(label, key) {
                return json_response(key_value_error(e, "exists"));
            }
            json_response(echo(req).await)
        }
        ["probe", "memory"] => {
            let mb: usize = first(&query, "mb")
                .and_then(|m| m.parse().ok())
                .unwrap_or(1);
            json_response(allocate(mb))
        }
        _ => json_response(echo(req).await),
    }
}

/// What the component was given: method, path-with-query, scheme, authority,
/// all headers in order (duplicates kept), the body, and which component of the
/// manifest answered (`PROBE_COMPONENT` from its `environment`).
async fn echo(req: IncomingRequest) -> Json {
    let headers: Vec<(String, String)> = req
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
        .collect();
    let scheme = req.scheme().map(|s| match s {
        spin_sdk::http::Scheme::Http => "http".to_owned(),
        spin_sdk::http::Scheme::Https => "https".to_owned(),
        spin_sdk::http::Scheme::Other(other) => other,
    });
    let method = req.method().to_string();
    let path_with_query = req.path_with_query();
    let authority = req.authority();
    let body = read_body(req).await;
    json!({
        "component": std::env::var("PROBE_COMPONENT").ok(),
        "method": method,
        "path_with_query": path_with_query,
        "scheme": scheme,
        "authority": authority,
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    })
}

fn key_value_op(label: &str, op: &str, key: &str, body: Vec<u8>) -> Json {
    let store = match key_value::Store::open(label) {
        Ok(store) => store,
        Err(e) => return key_value_error(e, "open"),
    };
    let result = match op {
        "get" => store
            .get(key)
            .map(|v| json!(v.map(|v| String::from_utf8_lossy(&v).into_owned()))),
        "set" => store.set(key, &body).map(|()| Json::Null),
        "delete" => store.delete(key).map(|()| Json::Null),
        "exists" => store.exists(key).map(Json::Bool),
        "keys" => store.get_keys().map(|keys| json!(keys)),
        other => return json!({ "error": "bad-probe-op", "message": other }),
    };
    match result {
        Ok(value) => json!({ "ok": value }),
        Err(e) => key_value_error(e, op),
    }
}

/// Polls the store until `key` exists; the sleep is a `wasi:clocks` wait, so
/// the host serves other requests meanwhile.
fn wait_for_key(label: &str, key: &str) -> Result<(), key_value::Error> {
    let store = key_value::Store::open(label)?;
    while !store.exists(key)? {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Ok(())
}

fn key_value_error(e: key_value::Error, during: &str) -> Json {
    let (variant, message) = match e {
        key_value::Error::StoreTableFull => ("store-table-full", None),
        key_value::Error::NoSuchStore => ("no-such-store", None),
        key_value::Error::AccessDenied => ("access-denied", None),
        key_value::Error::Other(m) => ("other", Some(m)),
    };
    json!({ "error": variant, "message": message, "during": during })
}

fn sqlite_op(label: &str, body: &[u8]) -> Json {
    let request: Json = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(e) => return json!({ "error": "bad-probe-request", "message": e.to_string() }),
    };
    let connection = match sqlite::Connection::open(label) {
        Ok(connection) => connection,
        Err(e) => return sqlite_error(e, "open"),
    };
    if let Some(batch) = request.get("batch").and_then(Json::as_array) {
        let mut results = Vec::new();
        for statement in batch {
            let result = execute(&connection, statement);
            let failed = result.get("error").is_some();
            results.push(result);
            if failed {
                break;
            }
        }
        return json!({ "results": results });
    }
    execute(&connection, &request)
}

fn execute(connection: &sqlite::Connection, statement: &Json) -> Json {
    let sql = statement
        .get("sql")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let params: Vec<sqlite::Value> = statement
        .get("params")
        .and_then(Json::as_array)
        .map(|params| params.iter().map(to_sqlite_value).collect())
        .unwrap_or_default();
    match connection.execute(sql, &params) {
        Ok(result) => {
            let rows: Vec<Vec<Json>> = result
                .rows
                .iter()
                .map(|row| row.values.iter().map(from_sqlite_value).collect())
                .collect();
            json!({ "columns": result.columns, "rows": rows })
        }
        Err(e) => sqlite_error(e, "execute"),
    }
}

fn to_sqlite_value(value: &Json) -> sqlite::Value {
    match value {
        Json::Null => sqlite::Value::Null,
        Json::Bool(b) => sqlite::Value::Integer(*b as i64),
        Json::Number(n) if n.is_f64() => sqlite::Value::Real(n.as_f64().unwrap_or_default()),
        Json::Number(n) => sqlite::Value::Integer(n.as_i64().unwrap_or_default()),
        Json::String(s) => sqlite::Value::Text(s.clone()),
        Json::Object(o) if o.contains_key("blob") => sqlite::Value::Blob(
            o["blob"]
                .as_array()
                .map(|bytes| {
                    bytes
                        .iter()
                        .map(|b| b.as_u64().unwrap_or(0) as u8)
                        .collect()
                })
                .unwrap_or_default(),
        ),
        other => sqlite::Value::Text(other.to_string()),
    }
}

fn from_sqlite_value(value: &sqlite::Value) -> Json {
    match value {
        sqlite::Value::Integer(i) => json!(i),
        sqlite::Value::Real(r) => json!(r),
        sqlite::Value::Text(s) => json!(s),
        sqlite::Value::Blob(b) => json!({ "blob": b }),
        sqlite::Value::Null => Json::Null,
    }
}

fn sqlite_error(e: sqlite::Error, during: &str) -> Json {
    let (variant, message) = match e {
        sqlite::Error::NoSuchDatabase => ("no-such-database", None),
        sqlite::Error::AccessDenied => ("access-denied", None),
        sqlite::Error::InvalidConnection => ("invalid-connection", None),
        sqlite::Error::DatabaseFull => ("database-full", None),
        sqlite::Error::Io(m) => ("io", Some(m)),
    };
    json!({ "error": variant, "message": message, "during": during })
}

fn variable(name: &str) -> Json {
    match variables::get(name) {
        Ok(value) => json!({ "ok": value }),
        Err(e) => {
            let (variant, message) = match e {
                variables::Error::InvalidName(m) => ("invalid-name", m),
                variables::Error::Undefined(m) => ("undefined", m),
                variables::Error::Provider(m) => ("provider", m),
                variables::Error::Other(m) => ("other", m),
            };
            json!({ "error": variant, "message": message })
        }
    }
}

async fn fetch(query: &[(String, String)], body: Vec<u8>) -> Json {
    let Some(url) = first(query, "url") else {
        return json!({ "error": "bad-probe-request", "message": "missing url" });
    };
    let method = match first(query, "method").unwrap_or("GET") {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "PATCH" => Method::Patch,
        "HEAD" => Method::Head,
        other => Method::Other(other.to_owned()),
    };
    let mut request = Request::builder();
    request.method(method).uri(url).body(body);
    for header in query.iter().filter(|(k, _)| k == "header").map(|(_, v)| v) {
        if let Some((name, value)) = header.split_once(':') {
            request.header(name.trim(), value.trim());
        }
    }
    match spin_sdk::http::send::<_, Response>(request.build()).await {
        Ok(response) => {
            let headers: Vec<(String, String)> = response
                .headers()
                .map(|(name, value)| {
                    (
                        name.to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect();
            json!({
                "status": response.status(),
                "headers": headers,
                "body": String::from_utf8_lossy(response.body()),
            })
        }
        Err(spin_sdk::http::SendError::Http(code)) => {
            json!({ "error": "http", "code": format!("{code:?}"), "message": code.to_string() })
        }
        Err(e) => json!({ "error": "send", "message": e.to_string(), "debug": format!("{e:?}") }),
    }
}

fn hang() -> ! {
    // Tells a waiting test that the guest is now busy.
    eprintln!("probe: hang started");
    let mut counter: u64 = 0;
    loop {
        counter = std::hint::black_box(counter.wrapping_add(1));
    }
}

/// Allocates `mb` MiB and writes to every page, so the memory is really used;
/// an allocation beyond the instance's limit aborts (traps) the component.
fn allocate(mb: usize) -> Json {
    let mut buffer = vec![0u8; mb * 1024 * 1024];
    for i in (0..buffer.len()).step_by(4096) {
        buffer[i] = (i / 4096) as u8;
    }
    let checksum: u64 = buffer.iter().step_by(4096).map(|b| *b as u64).sum();
    json!({ "ok": mb, "checksum": std::hint::black_box(checksum) })
}

async fn read_body(req: IncomingRequest) -> Vec<u8> {
    req.into_body().await.unwrap_or_default()
}

fn json_response(value: Json) -> Response {
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(value.to_string())
        .build()
}

fn split_query(path_with_query: &str) -> (&str, &str) {
    path_with_query
        .split_once('?')
        .unwrap_or((path_with_query, ""))
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn first<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
