//! `/admin/keys`: creating, listing, reading and revoking API keys, for holders of the
//! `admin_token` variable only.

use serde_json::json;
use service_kit::clock::now_rfc3339;
use service_kit::request::parse_json;
use service_kit::ApiError;

use crate::access::Credential;
use crate::config::{admin_token, Settings};
use crate::keys::{self, secrets_match, NewKey};
use crate::keystore::KeyStore;
use crate::reply::{method_not_allowed, Refused, Reply};
use crate::route::Route;

/// Largest admin request body: a key request is a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Refuses the call unless it carries `Authorization: Bearer <admin_token>`.
pub fn authorize(authorization: Option<&str>) -> Result<(), Refused> {
    let challenge = |message: &str| {
        Refused(
            Reply::error(ApiError::new(401, message))
                .with_header("www-authenticate", "Bearer realm=\"admin\""),
        )
    };
    match Credential::from_headers(authorization, None) {
        Credential::Token(token) if secrets_match(&token, &admin_token()?) => Ok(()),
        Credential::Token(_) => Err(challenge("the admin token is wrong")),
        _ => Err(challenge(
            "admin calls need Authorization: Bearer <admin_token>",
        )),
    }
}

/// Serves an authorized admin call.
pub fn serve(
    route: &Route,
    method: &str,
    content_type: Option<&str>,
    body: &[u8],
    settings: &Settings,
) -> Result<Reply, Refused> {
    if let Route::Key(id) = route {
        if !keys::is_key_id(id) {
            return Err(
                ApiError::not_found("no such key: key ids look like key_0123456789abcdef").into(),
            );
        }
    }
    let store = KeyStore::open()?;
    match (route, method) {
        (Route::Keys, "POST") => {
            let new_key: NewKey = parse_json(content_type, body)?;
            let minted = new_key
                .mint(&settings.services, now_rfc3339())
                .map_err(ApiError::bad_request)?;
            store.create(&minted.record)?;
            let record = &minted.record;
            let mut shown = serde_json::to_value(record.view()).unwrap_or_default();
            shown["key"] = json!(minted.secret);
            Ok(Reply::json(201, &shown)
                .with_header("location", &format!("/admin/keys/{}", record.id)))
        }
        (Route::Keys, "GET" | "HEAD") => {
            let records = store.list()?;
            let keys: Vec<_> = records.iter().map(|record| record.view()).collect();
            Ok(Reply::json(200, &json!({ "keys": keys })))
        }
        (Route::Keys, _) => Err(method_not_allowed(method, "GET, HEAD, POST")),
        (Route::Key(id), "GET" | "HEAD") => match store.get(id)? {
            Some(record) => Ok(Reply::json(200, &record.view())),
            None => Err(no_such_key(id)),
        },
        (Route::Key(id), "DELETE") => match store.revoke(id)? {
            true => Ok(Reply::empty(204)),
            false => Err(no_such_key(id)),
        },
        (Route::Key(_), _) => Err(method_not_allowed(method, "GET, HEAD, DELETE")),
        _ => Err(ApiError::not_found("no such admin resource").into()),
    }
}

fn no_such_key(id: &str) -> Refused {
    ApiError::not_found(format!("no key {id:?}")).into()
}
