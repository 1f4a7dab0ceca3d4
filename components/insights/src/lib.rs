//! The `insights` service (skeleton: every path is 404 until it is built).

use service_kit::api::{respond, ApiError};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

#[http_component]
async fn handle_insights(request: IncomingRequest) -> Response {
    let (path, _) = service_kit::request::path_and_query(&request);
    respond("insights", Err(ApiError::not_found(format!("no such resource: {path}"))))
}
