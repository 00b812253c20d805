//! The JSON Schema of a whole API: headers, routes and events, built from
//! schemars schemas of each type, with shared definitions. The router
//! macro's `Chat::schema()` builds it with [`ApiSchema`], and
//! `Chat::typescript()` turns it into a TypeScript client with
//! [`typescript`].

mod typescript;

pub use typescript::{RUNTIME, typescript};

use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};
pub use zocket_protocol::RouteKind;

/// Collects the schema of an API, one route or event at a time.
pub struct ApiSchema {
    generator: SchemaGenerator,
    headers: Value,
    routes: Map<String, Value>,
    events: Map<String, Value>,
}

impl ApiSchema {
    /// Starts a schema for an API whose handshake headers are `H`.
    pub fn new<H: JsonSchema>() -> Self {
        let mut generator = SchemaGenerator::default();
        let headers = generator.subschema_for::<H>().to_value();
        Self {
            generator,
            headers,
            routes: Map::new(),
            events: Map::new(),
        }
    }

    /// Adds a route: its kind, input, and (for calls) output.
    pub fn route<I: JsonSchema, O: JsonSchema>(&mut self, name: &str, kind: RouteKind, docs: &str) {
        let mut route = Map::new();
        route.insert("kind".into(), json!(kind));
        if !docs.is_empty() {
            route.insert("description".into(), json!(docs));
        }
        route.insert(
            "input".into(),
            self.generator.subschema_for::<I>().to_value(),
        );
        if kind == RouteKind::Call {
            route.insert(
                "output".into(),
                self.generator.subschema_for::<O>().to_value(),
            );
            route.insert("error".into(), json!({ "$ref": "#/$defs/RpcError" }));
        }
        self.routes.insert(name.into(), Value::Object(route));
    }

    /// Adds a server event and its payload.
    pub fn event<T: JsonSchema>(&mut self, name: &str, docs: &str) {
        let mut event = Map::new();
        if !docs.is_empty() {
            event.insert("description".into(), json!(docs));
        }
        event.insert(
            "payload".into(),
            self.generator.subschema_for::<T>().to_value(),
        );
        self.events.insert(name.into(), Value::Object(event));
    }

    /// The finished document.
    pub fn finish(mut self) -> Value {
        let mut defs = self.generator.take_definitions(true);
        defs.insert(
            "RpcError".into(),
            json!({
                "description": "An error reply: `error` of `__rpc_err` and `__error` frames.",
                "type": "object",
                "properties": {
                    "code": { "type": "string" },
                    "message": { "type": "string" },
                    "path": { "type": ["string", "null"] },
                    "data": {}
                },
                "required": ["code", "message", "path", "data"]
            }),
        );
        json!({
            "protocolVersion": zocket_protocol::PROTOCOL_VERSION,
            "headers": self.headers,
            "routes": self.routes,
            "events": self.events,
            "$defs": defs,
        })
    }
}
