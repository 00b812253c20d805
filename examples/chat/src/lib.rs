//! The zocket chat: rooms, messages and a page that talks to it with a
//! plain browser `WebSocket`. Run it with `cargo run -p chat` and open
//! <http://127.0.0.1:3000>.
//!
//! Wire surface (pinned by the end-to-end tests):
//! - handshake header `name`: required, 1 to 32 characters;
//! - calls `chat.join {room}` → `null`, `chat.leave {room}` → `null`,
//!   `chat.send {room, text}` → `{id}`, `chat.whoami` → `{clientId, name, rooms}`;
//! - event `chat.message {room, from, text, id}` to every member of the room.

use axum::response::Html;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use zocket::{ClientId, Ctx, Event, Router, RpcError, Server, ServerHandle};

/// The longest message text accepted, in characters.
pub const MAX_TEXT: usize = 2000;

/// The handshake headers (query parameters for browsers).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ChatHeaders {
    /// The display name.
    #[schemars(length(min = 1, max = 32))]
    pub name: String,
}

/// Each connection's context.
#[derive(Debug)]
pub struct Member {
    /// The display name from the handshake.
    pub name: String,
}

/// Input of `chat.join` and `chat.leave`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RoomInput {
    /// The room.
    pub room: String,
}

/// Input of `chat.send`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SendInput {
    /// A room the caller is in.
    pub room: String,
    /// 1 to 2000 characters.
    #[schemars(length(min = 1, max = 2000))]
    pub text: String,
}

/// Output of `chat.send`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SendAck {
    /// The message id, increasing in the order sends were accepted.
    pub id: u64,
}

/// Output of `chat.whoami`.
#[derive(Debug, Serialize, JsonSchema)]
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
#[derive(Debug, Serialize, JsonSchema)]
pub struct ChatMessage {
    /// The room it was sent to.
    pub room: String,
    /// The sender's name.
    pub from: String,
    /// The text.
    pub text: String,
    /// The id `chat.send` returned.
    pub id: u64,
}

/// The event every room member receives.
pub const MESSAGE: Event<ChatMessage> = Event::new("chat.message");

/// The chat's routes. `next_id` numbers messages; holding it while the
/// event is queued keeps every member's view in acceptance order.
fn router() -> Router<Member> {
    let next_id = Arc::new(Mutex::new(0u64));
    let chat = Router::new()
        .call("join", |ctx: Ctx<Member>, input: RoomInput| async move {
            ctx.join(&input.room);
            Ok::<_, RpcError>(())
        })
        .call("leave", |ctx: Ctx<Member>, input: RoomInput| async move {
            ctx.leave(&input.room);
            Ok::<_, RpcError>(())
        })
        .call("send", move |ctx: Ctx<Member>, input: SendInput| {
            let next_id = next_id.clone();
            async move {
                let chars = input.text.chars().count();
                if chars == 0 || chars > MAX_TEXT {
                    return Err(RpcError::validation(
                        "text",
                        format!("must be 1 to {MAX_TEXT} characters"),
                    ));
                }
                if !ctx.has(&input.room) {
                    return Err(RpcError::forbidden(format!("not in room {}", input.room)));
                }
                let mut last = next_id.lock().unwrap_or_else(|p| p.into_inner());
                *last += 1;
                let message = ChatMessage {
                    room: input.room,
                    from: ctx.context().name.clone(),
                    text: input.text,
                    id: *last,
                };
                ctx.emit(MESSAGE, &message)
                    .to_room(&message.room)
                    .map_err(|_| RpcError::internal())?;
                Ok(SendAck { id: message.id })
            }
        })
        .call("whoami", |ctx: Ctx<Member>, _: ()| async move {
            Ok::<_, RpcError>(WhoAmI {
                client_id: ctx.client_id().to_string(),
                name: ctx.context().name.clone(),
                rooms: ctx.current(),
            })
        });
    Router::new().nest("chat", chat)
}

/// The chat server, the page at `/` and the WebSocket at `/ws`, as an axum
/// app, with the handle to shut it down.
pub fn app() -> (axum::Router, ServerHandle<Member>) {
    let server = Server::builder(router())
        .on_connect(|headers: Arc<ChatHeaders>, _id: ClientId| async move {
            Ok(Member {
                name: headers.name.clone(),
            })
        })
        .build()
        .expect("the chat's routes are valid");
    let handle = server.handle();
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { Html(PAGE) }))
        .route("/ws", server.route());
    (app, handle)
}

/// The page at `/`.
pub const PAGE: &str = include_str!("page.html");
