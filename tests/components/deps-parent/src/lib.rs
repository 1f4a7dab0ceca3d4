//! The parent in the host's dependency tests: an HTTP component that imports
//! `test:deps/greeter`, which only a component dependency can provide.
//!
//! `GET /greet/{name}` answers the greeting the imported `greet` returns.

wit_bindgen::generate!({ world: "parent", path: "../deps-library/wit" });

use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;
use test::deps::greeter;

#[http_component]
fn handle(req: IncomingRequest) -> Response {
    let path = req.path_with_query().unwrap_or_default();
    match path.strip_prefix("/greet/") {
        Some(name) => Response::new(200, greeter::greet(name)),
        None => Response::new(404, "try /greet/{name}"),
    }
}
