//! The chat API's schema, pinned: a change to any route, event or type
//! shows up here. Regenerate with `UPDATE_SNAPSHOTS=1 cargo test -p zocket-tests -- schema`.

use serde_json::Value;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/chat.schema.json");

#[test]
fn the_chat_schema_matches_its_snapshot() {
    let schema = chat::Chat::schema();
    let pretty = serde_json::to_string_pretty(&schema).expect("serializable") + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(SNAPSHOT, &pretty).expect("write the snapshot");
    }
    let pinned: Value =
        serde_json::from_str(&std::fs::read_to_string(SNAPSHOT).expect("the snapshot exists"))
            .expect("the snapshot is JSON");
    assert_eq!(
        schema, pinned,
        "the chat schema changed: review it, then regenerate the snapshot"
    );
    // The hash in `__ready` is the hash of exactly this document.
    assert_eq!(
        zocket::protocol::schema_hash(&pinned),
        chat::Chat::schema_hash()
    );
}

#[test]
fn the_schema_describes_every_route_and_event() {
    let schema = chat::Chat::schema();
    let routes: Vec<&String> = schema["routes"].as_object().unwrap().keys().collect();
    assert_eq!(
        routes,
        ["chat.join", "chat.leave", "chat.send", "chat.whoami"]
    );
    for route in routes {
        assert_eq!(schema["routes"][route]["kind"], "call");
        assert!(schema["routes"][route]["input"].is_object());
        // A call whose error type has a schema declares its codes.
        let error = match route.as_str() {
            "chat.send" => "#/$defs/SendError",
            _ => "#/$defs/RpcError",
        };
        assert_eq!(schema["routes"][route]["error"]["$ref"], error, "{route}");
    }
    let codes: Vec<&str> = schema["$defs"]["SendError"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|variant| variant["properties"]["code"]["const"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["NOT_IN_ROOM", "INTERNAL"]);
    assert_eq!(
        schema["routes"]["chat.send"]["output"]["$ref"],
        "#/$defs/SendAck"
    );
    assert_eq!(
        schema["events"]["chat.message"]["payload"]["$ref"],
        "#/$defs/ChatMessage"
    );
    assert_eq!(schema["headers"]["$ref"], "#/$defs/ChatHeaders");
    assert_eq!(
        schema["$defs"]["ChatHeaders"]["properties"]["name"]["maxLength"],
        32
    );
    assert_eq!(schema["protocolVersion"], 1);
}
