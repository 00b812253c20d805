//! The chat's handlers called directly, with zocket's test kit: no server,
//! no socket, a real `Ctx` for each connection.

use chat::{Chat, ChatApp, ChatMessage, ChatServer, Member, RoomInput, SendInput};
use zocket::ErrorCode;
use zocket::testing::TestHub;

fn member(name: &str) -> Member {
    Member { name: name.into() }
}

fn room(name: &str) -> RoomInput {
    RoomInput { room: name.into() }
}

#[tokio::test]
async fn a_message_reaches_every_member_of_its_room_and_no_one_else() {
    let app = ChatApp::default();
    let hub = TestHub::new();
    let ada = hub.connect(member("ada"));
    let bob = hub.connect(member("bob"));
    let eve = hub.connect(member("eve"));
    app.join(ada.ctx(), room("general")).await.unwrap();
    app.join(bob.ctx(), room("general")).await.unwrap();
    app.join(eve.ctx(), room("random")).await.unwrap();

    let input = SendInput {
        room: "general".into(),
        text: "hi".into(),
    };
    let ack = app.send(ada.ctx(), input).await.expect("sent");

    for member in [&ada, &bob] {
        let events = member.events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].name, Chat::MESSAGE.name());
        let message: ChatMessage = events[0].payload_as().expect("a chat message");
        assert_eq!(
            (message.from.as_str(), message.text.as_str(), message.id),
            ("ada", "hi", ack.id)
        );
    }
    assert!(eve.events().is_empty(), "not in the room");
}

#[tokio::test]
async fn sending_to_a_room_one_is_not_in_fails_with_not_in_room() {
    let app = ChatApp::default();
    let hub = TestHub::new();
    let eve = hub.connect(member("eve"));
    let input = SendInput {
        room: "general".into(),
        text: "hi".into(),
    };
    let err = app.send(eve.ctx(), input).await.expect_err("not a member");
    let err = zocket::RpcError::from(err);
    assert_eq!(err.code(), &ErrorCode::new("NOT_IN_ROOM"));
    assert_eq!(err.data().map(|d| d.get()), Some(r#"{"room":"general"}"#));
}

#[tokio::test]
async fn whoami_reports_the_context_and_the_rooms() {
    let app = ChatApp::default();
    let hub = TestHub::new();
    let ada = hub.connect_as("c0ffee", member("ada"));
    ada.join("b").unwrap();
    ada.join("a").unwrap();
    let me = app.whoami(ada.ctx()).await;
    assert_eq!(me.client_id, "c0ffee");
    assert_eq!(me.name, "ada");
    assert_eq!(me.rooms, ["a", "b"]);
}
