//! The AsyncAPI 3.0.0 document of an API, generated from its schema, for
//! the tools that read AsyncAPI (documentation, code generators, linters).
//!
//! The layout:
//!
//! - **One channel**, `zocket`: the WebSocket itself. Its address is
//!   `{path}`, a parameter, since where the route is mounted (`/ws` in the
//!   chat example) is the application's choice. The handshake headers are
//!   its `ws` binding: the header type's object schema as `query` and as
//!   `headers`; the channel's description names the third form, the
//!   `zocket.headers.<base64url JSON>` subprotocol entry.
//! - **One operation per route and per event**, keyed by role and name:
//!   `call.<route>` (`send`, with a `reply` listing `reply.<route>` and
//!   `error.<route>`), `message.<route>` (`send`, no reply) and
//!   `event.<event>` (`receive`). Routes and events may share a name; the
//!   prefixes keep them apart.
//! - **One message per frame** under `components.messages`, under the
//!   same keys: a call's or message's client frame, a call's `__rpc_res`
//!   and `__rpc_err` replies, an event's frame. Each message's `payload`
//!   is the schema of the whole frame (`type`, `payload`, `rpcId`, `seq`,
//!   `error`), and the channel lists every message by reference.
//! - **`components.schemas`** is the schema's `$defs`, with `#/$defs/X`
//!   references rewritten to `#/components/schemas/X` and tuples
//!   (`prefixItems`) written as draft-07 reads them (`items` arrays):
//!   AsyncAPI's schema format is a superset of JSON Schema draft-07.
//!
//! The protocol's own frames (`__ready`, `__error`, `__ping`, `__pong`)
//! belong to every API and are left out; `docs/protocol.md` has them.

use serde_json::{Map, Value, json};

/// The version of the AsyncAPI specification the documents follow.
const SPEC_VERSION: &str = "3.0.0";
/// `info.version` when the caller gives none.
const DEFAULT_VERSION: &str = "0.1.0";
/// The key of the one channel: the WebSocket.
const CHANNEL: &str = "zocket";

/// The AsyncAPI 3.0.0 document of the API `name` (the definition's name,
/// `Chat`) whose schema `Chat::schema()` gives, with `info.version`
/// `0.1.0`. `Chat::asyncapi()` calls this; see
/// [`asyncapi_with_version`] to set the version.
///
/// ```
/// let schema = serde_json::json!({
///     "protocolVersion": 1,
///     "headers": { "type": "object", "properties": {} },
///     "routes": {
///         "ping": { "kind": "call", "input": { "type": "null" }, "output": { "type": "string" } }
///     },
///     "events": {},
///     "$defs": {}
/// });
/// let doc = zocket::schema::asyncapi(&schema, "Pinger");
/// assert_eq!(doc["asyncapi"], "3.0.0");
/// assert_eq!(doc["operations"]["call.ping"]["action"], "send");
/// ```
pub fn asyncapi(schema: &Value, name: &str) -> Value {
    asyncapi_with_version(schema, name, DEFAULT_VERSION)
}

/// [`asyncapi`], with `version` (the API's own version, not zocket's) as
/// `info.version`.
pub fn asyncapi_with_version(schema: &Value, name: &str, version: &str) -> Value {
    let mut doc = Document::new(schema);
    for (route, def) in entries(schema.get("routes")) {
        match def.get("kind").and_then(Value::as_str) {
            Some("message") => doc.message(route, def),
            Some("stream") => {
                doc.call(route, def);
                doc.items(route, def);
            }
            _ => doc.call(route, def),
        }
    }
    for (event, def) in entries(schema.get("events")) {
        doc.event(event, def);
    }
    doc.finish(name, version)
}

/// The document as it is assembled: messages and operations by key.
struct Document<'a> {
    schema: &'a Value,
    messages: Map<String, Value>,
    operations: Map<String, Value>,
}

impl<'a> Document<'a> {
    fn new(schema: &'a Value) -> Self {
        Self {
            schema,
            messages: Map::new(),
            operations: Map::new(),
        }
    }

    /// A call: its frame, both replies, and a `send` operation with a reply.
    fn call(&mut self, route: &str, def: &Value) {
        let key = format!("call.{route}");
        let input = payload_schema(def.get("input"));
        let mut frame = frame(route, &input, docs(def));
        frame.properties.insert(
            "rpcId".into(),
            json!({
                "type": "string",
                "description": "Any string of at most 128 bytes, unique within the session: \
                                the reply carries it back."
            }),
        );
        frame.required.push("rpcId");
        self.add_message(&key, format!("`{route}` call"), docs(def), frame, true);

        let reply = format!("reply.{route}");
        let output = payload_schema(def.get("output"));
        let mut ok = frame_of("__rpc_res", "The successful reply of a call.");
        ok.rpc_id();
        ok.field("payload", output);
        self.add_message(
            &reply,
            format!("`{route}` reply"),
            format!("The successful reply of `{route}`: `payload` is its output."),
            ok,
            true,
        );

        let error = format!("error.{route}");
        let mut err = frame_of("__rpc_err", "The error reply of a call.");
        err.rpc_id();
        err.field("error", error_schema(def.get("error")));
        self.add_message(
            &error,
            format!("`{route}` error"),
            format!(
                "The error reply of `{route}`: the handler's error, or the protocol's \
                 (`VALIDATION`, `TIMEOUT`, `RATE_LIMITED`, ...)."
            ),
            err,
            true,
        );

        let mut operation = operation("send", route, def, &key);
        operation.insert(
            "reply".into(),
            json!({
                "channel": { "$ref": format!("#/channels/{CHANNEL}") },
                "messages": [channel_message(&reply), channel_message(&error)],
            }),
        );
        self.operations.insert(key, Value::Object(operation));
    }

    /// A message: its frame (no `rpcId`) and a `send` operation.
    fn message(&mut self, route: &str, def: &Value) {
        let key = format!("message.{route}");
        let input = payload_schema(def.get("input"));
        let frame = frame(route, &input, docs(def));
        self.add_message(&key, format!("`{route}` message"), docs(def), frame, false);
        let operation = operation("send", route, def, &key);
        self.operations.insert(key, Value::Object(operation));
    }

    /// An event: its frame with `seq`, and a `receive` operation.
    fn event(&mut self, event: &str, def: &Value) {
        let key = format!("event.{event}");
        let payload = payload_schema(def.get("payload"));
        let mut frame = frame_of(event, &docs(def));
        frame.field("payload", payload);
        match def.get("whenFull").and_then(Value::as_str) {
            // Ephemeral: dropped for a client that falls behind, never
            // numbered nor replayed.
            Some(policy) => {
                frame.properties.insert(
                    "dropped".into(),
                    json!({
                        "type": "integer",
                        "minimum": 1,
                        "description": format!(
                            "How many events of this kind the server dropped for this client \
                             since the last one it delivered (`when_full = \"{policy}\"`); \
                             absent when none were."
                        )
                    }),
                );
            }
            None => frame.field(
                "seq",
                json!({
                    "type": "integer",
                    "minimum": 1,
                    "description": "Counts the session's events from 1, without gaps; a resuming \
                                    client sends the last one it received."
                }),
            ),
        }
        self.add_message(&key, format!("`{event}` event"), docs(def), frame, false);
        let operation = operation("receive", event, def, &key);
        self.operations.insert(key, Value::Object(operation));
    }

    /// A stream's items: the `__item` frame and a `receive` operation (the
    /// stream opens as a call, whose reply ends it).
    fn items(&mut self, route: &str, def: &Value) {
        let key = format!("item.{route}");
        let mut frame = frame_of("__item", "An item of a stream.");
        frame.rpc_id();
        frame.field(
            "n",
            json!({
                "type": "integer",
                "minimum": 1,
                "description": "Numbers the stream's items from 1, without gaps."
            }),
        );
        frame.field("payload", payload_schema(def.get("item")));
        self.add_message(
            &key,
            format!("`{route}` item"),
            format!(
                "An item of the stream `{route}`, sent within the credit the client grants \
                 (`__credit`); the call's reply ends the stream."
            ),
            frame,
            true,
        );
        let operation = operation("receive", route, def, &key);
        self.operations.insert(key, Value::Object(operation));
    }

    /// Registers a message under `key`: its frame schema as payload, and
    /// `rpcId` as correlation id when it has one.
    fn add_message(&mut self, key: &str, title: String, docs: String, frame: Frame, rpc: bool) {
        let mut message = Map::new();
        message.insert("name".into(), json!(key));
        message.insert("title".into(), json!(title));
        if !docs.is_empty() {
            message.insert("description".into(), json!(docs));
        }
        message.insert("contentType".into(), json!("application/json"));
        message.insert("payload".into(), frame.schema());
        if rpc {
            message.insert(
                "correlationId".into(),
                json!({
                    "description": "A call and its reply carry the same `rpcId`.",
                    "location": "$message.payload#/rpcId"
                }),
            );
        }
        self.messages.insert(key.into(), Value::Object(message));
    }

    /// The channel: the WebSocket, its path parameter, every message, and
    /// the handshake headers as its `ws` binding.
    fn channel(&self, name: &str) -> Value {
        let messages: Map<String, Value> = self
            .messages
            .keys()
            .map(|key| {
                let target = format!("#/components/messages/{}", pointer(key));
                (key.clone(), json!({ "$ref": target }))
            })
            .collect();
        let mut ws = Map::new();
        ws.insert("method".into(), json!("GET"));
        if let Some(headers) = self.headers() {
            let mut query = headers.clone();
            query.insert(
                "description".into(),
                json!("The header fields as URL query parameters, by their exact names."),
            );
            let mut http = headers;
            http.insert(
                "description".into(),
                json!(
                    "The header fields as HTTP headers, matched case-insensitively and \
                     ignoring `-` and `_`; they win over the other forms."
                ),
            );
            ws.insert("query".into(), Value::Object(query));
            ws.insert("headers".into(), Value::Object(http));
        }
        ws.insert("bindingVersion".into(), json!("0.1.0"));
        json!({
            "address": "{path}",
            "title": format!("The `{name}` WebSocket"),
            "description": "The one WebSocket connection: every frame is a text frame holding \
                one JSON object. The upgrade request carries the header fields (see the `ws` \
                binding) as HTTP headers, query parameters, or (browsers) a subprotocol entry \
                `zocket.headers.<fields>`, `<fields>` being the JSON object of the fields in \
                unpadded base64url, beside `zocket.v1`; a refusal is an HTTP error response \
                before the upgrade.",
            "parameters": {
                "path": {
                    "description": "The path the application mounts its zocket route at \
                                    (`/ws` in the chat example).",
                    "examples": ["/ws"]
                }
            },
            "messages": messages,
            "bindings": { "ws": ws },
        })
    }

    /// The header type's object schema, when it has any field.
    fn headers(&self) -> Option<Map<String, Value>> {
        let headers = self.schema.get("headers")?;
        let resolved = match headers.get("$ref").and_then(Value::as_str) {
            Some(target) => definition(self.schema, target)?,
            None => headers,
        };
        match rewrite(resolved) {
            Value::Object(object)
                if object
                    .get("properties")
                    .and_then(Value::as_object)
                    .is_some_and(|fields| !fields.is_empty()) =>
            {
                Some(object)
            }
            _ => None,
        }
    }

    fn finish(self, name: &str, version: &str) -> Value {
        let schemas: Map<String, Value> = entries(self.schema.get("$defs"))
            .map(|(key, def)| (key.to_owned(), rewrite(def)))
            .collect();
        let protocol = self
            .schema
            .get("protocolVersion")
            .cloned()
            .unwrap_or(json!(1));
        let description = format!(
            "The `{name}` API over the zocket WebSocket protocol, version {protocol}, generated \
             from its Rust definition.\n\n\
             A client sends `{{\"type\": route, \"payload\": input, \"rpcId\": id}}`: with an \
             `rpcId` the frame is a call and gets exactly one reply, \
             `{{\"type\": \"__rpc_res\", \"rpcId\", \"payload\": output}}` or \
             `{{\"type\": \"__rpc_err\", \"rpcId\", \"error\"}}` (replies may come in any \
             order: match them by `rpcId`); without one it is a message and gets none. The \
             server sends events as `{{\"type\": event, \"payload\", \"seq\"}}`. Its first \
             frame is `__ready`, whose `schemaHash` is `x-zocket-schema-hash` here."
        );
        json!({
            "asyncapi": SPEC_VERSION,
            "info": {
                "title": name,
                "version": version,
                "description": description,
            },
            "defaultContentType": "application/json",
            "channels": { CHANNEL: self.channel(name) },
            "operations": self.operations,
            "components": {
                "schemas": schemas,
                "messages": self.messages,
            },
            "x-zocket-protocol-version": protocol,
            "x-zocket-schema-hash": zocket_protocol::schema_hash(self.schema),
        })
    }
}

/// The schema of a frame, built one field at a time.
struct Frame {
    description: String,
    properties: Map<String, Value>,
    required: Vec<&'static str>,
}

impl Frame {
    /// Adds a required field.
    fn field(&mut self, name: &'static str, schema: Value) {
        self.properties.insert(name.into(), schema);
        self.required.push(name);
    }

    /// Adds the required `rpcId` of a reply.
    fn rpc_id(&mut self) {
        self.field(
            "rpcId",
            json!({ "type": "string", "description": "The `rpcId` of the call." }),
        );
    }

    fn schema(self) -> Value {
        let mut schema = Map::new();
        schema.insert("type".into(), json!("object"));
        if !self.description.is_empty() {
            schema.insert("description".into(), json!(self.description));
        }
        schema.insert("properties".into(), Value::Object(self.properties));
        schema.insert("required".into(), json!(self.required));
        Value::Object(schema)
    }
}

/// A frame whose `type` is `kind`.
fn frame_of(kind: &str, description: &str) -> Frame {
    let mut frame = Frame {
        description: description.to_owned(),
        properties: Map::new(),
        required: Vec::new(),
    };
    frame.field("type", json!({ "type": "string", "const": kind }));
    frame
}

/// A client frame for `route`: `payload` is required unless the input
/// accepts `null` (absent and `null` mean the same).
fn frame(route: &str, input: &Value, description: String) -> Frame {
    let mut frame = frame_of(route, &description);
    frame.properties.insert("payload".into(), input.clone());
    if !accepts_null(input, 0, input) {
        frame.required.push("payload");
    }
    frame
}

/// An operation on the channel, with its one message.
fn operation(action: &str, name: &str, def: &Value, key: &str) -> Map<String, Value> {
    let mut operation = Map::new();
    operation.insert("action".into(), json!(action));
    operation.insert(
        "channel".into(),
        json!({ "$ref": format!("#/channels/{CHANNEL}") }),
    );
    operation.insert("title".into(), json!(name));
    let docs = docs(def);
    if !docs.is_empty() {
        operation.insert("description".into(), json!(docs));
    }
    operation.insert("messages".into(), json!([channel_message(key)]));
    operation
}

/// A route's or event's schema, rewritten for `components.schemas`.
fn payload_schema(schema: Option<&Value>) -> Value {
    schema.map_or(json!({ "type": "null" }), rewrite)
}

/// The `error` of a call's `__rpc_err`: `RpcError`, or, when the call
/// declares its error type, that type (its codes and data) beside
/// `RpcError` (every error the protocol itself gives).
fn error_schema(error: Option<&Value>) -> Value {
    let rpc_error = json!({ "$ref": "#/components/schemas/RpcError" });
    match error.map(rewrite) {
        Some(declared) if declared != rpc_error => json!({
            "description": "Every error has `code`, `message`, `path` and `data` \
                            (`RpcError`); the codes the call declares, with their \
                            data, are its first schema.",
            "anyOf": [declared, rpc_error],
        }),
        _ => rpc_error,
    }
}

/// A reference to the channel's message `key`.
fn channel_message(key: &str) -> Value {
    json!({ "$ref": format!("#/channels/{CHANNEL}/messages/{}", pointer(key)) })
}

/// The description of a route or event, or nothing.
fn docs(def: &Value) -> String {
    def.get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The entries of an object, in its order (the schema's maps are sorted).
fn entries(value: Option<&Value>) -> impl Iterator<Item = (&str, &Value)> {
    value
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(key, value)| (key.as_str(), value))
}

/// `key` escaped as one JSON Pointer segment.
fn pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The definition `#/$defs/X` or `#/components/schemas/X` points at.
fn definition<'s>(schema: &'s Value, target: &str) -> Option<&'s Value> {
    let name = target
        .strip_prefix("#/$defs/")
        .or_else(|| target.strip_prefix("#/components/schemas/"))?;
    schema
        .get("$defs")?
        .get(name.replace("~1", "/").replace("~0", "~"))
}

/// Keywords whose values are data, not schemas: left as they are.
const DATA: [&str; 4] = ["const", "enum", "default", "examples"];

/// A schemars schema as AsyncAPI's components have it: `#/$defs/X` is
/// `#/components/schemas/X`, and a tuple's `prefixItems` is a draft-07
/// `items` array (its `items`, the schema of further items, becoming
/// `additionalItems`).
fn rewrite(schema: &Value) -> Value {
    match schema {
        Value::Object(object) => {
            let tuple = object.contains_key("prefixItems");
            let mut out = Map::new();
            for (key, value) in object {
                let value = match (key.as_str(), value) {
                    ("$ref", Value::String(target)) => match target.strip_prefix("#/$defs/") {
                        Some(name) => json!(format!("#/components/schemas/{name}")),
                        None => value.clone(),
                    },
                    (key, _) if DATA.contains(&key) => value.clone(),
                    _ => rewrite(value),
                };
                let key = match key.as_str() {
                    "prefixItems" => "items",
                    "items" if tuple => "additionalItems",
                    key => key,
                };
                out.insert(key.to_owned(), value);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(rewrite).collect()),
        other => other.clone(),
    }
}

/// Whether `schema` (already rewritten) accepts `null`, following
/// references into `root`'s `$defs` up to a small depth; when unsure, no.
fn accepts_null(schema: &Value, depth: usize, root: &Value) -> bool {
    let object = match schema {
        Value::Bool(accepts) => return *accepts,
        Value::Object(object) => object,
        _ => return false,
    };
    let null_type = match object.get("type") {
        None => true,
        Some(Value::String(ty)) => ty == "null",
        Some(Value::Array(types)) => types.iter().any(|ty| ty == "null"),
        Some(_) => false,
    };
    let any = |key: &str| {
        object
            .get(key)
            .and_then(Value::as_array)
            .is_none_or(|schemas| schemas.iter().any(|s| accepts_null(s, depth, root)))
    };
    null_type
        && object.get("const").is_none_or(Value::is_null)
        && object
            .get("enum")
            .and_then(Value::as_array)
            .is_none_or(|values| values.iter().any(Value::is_null))
        && object
            .get("allOf")
            .and_then(Value::as_array)
            .is_none_or(|schemas| schemas.iter().all(|s| accepts_null(s, depth, root)))
        && any("anyOf")
        && any("oneOf")
        && object
            .get("$ref")
            .and_then(Value::as_str)
            .is_none_or(|target| {
                depth < 8
                    && definition(root, target)
                        .is_some_and(|def| accepts_null(&rewrite(def), depth + 1, root))
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_move_to_components_and_tuples_to_draft_07() {
        let schema = json!({
            "type": "array",
            "prefixItems": [{ "$ref": "#/$defs/A" }, { "type": "string" }],
            "items": false,
            "default": { "$ref": "#/$defs/kept" }
        });
        assert_eq!(
            rewrite(&schema),
            json!({
                "type": "array",
                "items": [{ "$ref": "#/components/schemas/A" }, { "type": "string" }],
                "additionalItems": false,
                "default": { "$ref": "#/$defs/kept" }
            })
        );
    }

    #[test]
    fn a_payload_is_optional_only_when_the_input_accepts_null() {
        let root = json!({ "$defs": {
            "Maybe": { "type": ["string", "null"] },
            "Thing": { "type": "object" }
        }});
        let accepts = |schema: Value| accepts_null(&rewrite(&schema), 0, &root);
        assert!(accepts(json!({ "type": "null" })));
        assert!(accepts(json!({ "$ref": "#/$defs/Maybe" })));
        assert!(accepts(
            json!({ "anyOf": [{ "$ref": "#/$defs/Thing" }, { "type": "null" }] })
        ));
        assert!(!accepts(json!({ "$ref": "#/$defs/Thing" })));
        assert!(!accepts(json!({ "type": "string" })));
        assert!(!accepts(json!({ "enum": ["a", "b"] })));
        assert!(!accepts(json!({ "$ref": "#/$defs/Missing" })));
    }
}
