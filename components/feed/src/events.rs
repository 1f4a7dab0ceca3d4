//! The events the service publishes (through its outbox), as the event contract defines them.

use serde_json::json;
use service_kit::CloudEvent;

use crate::post::Post;

pub const SOURCE: &str = "/feed";
pub const POSTS_TOPIC: &str = "feed.posts";
pub const POST_CREATED: &str = "feed.post.created";

/// A post was published: the post as its readers see it.
pub fn post_created(post: &Post) -> CloudEvent {
    CloudEvent::new(
        SOURCE,
        POST_CREATED,
        Some(format!("users/{}/posts/{}", post.author, post.id)),
        json!({ "post": post.view() }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_post_event_carries_the_post() {
        let post = Post {
            id: 7,
            author: "ada".into(),
            text: "hi".into(),
            created_at: 10,
        };
        let event = post_created(&post);
        assert!(event.validate().is_ok());
        assert_eq!(
            (event.source.as_str(), event.event_type.as_str()),
            (SOURCE, POST_CREATED)
        );
        assert_eq!(event.subject.as_deref(), Some("users/ada/posts/7"));
        let data = event.data.unwrap();
        assert_eq!(data["post"]["id"], 7);
        assert_eq!(data["post"]["author"], "ada");
        assert_eq!(data["post"]["text"], "hi");
        assert_eq!(data["post"]["created_at"], "1970-01-01T00:00:00.01Z");
    }
}
