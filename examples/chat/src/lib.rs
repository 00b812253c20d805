//! The zocket chat: rooms, messages and a page that talks to it with the
//! generated TypeScript client. Run it with `cargo run -p chat` and open
//! <http://127.0.0.1:3000>.
//!
//! Wire surface (pinned by the end-to-end tests):
//! - handshake header `name`: required, 1 to 32 characters;
//! - calls `chat.join {room}` → `null`, `chat.leave {room}` → `null`,
//!   `chat.send {room, text}` → `{id}`, `chat.whoami` → `{clientId, name, rooms}`;
//! - event `chat.message {room, from, text, id, at}` to every member of the room.
//!
//! The types derive both `Serialize` and `Deserialize` because the same
//! definition also gives Rust clients `ChatClient` (zocket's `client`
//! feature; see `examples/chat-client`).

use axum::response::Html;
use metrics_exporter_prometheus::{BuildError, PrometheusBuilder, PrometheusHandle};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use zocket::{ClientId, Close, Connect, Connection, Ctx, RpcError, Server, ServerHandle};

/// The handshake headers.
#[derive(Debug, Serialize, Deserialize, JsonSchema, zocket::Headers)]
pub struct ChatHeaders {
    /// The display name.
    #[schemars(length(min = 1, max = 32))]
    pub name: String,
}

/// Each connection's context. It travels as JSON when a session moves to
/// another node of a cluster (see [`cluster_server`]).
#[derive(Debug, Serialize, Deserialize)]
pub struct Member {
    /// The display name from the handshake.
    pub name: String,
}

/// Input of `chat.join` and `chat.leave`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct RoomInput {
    /// The room.
    pub room: String,
}

/// Input of `chat.send`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SendInput {
    /// A room the caller is in.
    pub room: String,
    /// The message.
    #[schemars(length(min = 1, max = 2000))]
    pub text: String,
}

/// Why `chat.send` failed: the code clients get (`NOT_IN_ROOM`), with
/// its data (`{"room": ...}`). The schema lists these codes, so the
/// generated clients know them.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "code", content = "data", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SendError {
    /// The caller is not in the room.
    NotInRoom {
        /// The room.
        room: String,
    },
    /// The message could not be sent (logged on the server).
    Internal,
}

impl From<SendError> for RpcError {
    fn from(err: SendError) -> Self {
        let message = match &err {
            SendError::NotInRoom { room } => format!("not in room {room}"),
            SendError::Internal => "internal error".to_owned(),
        };
        RpcError::app(&err, message)
    }
}

/// Output of `chat.send`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SendAck {
    /// The message id, increasing in the order sends were accepted.
    pub id: u64,
}

/// Output of `chat.whoami`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WhoAmI {
    /// The caller's client id.
    pub client_id: String,
    /// The caller's name.
    pub name: String,
    /// The caller's rooms, sorted.
    pub rooms: Vec<String>,
}

/// Payload of the `chat.message` event.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ChatMessage {
    /// The room it was sent to.
    pub room: String,
    /// The sender's name.
    pub from: String,
    /// The text.
    pub text: String,
    /// The id `chat.send` returned.
    pub id: u64,
    /// When the server accepted it, in milliseconds since the Unix epoch.
    pub at: u64,
}

#[zocket::router(headers = ChatHeaders, namespace = "chat")]
/// The chat's API, shared by the server and its clients.
pub trait Chat {
    /// Puts the caller in a room (`LIMIT_EXCEEDED` past 1000 rooms or for
    /// a name over 256 bytes).
    async fn join(input: RoomInput) -> Result<(), RpcError>;
    /// Takes the caller out of a room.
    async fn leave(input: RoomInput);
    /// Sends a message to a room the caller is in (`NOT_IN_ROOM`
    /// otherwise); the text's length is checked as the schema declares.
    async fn send(input: SendInput) -> Result<SendAck, SendError>;
    /// The caller's id, name and rooms.
    async fn whoami() -> WhoAmI;
    /// A message, to every member of its room, the sender included.
    #[zocket(event)]
    fn message(payload: ChatMessage);
}

/// The chat server. `next_id` numbers messages; holding it while the event
/// is queued keeps every member's view in acceptance order.
#[derive(Default)]
pub struct ChatApp {
    next_id: Mutex<u64>,
}

impl Connect<ChatHeaders> for ChatApp {
    type Context = Member;

    async fn on_connect(&self, headers: Arc<ChatHeaders>, _id: ClientId) -> Result<Member, Close> {
        Ok(Member {
            name: headers.name.clone(),
        })
    }

    /// A session resumes only under the name it was opened with: a
    /// session id presented with another name is refused (`4403`), and
    /// the session stays for its owner.
    async fn on_resume(
        &self,
        session: Connection<Member>,
        headers: Arc<ChatHeaders>,
    ) -> Result<(), Close> {
        if session.context().name == headers.name {
            Ok(())
        } else {
            Err(Close::new(4403, "this session belongs to another name"))
        }
    }
}

impl ChatServer<Member> for ChatApp {
    async fn join(&self, ctx: Ctx<Member>, input: RoomInput) -> Result<(), RpcError> {
        ctx.join(&input.room)?;
        Ok(())
    }

    async fn leave(&self, ctx: Ctx<Member>, input: RoomInput) {
        ctx.leave(&input.room);
    }

    async fn send(&self, ctx: Ctx<Member>, input: SendInput) -> Result<SendAck, SendError> {
        // The text's length (1 to 2000 characters) was checked before this
        // runs, as `SendInput`'s schema declares.
        if !ctx.has(&input.room) {
            return Err(SendError::NotInRoom { room: input.room });
        }
        let mut last = self.next_id.lock().unwrap_or_else(|p| p.into_inner());
        *last += 1;
        let message = ChatMessage {
            room: input.room,
            from: ctx.context().name.clone(),
            text: input.text,
            id: *last,
            at: now_ms(),
        };
        Chat::events(&ctx)
            .message(&message)
            .to_room(&message.room)
            .map_err(|_| SendError::Internal)?;
        Ok(SendAck { id: message.id })
    }

    async fn whoami(&self, ctx: Ctx<Member>) -> WhoAmI {
        WhoAmI {
            client_id: ctx.client_id().to_string(),
            name: ctx.context().name.clone(),
            rooms: ctx.current(),
        }
    }
}

/// The time, in milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// The chat server, with the default limits.
pub fn server() -> Server<ChatHeaders, Member> {
    Chat::server(ChatApp::default())
        .build()
        .expect("the chat's routes are valid")
}

/// The chat server as one node of a cluster: its rooms and messages go
/// through `adapter` to the other nodes, and a client that reconnects to
/// another node resumes its session there (the adapter is also the session
/// store). Message ids count per node.
pub fn cluster_server(adapter: &zocket_redis::RedisAdapter) -> Server<ChatHeaders, Member> {
    Chat::server(ChatApp::default())
        .adapter(adapter.clone())
        .session_store(adapter.clone())
        .build()
        .expect("the chat's routes are valid")
}

/// The page at `/`, the scripts it imports (the generated client at
/// `/chat.js`, the `@zocket/client` runtime under `/zocket/`) and
/// `server`'s WebSocket at `/ws`, as an axum app.
pub fn routes(server: &Server<ChatHeaders, Member>) -> axum::Router {
    let mut app = axum::Router::new()
        .route("/", axum::routing::get(|| async { Html(PAGE) }))
        .route("/chat.js", axum::routing::get(|| async { script(CLIENT) }));
    for (file, text) in RUNTIME {
        app = app.route(
            &format!("/zocket/{file}"),
            axum::routing::get(move || async move { script(text) }),
        );
    }
    app.route("/ws", server.route())
}

/// A JavaScript module as a response.
fn script(text: &'static str) -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/javascript; charset=utf-8",
        )],
        text,
    )
}

/// Installs the Prometheus recorder of zocket's metrics (once per process,
/// before the server is built) and returns what renders them.
pub fn install_metrics() -> Result<PrometheusHandle, BuildError> {
    PrometheusBuilder::new().install_recorder()
}

/// [`routes`], plus zocket's metrics in Prometheus text format at
/// `/metrics`.
pub fn routes_with_metrics(
    server: &Server<ChatHeaders, Member>,
    metrics: PrometheusHandle,
) -> axum::Router {
    let handle = server.handle();
    routes(server).route(
        "/metrics",
        axum::routing::get(move || {
            // The byte-accounting gauges are computed at each scrape.
            handle.record_gauges();
            let text = metrics.render();
            async move { text }
        }),
    )
}

/// The chat server, the page at `/` and the WebSocket at `/ws`, as an axum
/// app, with the handle to shut it down.
pub fn app() -> (axum::Router, ServerHandle<Member>) {
    let server = server();
    (routes(&server), server.handle())
}

/// The page at `/`.
pub const PAGE: &str = include_str!("../web/index.html");

/// The generated client (`fixtures/chat.ts` of the TypeScript package,
/// compiled by its `npm run build`), served at `/chat.js`.
pub const CLIENT: &str = include_str!("../web/chat.js");

/// One file of the compiled runtime, by name.
macro_rules! runtime {
    ($file:literal) => {
        (
            $file,
            include_str!(concat!("../../../clients/typescript/dist/", $file)),
        )
    };
}

/// The `@zocket/client` runtime as compiled into the TypeScript package's
/// `dist/` (committed), served under `/zocket/`.
const RUNTIME: &[(&str, &str)] = &[
    runtime!("index.js"),
    runtime!("client.js"),
    runtime!("errors.js"),
    runtime!("internal.js"),
    runtime!("session.js"),
    runtime!("stream.js"),
    runtime!("types.js"),
];
