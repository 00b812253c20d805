//! The JSON Schema of a whole API: headers, routes and events, built from
//! schemars schemas of each type, with shared definitions. The router
//! macro's `Chat::schema()` builds it with [`ApiSchema`],
//! `Chat::typescript()` turns it into a TypeScript client with
//! [`typescript`], and `Chat::asyncapi()` into an AsyncAPI 3.0.0 document
//! with [`asyncapi`].

mod asyncapi;
mod typescript;

pub use asyncapi::{asyncapi, asyncapi_with_version};
pub use typescript::{RUNTIME, typescript};

use std::marker::PhantomData;

/// How the router macro describes a call's error type `E`: with its
/// schema when `E: JsonSchema` ([`DescribeError`]), else as a plain
/// `RpcError` ([`DescribeAnyError`]), chosen at compile time.
#[doc(hidden)]
pub struct ErrorType<E>(PhantomData<fn() -> E>);

impl<E> ErrorType<E> {
    /// The marker for `E`.
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<E> Default for ErrorType<E> {
    fn default() -> Self {
        Self::new()
    }
}

/// An error type with a schema: its codes are part of the API.
#[doc(hidden)]
pub trait DescribeError {
    /// Adds the error's schema to the call `name`.
    fn describe_error(&self, schema: &mut ApiSchema, name: &str);
}

impl<E: JsonSchema> DescribeError for ErrorType<E> {
    fn describe_error(&self, schema: &mut ApiSchema, name: &str) {
        schema.route_error::<E>(name);
    }
}

/// An error type without a schema: the route's error stays `RpcError`.
#[doc(hidden)]
pub trait DescribeAnyError {
    /// Leaves the call's error as it is.
    fn describe_error(&self, _schema: &mut ApiSchema, _name: &str) {}
}

impl<E> DescribeAnyError for &ErrorType<E> {}

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

    /// Adds a route: its kind, input, and the output of a call (`output`)
    /// or the item type of a stream (`item`).
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
        match kind {
            RouteKind::Call => {
                route.insert(
                    "output".into(),
                    self.generator.subschema_for::<O>().to_value(),
                );
                route.insert("error".into(), json!({ "$ref": "#/$defs/RpcError" }));
            }
            RouteKind::Stream => {
                route.insert(
                    "item".into(),
                    self.generator.subschema_for::<O>().to_value(),
                );
                route.insert("error".into(), json!({ "$ref": "#/$defs/RpcError" }));
            }
            RouteKind::Message => {}
        }
        self.routes.insert(name.into(), Value::Object(route));
    }

    /// Declares the application error type of the call `name`: its schema
    /// (as `E` serializes: a string code, or `{"code", "data"}`) becomes
    /// the route's `error`, so clients know its codes.
    pub fn route_error<E: JsonSchema>(&mut self, name: &str) {
        let schema = self.generator.subschema_for::<E>().to_value();
        if let Some(Value::Object(route)) = self.routes.get_mut(name) {
            route.insert("error".into(), schema);
        }
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

    /// Records the event `name`'s policy for a recipient whose queue is
    /// full (`drop`, `drop_oldest`, `latest`): such events are ephemeral.
    pub fn event_policy(&mut self, name: &str, policy: &str) {
        if let Some(Value::Object(event)) = self.events.get_mut(name) {
            event.insert("whenFull".into(), json!(policy));
        }
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
