//! A parent in the host's dependency tests whose import has a plain name:
//! `helper`, an instance with `shout`, filled by a dependency keyed `helper`.
//!
//! `GET /shout/{text}` answers what the imported `shout` returns.

wit_bindgen::generate!({ world: "plain-parent", path: "../deps-library/wit" });

use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(req: IncomingRequest) -> Response {
    let path = req.path_with_query().unwrap_or_default();
    match path.strip_prefix("/shout/") {
        Some(text) => Response::new(200, helper::shout(text)),
        None => Response::new(404, "try /shout/{text}"),
    }
}
