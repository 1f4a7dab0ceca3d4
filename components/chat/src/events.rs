//! The events the service publishes (through its outbox), as the event contract defines them.

use serde_json::json;
use service_kit::CloudEvent;

use crate::message::Message;

pub const SOURCE: &str = "/chat";
pub const MESSAGES_TOPIC: &str = "chat.messages";
pub const MESSAGE_SENT: &str = "chat.message.sent";

/// A message was sent: the message as its readers see it.
pub fn message_sent(message: &Message) -> CloudEvent {
    CloudEvent::new(
        SOURCE,
        MESSAGE_SENT,
        Some(format!(
            "conversations/{}/messages/{}",
            message.conversation_id, message.seq
        )),
        json!({ "message": message.view() }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_message_event_carries_the_message() {
        let message = Message {
            conversation_id: 3,
            seq: 7,
            sender: "ada".into(),
            text: "hi".into(),
            sent_at: 10,
        };
        let event = message_sent(&message);
        assert!(event.validate().is_ok());
        assert_eq!(
            (event.source.as_str(), event.event_type.as_str()),
            (SOURCE, MESSAGE_SENT)
        );
        assert_eq!(event.subject.as_deref(), Some("conversations/3/messages/7"));
        let data = event.data.unwrap();
        assert_eq!(data["message"]["seq"], 7);
        assert_eq!(data["message"]["conversation_id"], 3);
        assert_eq!(data["message"]["text"], "hi");
        assert_eq!(data["message"]["sent_at"], "1970-01-01T00:00:00.01Z");
    }
}
