//! The Rust client for zocket servers.
//!
//! A [`Client`] connects over WebSocket, makes calls (a reply, or the
//! server's error with its code), sends messages, and streams events. It
//! is untyped: routes and events are named by strings and their payloads
//! are any `serde` types.
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use zocket_client::{CallError, Client};
//!
//! #[derive(serde::Serialize)]
//! struct Headers<'a> { name: &'a str }
//!
//! #[derive(serde::Deserialize, Debug)]
//! struct Said { from: String, text: String }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::connect("ws://127.0.0.1:3000/ws", &Headers { name: "ada" }).await?;
//! println!("connected as {}", client.ready().client_id);
//!
//! let mut said = client.events::<Said>("chat.said");
//! client.call::<_, ()>("chat.join", "general").await?;
//! match client.call::<_, ()>("chat.say", &serde_json::json!({"room": "general", "text": "hi"})).await {
//!     Ok(()) => {}
//!     Err(err) if err.code() == Some("FORBIDDEN") => println!("not in the room"),
//!     Err(err) => return Err(err.into()),
//! }
//! if let Some(event) = said.next().await {
//!     println!("{:?}", event?);
//! }
//! client.close().await;
//! # Ok(()) }
//! ```
//!
//! The wire protocol is documented in `docs/protocol.md` of the repository.

mod client;
mod error;
mod events;
mod frame;
mod pending;
mod task;
mod transport;

pub use client::{Client, ClientBuilder};
pub use error::{CallError, ConnectError, EventError, HeaderIssue, Refusal};
pub use events::{ErrorStream, EventStream};
pub use frame::{ErrorBody, FrameError, Ready, ServerFrame};
