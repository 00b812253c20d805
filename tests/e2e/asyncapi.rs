//! The chat API's AsyncAPI document: valid against the official AsyncAPI
//! 3.0.0 JSON Schema (vendored under `tests/asyncapi/`, resolved offline),
//! with an operation per route and event, and message schemas that accept
//! the frames the server and clients really exchange.

use serde_json::{Value, json};

const SPEC: &str = include_str!("../asyncapi/asyncapi-3.0.0.json");

/// A validator of AsyncAPI 3.0.0 documents. The official schema is draft-07
/// and names each of its definitions by an `$id` (`http://asyncapi.com/...`);
/// `jsonschema` indexes those embedded resources, and `offline()` makes any
/// reference they do not cover an error instead of a download.
fn spec_validator() -> jsonschema::Validator {
    let spec: Value = serde_json::from_str(SPEC).expect("the vendored schema is JSON");
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .offline()
        .build(&spec)
        .expect("the official schema compiles, every reference resolved offline")
}

/// Every validation error of `doc`, one line each (cut to 300 characters:
/// the message quotes the whole instance).
fn errors(validator: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|err| {
            let line = format!("{}: {err}", err.instance_path());
            line.chars().take(300).collect()
        })
        .collect()
}

#[test]
fn the_chat_document_is_valid_asyncapi_3() {
    let validator = spec_validator();
    let doc = chat::Chat::asyncapi();
    let errors = errors(&validator, &doc);
    assert!(
        errors.is_empty(),
        "invalid AsyncAPI document:\n{}",
        errors.join("\n")
    );
    assert_eq!(doc["asyncapi"], "3.0.0");
    assert_eq!(doc["info"]["title"], "Chat");
    assert_eq!(doc["info"]["version"], "0.1.0");
    assert_eq!(doc["x-zocket-schema-hash"], chat::Chat::schema_hash());
    let versioned = zocket::schema::asyncapi_with_version(&chat::Chat::schema(), "Chat", "2.1.0");
    assert_eq!(versioned["info"]["version"], "2.1.0");
}

/// A change that makes a document invalid.
type Breakage = fn(&mut Value);

#[test]
fn broken_documents_are_rejected() {
    let validator = spec_validator();
    let breakages: [(&str, Breakage); 5] = [
        ("an AsyncAPI 2 action", |doc| {
            doc["operations"]["call.chat.send"]["action"] = json!("publish");
        }),
        ("another spec version", |doc| {
            doc["asyncapi"] = json!("2.6.0")
        }),
        ("no info.version", |doc| {
            doc["info"].as_object_mut().unwrap().remove("version");
        }),
        ("a ws method other than GET and POST", |doc| {
            doc["channels"]["zocket"]["bindings"]["ws"]["method"] = json!("PUT");
        }),
        ("an unknown message field", |doc| {
            doc["components"]["messages"]["event.chat.message"]["seq"] = json!(1);
        }),
    ];
    for (what, break_it) in breakages {
        let mut doc = chat::Chat::asyncapi();
        break_it(&mut doc);
        assert!(
            !errors(&validator, &doc).is_empty(),
            "a document with {what} was accepted"
        );
    }
}

#[test]
fn every_route_and_event_is_an_operation_with_its_action() {
    let schema = chat::Chat::schema();
    let doc = chat::Chat::asyncapi();
    let operations = doc["operations"].as_object().unwrap();
    let mut expected = Vec::new();
    for (route, def) in schema["routes"].as_object().unwrap() {
        let kind = def["kind"].as_str().unwrap();
        let key = format!("{kind}.{route}");
        let operation = &operations[&key];
        assert_eq!(operation["action"], "send", "{key}");
        assert_eq!(operation["channel"]["$ref"], "#/channels/zocket");
        assert_eq!(operation["title"], route.as_str());
        assert_eq!(operation["description"], def["description"]);
        // A call expects its reply; a message none.
        assert_eq!(operation.get("reply").is_some(), kind == "call", "{key}");
        expected.push(key);
    }
    for event in schema["events"].as_object().unwrap().keys() {
        let key = format!("event.{event}");
        assert_eq!(operations[&key]["action"], "receive", "{key}");
        expected.push(key);
    }
    let mut keys: Vec<&String> = operations.keys().collect();
    keys.sort();
    expected.sort();
    assert_eq!(keys, expected.iter().collect::<Vec<_>>());

    let send = &operations["call.chat.send"];
    assert_eq!(
        send["messages"],
        json!([{ "$ref": "#/channels/zocket/messages/call.chat.send" }])
    );
    assert_eq!(
        send["reply"]["messages"],
        json!([
            { "$ref": "#/channels/zocket/messages/reply.chat.send" },
            { "$ref": "#/channels/zocket/messages/error.chat.send" }
        ])
    );
    let reply = &doc["components"]["messages"]["reply.chat.send"]["payload"];
    assert_eq!(reply["properties"]["type"]["const"], "__rpc_res");
    assert_eq!(
        reply["properties"]["payload"]["$ref"],
        "#/components/schemas/SendAck"
    );
}

#[test]
fn the_headers_are_the_channel_s_websocket_binding() {
    let doc = chat::Chat::asyncapi();
    let channel = &doc["channels"]["zocket"];
    assert_eq!(channel["address"], "{path}");
    assert!(channel["parameters"]["path"].is_object());
    let ws = &channel["bindings"]["ws"];
    assert_eq!(ws["method"], "GET");
    let fields = &chat::Chat::schema()["$defs"]["ChatHeaders"]["properties"];
    for form in ["query", "headers"] {
        assert_eq!(ws[form]["type"], "object", "{form}");
        assert_eq!(&ws[form]["properties"], fields, "{form}");
        assert_eq!(ws[form]["required"], json!(["name"]), "{form}");
    }
}

#[test]
fn every_reference_resolves_inside_the_document() {
    let doc = chat::Chat::asyncapi();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 20, "only {} references", refs.len());
    for target in refs {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{target} is not local"));
        assert!(doc.pointer(pointer).is_some(), "{target} points nowhere");
    }
    // Every channel message is a component, and the reverse.
    let channel: Vec<&String> = doc["channels"]["zocket"]["messages"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    let components: Vec<&String> = doc["components"]["messages"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(channel, components);
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (key, value) in object {
                match (key.as_str(), value) {
                    ("$ref", Value::String(target)) => refs.push(target.clone()),
                    _ => collect_refs(value, refs),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, refs)),
        _ => {}
    }
}

/// A validator of the frames of the message `key`, its references resolved
/// in the document's components.
fn frames_of(doc: &Value, key: &str) -> jsonschema::Validator {
    let schema = json!({
        "$ref": format!("#/components/messages/{key}/payload"),
        "components": doc["components"],
    });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .offline()
        .build(&schema)
        .expect("the message schema compiles")
}

#[test]
fn message_schemas_accept_the_frames_on_the_wire_and_nothing_else() {
    let doc = chat::Chat::asyncapi();
    let cases = [
        (
            "call.chat.send",
            json!({"type": "chat.send", "payload": {"room": "general", "text": "hi"}, "rpcId": "k3j2"}),
            true,
        ),
        (
            "call.chat.send",
            json!({"type": "chat.send", "payload": {"room": "general", "text": "hi"}}),
            false,
        ),
        (
            "call.chat.send",
            json!({"type": "chat.join", "payload": {"room": "general", "text": "hi"}, "rpcId": "1"}),
            false,
        ),
        (
            "call.chat.send",
            json!({"type": "chat.send", "payload": {"room": "general", "text": ""}, "rpcId": "1"}),
            false,
        ),
        // A null input may be left out.
        (
            "call.chat.whoami",
            json!({"type": "chat.whoami", "rpcId": "2"}),
            true,
        ),
        (
            "call.chat.join",
            json!({"type": "chat.join", "rpcId": "3"}),
            false,
        ),
        (
            "reply.chat.send",
            json!({"type": "__rpc_res", "rpcId": "k3j2", "payload": {"id": 17}}),
            true,
        ),
        (
            "reply.chat.send",
            json!({"type": "__rpc_res", "rpcId": "k3j2", "payload": {}}),
            false,
        ),
        (
            "error.chat.send",
            json!({"type": "__rpc_err", "rpcId": "k3j2", "error":
                {"code": "NOT_IN_ROOM", "message": "not in room", "path": null, "data": {"room": "general"}}}),
            true,
        ),
        (
            "error.chat.send",
            json!({"type": "__rpc_err", "rpcId": "k3j2", "error":
                {"code": "VALIDATION", "message": "bad", "path": "text", "data": null}}),
            true,
        ),
        (
            "error.chat.join",
            json!({"type": "__rpc_err", "rpcId": "1", "error": {"code": "VALIDATION"}}),
            false,
        ),
        (
            "event.chat.message",
            json!({"type": "chat.message", "payload":
                {"room": "general", "from": "ada", "text": "hi", "id": 17, "at": 1764633600000u64}, "seq": 4}),
            true,
        ),
        (
            "event.chat.message",
            json!({"type": "chat.message", "payload":
                {"room": "general", "from": "ada", "text": "hi", "id": 17, "at": 1764633600000u64}}),
            false,
        ),
    ];
    for (key, frame, valid) in cases {
        let accepted = frames_of(&doc, key).is_valid(&frame);
        assert_eq!(accepted, valid, "{key} on {frame}");
    }
}

#[test]
fn a_stream_is_a_call_whose_items_are_received_before_its_reply() {
    let doc = jobs::Jobs::asyncapi();
    let errors = errors(&spec_validator(), &doc);
    assert!(
        errors.is_empty(),
        "invalid AsyncAPI document:\n{}",
        errors.join("\n")
    );
    assert_eq!(doc["operations"]["call.jobs.run"]["action"], "send");
    assert_eq!(doc["operations"]["item.jobs.run"]["action"], "receive");
    let items = frames_of(&doc, "item.jobs.run");
    let item = json!({"type": "__item", "rpcId": "s1", "n": 1, "payload": {"kind": "progress", "step": 1, "of": 3}});
    assert!(items.is_valid(&item), "{item}");
    for bad in [
        json!({"type": "__item", "rpcId": "s1", "payload": {"kind": "progress", "step": 1, "of": 3}}),
        json!({"type": "__item", "rpcId": "s1", "n": 0, "payload": {"kind": "progress", "step": 1, "of": 3}}),
        json!({"type": "__item", "rpcId": "s1", "n": 1, "payload": {"kind": "nope"}}),
    ] {
        assert!(!items.is_valid(&bad), "{bad}");
    }
    let error = frames_of(&doc, "error.jobs.run");
    let busy = json!({"type": "__rpc_err", "rpcId": "s1", "error": {"code": "BUSY", "message": "busy", "path": null, "data": {"running": 4}}});
    assert!(error.is_valid(&busy), "{busy}");
}
