//! The generated document held to the code: routes, methods and patterns.

use super::*;
use crate::route::{resource, Resource};
use regex::Regex;
use serde_json::{json, Value};
use service_kit::contract::{assert_served_as_documented, parameter, property_names};
use std::collections::BTreeSet;

fn document() -> Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap()
}

#[test]
fn the_embedded_document_is_the_generated_one() {
    service_kit::assert_embedded_document!(DOCUMENT, &ApiDoc::openapi());
}

/// A concrete request path for a templated one.
fn concrete(path: &str) -> String {
    path.replace("{id}", "ada")
        .replace("{other}", "bob")
        .replace("{post}", "7")
}

#[test]
fn the_document_passes_the_shared_checks() {
    service_kit::assert_document!(&document());
}

#[test]
fn every_documented_operation_is_served_and_every_served_one_documented() {
    let documented = assert_served_as_documented(&document(), |path| {
        let concrete = concrete(path);
        let resource = resource(&concrete).unwrap_or_else(|err| panic!("{path}: {err:?}"));
        (
            format!("{resource:?}"),
            resource.allowed_methods().to_owned(),
        )
    });
    // Every route of the table is in the document (the match makes a new one fail to compile
    // here until it is listed).
    for route in [
        Resource::User(""),
        Resource::Following("", ""),
        Resource::Posts(""),
        Resource::Post("", ""),
        Resource::Timeline(""),
        Resource::Outbox,
        Resource::OutboxFlush,
        Resource::Health,
        Resource::OpenApi,
    ] {
        let name = match route {
            Resource::User(_) => "User",
            Resource::Following(..) => "Following",
            Resource::Posts(_) => "Posts",
            Resource::Post(..) => "Post",
            Resource::Timeline(_) => "Timeline",
            Resource::Outbox => "Outbox",
            Resource::OutboxFlush => "OutboxFlush",
            Resource::Health => "Health",
            Resource::OpenApi => "OpenApi",
        };
        assert!(documented.contains(name), "{name} is not documented");
    }
}

fn pattern(schema: &Value) -> Regex {
    Regex::new(schema["pattern"].as_str().expect("a pattern")).unwrap()
}

const USER_ID_SAMPLES: [&str; 10] = [
    "a",
    "ada",
    "u_1-x",
    "0",
    "",
    "Ada",
    "a b",
    "a,b",
    "ü",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
];

#[test]
fn user_id_patterns_agree_with_the_validator() {
    use service_kit::ids::is_user_id as valid_user_id;
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let mut checked = vec![
        schemas["UserView"]["properties"]["id"].clone(),
        schemas["PostView"]["properties"]["author"].clone(),
        schemas["FollowView"]["properties"]["user"].clone(),
        schemas["FollowView"]["properties"]["following"].clone(),
    ];
    let following = "/feed/users/{id}/following/{other}";
    for (path, method, name) in [
        ("/feed/users/{id}", "get", "id"),
        (following, "put", "id"),
        (following, "put", "other"),
        (following, "delete", "other"),
        ("/feed/users/{id}/posts", "post", "id"),
        ("/feed/users/{id}/posts", "get", "id"),
        ("/feed/users/{id}/timeline", "get", "id"),
    ] {
        checked.push(parameter(&doc, path, method, name)["schema"].clone());
    }
    for schema in checked {
        let id = pattern(&schema);
        for sample in USER_ID_SAMPLES.iter().chain(&[&"a".repeat(32) as &str]) {
            assert_eq!(id.is_match(sample), valid_user_id(sample), "{sample:?}");
        }
    }
}

#[test]
fn the_post_body_matches_its_parser() {
    use crate::post::parse_new_post;
    let doc = document();
    let body = &doc["components"]["schemas"]["NewPostBody"];
    assert_eq!(body["additionalProperties"], false);
    assert_eq!(body["required"], json!(["text"]));
    assert_eq!(property_names(body), BTreeSet::from(["text"]));
    let text = &body["properties"]["text"];
    assert_eq!(
        (&text["minLength"], &text["maxLength"]),
        (&json!(1), &json!(2000))
    );
    assert!(parse_new_post(json!({"text": "x".repeat(2000)})).is_ok());
    assert!(parse_new_post(json!({"text": "x".repeat(2001)})).is_err());
}

#[test]
fn idempotency_keys_follow_the_rule() {
    use service_kit::idempotency::parse_key;
    let doc = document();
    let key =
        pattern(&parameter(&doc, "/feed/users/{id}/posts", "post", "Idempotency-Key")["schema"]);
    for sample in ["k", "retry-1", "a b", &"k".repeat(255)] {
        assert!(
            key.is_match(sample) && parse_key(sample).is_ok(),
            "{sample:?}"
        );
    }
    for sample in ["", &"k".repeat(256), "k\u{1}", "ключ"] {
        assert!(
            !key.is_match(sample) && parse_key(sample).is_err(),
            "{sample:?}"
        );
    }
}

#[test]
fn cursors_the_service_gives_out_match_and_matching_cursors_decode() {
    use crate::listing::MAX_POSTS;
    use service_kit::paging::{decode_cursor, encode_cursor};
    let doc = document();
    let page_cursor =
        pattern(&doc["components"]["schemas"]["PostPage"]["properties"]["next_cursor"]);
    for path in ["/feed/users/{id}/posts", "/feed/users/{id}/timeline"] {
        let cursor = pattern(&parameter(&doc, path, "get", "cursor")["schema"]);
        let limit = parameter(&doc, path, "get", "limit");
        assert_eq!(limit["schema"]["maximum"], MAX_POSTS);
        for id in [0, 1, 255, 1 << 40, i64::MAX] {
            let text = encode_cursor(id);
            assert!(
                cursor.is_match(&text) && page_cursor.is_match(&text),
                "{text}"
            );
        }
        for sample in [
            "c0000000000000000",
            "c7fffffffffffffff",
            "c8000000000000000",
            "cffffffffffffffff",
            "c00",
            "x0000000000000000",
            "c000000000000000G",
        ] {
            assert_eq!(
                cursor.is_match(sample),
                decode_cursor(sample).is_ok(),
                "{sample}"
            );
        }
    }
}

#[test]
fn post_ids_in_paths_are_positive_integers() {
    let doc = document();
    let post = parameter(&doc, "/feed/users/{id}/posts/{post}", "get", "post");
    assert_eq!(
        (&post["schema"]["type"], &post["schema"]["minimum"]),
        (&json!("integer"), &json!(1))
    );
}
