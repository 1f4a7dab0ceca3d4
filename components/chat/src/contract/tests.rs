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
    path.replace("{id}", "7")
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
        Resource::Conversations,
        Resource::Conversation(""),
        Resource::Messages(""),
        Resource::Outbox,
        Resource::OutboxFlush,
        Resource::Health,
        Resource::OpenApi,
    ] {
        let name = match route {
            Resource::Conversations => "Conversations",
            Resource::Conversation(_) => "Conversation",
            Resource::Messages(_) => "Messages",
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
    for schema in [
        schemas["UserId"].clone(),
        schemas["NewMessageBody"]["properties"]["sender"].clone(),
        parameter(&doc, "/chat/conversations", "get", "member")["schema"].clone(),
    ] {
        let id = pattern(&schema);
        for sample in USER_ID_SAMPLES.iter().chain(&[&"a".repeat(32) as &str]) {
            assert_eq!(id.is_match(sample), valid_user_id(sample), "{sample:?}");
        }
    }
}

#[test]
fn bodies_match_their_parsers() {
    use crate::conversation::parse_new_conversation;
    use crate::message::parse_new_message;
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let conversation = &schemas["NewConversationBody"];
    assert_eq!(conversation["additionalProperties"], false);
    assert_eq!(conversation["required"], json!(["members"]));
    assert_eq!(
        property_names(conversation),
        BTreeSet::from(["members", "title"])
    );
    let members = &conversation["properties"]["members"];
    assert_eq!(
        (
            &members["minItems"],
            &members["maxItems"],
            &members["uniqueItems"]
        ),
        (&json!(2), &json!(50), &json!(true))
    );
    let title = pattern(&conversation["properties"]["title"]);
    for (text, ok) in [("Lunch", true), ("  ", false), ("a\tb", false), ("", false)] {
        assert_eq!(title.is_match(text), ok, "{text:?}");
        let body = json!({"members": ["a", "b"], "title": text});
        assert_eq!(parse_new_conversation(body).is_ok(), ok, "{text:?}");
    }

    let message = &schemas["NewMessageBody"];
    assert_eq!(message["additionalProperties"], false);
    assert_eq!(message["required"], json!(["sender", "text"]));
    let text = &message["properties"]["text"];
    assert_eq!(
        (&text["minLength"], &text["maxLength"]),
        (&json!(1), &json!(4000))
    );
    assert!(parse_new_message(json!({"sender": "a", "text": "x".repeat(4000)})).is_ok());
    assert!(parse_new_message(json!({"sender": "a", "text": "x".repeat(4001)})).is_err());
}

#[test]
fn idempotency_keys_follow_the_rule() {
    use service_kit::idempotency::parse_key;
    let doc = document();
    let path = "/chat/conversations/{id}/messages";
    let key = pattern(&parameter(&doc, path, "post", "Idempotency-Key")["schema"]);
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
    use service_kit::paging::{decode_cursor, encode_cursor};
    let doc = document();
    let cursor = pattern(&parameter(&doc, "/chat/conversations", "get", "cursor")["schema"]);
    let page_cursor =
        pattern(&doc["components"]["schemas"]["ConversationPage"]["properties"]["next_cursor"]);
    for activity in [0, 1, 255, 1 << 40, i64::MAX] {
        let text = encode_cursor(activity);
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

#[test]
fn message_pages_are_at_most_200() {
    use crate::listing::{parse_message_query, MAX_AFTER, MAX_MESSAGES};
    let doc = document();
    let limit = parameter(&doc, "/chat/conversations/{id}/messages", "get", "limit");
    assert_eq!(limit["schema"]["maximum"], MAX_MESSAGES);
    let after = parameter(&doc, "/chat/conversations/{id}/messages", "get", "after");
    assert_eq!(after["schema"]["maximum"], MAX_AFTER);
    assert!(parse_message_query(&format!("after={MAX_AFTER}")).is_ok());
    assert!(parse_message_query(&format!("after={}", MAX_AFTER + 1)).is_err());
    let id = parameter(&doc, "/chat/conversations/{id}", "get", "id");
    assert_eq!(
        (&id["schema"]["type"], &id["schema"]["minimum"]),
        (&json!("integer"), &json!(1))
    );
}
