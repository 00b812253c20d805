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
//! # Headers and the session
//!
//! The headers given to [`Client::connect`] travel as HTTP headers of the
//! WebSocket handshake, one per field (see [`ClientBuilder::connect`]),
//! and the session to resume as the `x-zocket-session` and
//! `x-zocket-last-seq` headers: the URL is sent as it is, so no token or
//! session id ends up in an access log. For a server older than this form,
//! [`ClientBuilder::headers_in_query`] puts the header fields in the URL's
//! query instead (the legacy form); the session never goes there.
//!
//! # Lifecycle
//!
//! [`Client::connect`] opens the first connection (one attempt: its
//! failure is the error) and returns a client in
//! [`State::Connected`]. [`ClientBuilder::start`] instead returns at once,
//! in [`State::Connecting`], and opens the first connection in the
//! background with the reconnection policy below (what is sent meanwhile
//! waits in the offline queue). From then on the client keeps itself
//! connected:
//!
//! - When the connection drops (no close frame, or a close code
//!   [worth reconnecting](CloseCode::is_worth_reconnecting): the server
//!   going away with `1001`, failing with `1011`...), the state becomes
//!   [`State::Disconnected`], then [`State::Reconnecting`] for each
//!   attempt, with its number, the number of attempts and the delay before
//!   it: `min(base · 2^(attempt-1), max) · (1 ± jitter)` ([`Backoff`]; by
//!   default 1 s doubling up to 30 s, ±30%, 5 attempts). The builder sets
//!   them ([`ClientBuilder::max_retries`], [`ClientBuilder::backoff`]) or
//!   turns reconnection off ([`ClientBuilder::reconnect`]).
//! - Each reconnection sends the session id and the last event `seq`
//!   received, as HTTP headers. A server that still holds the session resumes it:
//!   [`State::Connected`] with `recovered: true`, the events missed are
//!   replayed (each stream sees every event once, in order), and the
//!   calls that were in flight are sent again with the same `rpcId`. A
//!   server that does not starts a fresh session: `recovered: false`, the
//!   calls in flight fail with [`CallError::ConnectionLost`], and the
//!   application should resynchronise. [`Client::ready`] is the latest
//!   `__ready`.
//! - Calls and messages made while not connected wait in a bounded offline
//!   queue ([`ClientBuilder::offline_queue`]; when full they fail at once
//!   with [`CallError::QueueFull`]) and are sent in order once connected.
//!   Calls keep their timeout meanwhile.
//! - Event streams, error streams and state streams go on across
//!   reconnections.
//! - [`State::Failed`] (final) when the attempts run out, with the last
//!   error; when a handshake is refused with a 4xx, unless the
//!   [`ClientBuilder::on_refused`] hook supplies new headers; when the
//!   server closes the connection on purpose (`1000`, `1008`, `1009`, an
//!   application's `4xxx`); when the server's `__ready` names another
//!   protocol version than this client's
//!   ([`ConnectError::ProtocolVersion`]); or when the connection drops
//!   with reconnection off. [`State::Closed`] (final) after
//!   [`Client::close`], which never reconnects, even during a
//!   reconnection.
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use std::collections::BTreeMap;
//! use std::time::Duration;
//! use zocket_client::{Backoff, Client, State};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let headers = BTreeMap::from([("name", "ada")]);
//! let client = Client::builder()
//!     .max_retries(10)
//!     .backoff(Backoff::new(Duration::from_millis(200), Duration::from_secs(5), 0.3)?)
//!     .offline_queue(256)
//!     .connect("ws://127.0.0.1:3000/ws", &headers)
//!     .await?;
//!
//! let mut states = client.state_changes();
//! tokio::spawn(async move {
//!     while let Some(state) = states.next().await {
//!         match state {
//!             State::Reconnecting { attempt, max_attempts, delay } => {
//!                 println!("reconnecting {attempt}/{max_attempts} in {delay:?}");
//!             }
//!             State::Connected { recovered: false } => println!("connected: resynchronise"),
//!             State::Connected { recovered: true } => println!("session resumed"),
//!             State::Failed { error } => println!("gave up: {error}"),
//!             other => println!("{other:?}"),
//!         }
//!     }
//! });
//!
//! // Save the session to resume it later, from another client.
//! let (session, seq) = (client.current_session_id(), client.last_seq());
//! client.close().await;
//! let resumed = Client::builder()
//!     .session(session, seq)
//!     .connect("ws://127.0.0.1:3000/ws", &headers)
//!     .await?;
//! println!("recovered: {}", resumed.ready().recovered);
//! # Ok(()) }
//! ```
//!
//! # The wire
//!
//! The wire types are those of the `zocket-protocol` crate, which the
//! server uses too, re-exported here: [`ErrorObject`] (the server's error,
//! in [`CallError::Server`] and on an [`ErrorStream`]) with its
//! [`ErrorCode`], [`Ready`], [`HeaderIssue`] (in a [`Refusal`]),
//! [`CloseCode`], and [`ServerFrame`] with [`FrameError`] to read server
//! frames. The protocol is documented in `docs/protocol.md` of the
//! repository.

mod backoff;
mod client;
mod connection;
mod error;
mod events;
mod pending;
mod shared;
mod state;
mod streams;
mod supervisor;
mod transport;

#[cfg(test)]
mod test_support;

pub use backoff::{Backoff, BackoffError};
pub use client::{Client, ClientBuilder, DEFAULT_WINDOW, ItemStream, SchemaCheck};
pub use error::{CallError, ConnectError, EventError, Refusal};
pub use events::{ErrorStream, EventStream};
pub use state::{State, StateStream};
pub use transport::{Connector, Io};
pub use zocket_protocol::{
    CloseCode, ErrorCode, ErrorObject, FrameError, HeaderIssue, Ready, ServerFrame,
};
