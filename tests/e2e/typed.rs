//! A macro-generated server and its macro-generated typed client, together
//! in one process over the test kit's in-memory transport (the chat app's
//! page and socket routes, served as axum serves them).

use chat::{ChatClient, ChatHeaders, RoomInput, SendInput};
use futures_util::StreamExt;
use zocket::testing::TestServer;
use zocket_tests::within;

const URL: &str = "ws://zocket.test/ws";

fn chat_server() -> TestServer<chat::Member> {
    let (app, handle) = chat::app();
    TestServer::with_app(app, handle)
}

async fn connect(test: &TestServer<chat::Member>, name: &str) -> ChatClient {
    let client = within(
        "connect",
        test.client()
            .connect(URL, &ChatHeaders { name: name.into() }),
    )
    .await
    .expect("connected");
    ChatClient::from_client(client)
}

#[tokio::test]
async fn the_typed_client_calls_every_route_and_streams_events() {
    let test = chat_server();
    let ada = connect(&test, "ada").await;
    let bob = connect(&test, "bob").await;
    let mut ada_messages = ada.on_message();
    let mut bob_messages = bob.on_message();

    let room = RoomInput {
        room: "general".into(),
    };
    within("join", ada.join(&room)).await.expect("joined");
    within("join", bob.join(&room)).await.expect("joined");
    let me = within("whoami", ada.whoami()).await.expect("whoami");
    assert_eq!(
        (me.name.as_str(), me.rooms.as_slice()),
        ("ada", ["general".to_owned()].as_slice())
    );
    assert_eq!(me.client_id, ada.client().ready().client_id);

    let ack = within(
        "send",
        ada.send(&SendInput {
            room: "general".into(),
            text: "hi".into(),
        }),
    )
    .await
    .expect("sent");
    for stream in [&mut ada_messages, &mut bob_messages] {
        let event = within("the event", stream.next())
            .await
            .expect("open")
            .expect("decoded");
        assert_eq!(
            (
                event.room.as_str(),
                event.from.as_str(),
                event.text.as_str(),
                event.id
            ),
            ("general", "ada", "hi", ack.id)
        );
    }

    // Server errors arrive typed, with their code and path.
    let err = within(
        "send",
        ada.send(&SendInput {
            room: "general".into(),
            text: String::new(),
        }),
    )
    .await
    .expect_err("empty text is refused");
    assert_eq!((err.code(), err.path()), (Some("VALIDATION"), Some("text")));
    within("leave", bob.leave(&room)).await.expect("left");
    let err = within(
        "send",
        bob.send(&SendInput {
            room: "general".into(),
            text: "hi".into(),
        }),
    )
    .await
    .expect_err("not in the room");
    assert_eq!(err.code(), Some("NOT_IN_ROOM"));
    // Decoded as the call's own error type.
    match err {
        zocket::client::CallError::App(chat::SendError::NotInRoom { room }, object) => {
            assert_eq!(room, "general");
            assert_eq!(object.message(), "not in room general");
        }
        other => panic!("expected the decoded SendError, got {other:?}"),
    }

    ada.close().await;
    bob.close().await;
}

#[tokio::test]
async fn a_refused_handshake_reports_the_header_issues() {
    let test = chat_server();
    let err = test
        .client()
        .connect(
            URL,
            &ChatHeaders {
                name: String::new(),
            },
        )
        .await
        .expect_err("an empty name is refused");
    match err {
        zocket::client::ConnectError::Refused(refusal) => {
            assert_eq!(refusal.status, 400);
            assert_eq!(refusal.code.as_deref(), Some("INVALID_HEADERS"));
            assert_eq!(refusal.issues[0].path, "name");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn headers_travel_as_http_headers_with_their_utf8_values() {
    let test = chat_server();
    let zoe = connect(&test, "Zoë Ångström").await;
    let me = within("whoami", zoe.whoami()).await.expect("whoami");
    assert_eq!(me.name, "Zoë Ångström");
}

#[tokio::test]
async fn ready_carries_the_schema_hash_and_a_differing_one_can_be_refused() {
    use zocket::client::{ConnectError, SchemaCheck};
    let headers = ChatHeaders { name: "ada".into() };
    let test = chat_server();
    let client = test
        .client()
        .expect_schema(chat::Chat::schema_hash(), SchemaCheck::Refuse)
        .connect(URL, &headers)
        .await
        .expect("the same definition");
    assert_eq!(client.ready().schema_hash, Some(chat::Chat::schema_hash()));

    // A server built from another version of the definition.
    let older = chat::Chat::server(chat::ChatApp::default())
        .schema_hash("0123456789abcdef")
        .build()
        .expect("valid");
    let test = TestServer::new(older);
    let err = test
        .client()
        .expect_schema(chat::Chat::schema_hash(), SchemaCheck::Refuse)
        .connect(zocket::testing::URL, &headers)
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, ConnectError::SchemaMismatch { server, client } if server == "0123456789abcdef" && *client == chat::Chat::schema_hash()),
        "{err}"
    );
    // Warning only: it connects.
    let warned = test
        .client()
        .expect_schema(chat::Chat::schema_hash(), SchemaCheck::Warn)
        .connect(zocket::testing::URL, &headers)
        .await;
    assert!(warned.is_ok());
}

#[tokio::test]
async fn a_typed_client_handle_can_carry_its_own_timeout() {
    let test = chat_server();
    let ada = connect(&test, "ada").await;
    let quick = ada.with_timeout(std::time::Duration::from_millis(1500));
    assert_eq!(
        quick.client().timeout(),
        std::time::Duration::from_millis(1500)
    );
    let me = within("whoami", quick.whoami())
        .await
        .expect("answered in time");
    assert_eq!(me.name, "ada");
    assert_eq!(ada.client().timeout(), std::time::Duration::from_secs(30));
}
