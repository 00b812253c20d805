//! End-to-end tests: real servers and clients, one module per feature.
//! Where the transport is what is tested (handshakes, limits, heartbeats,
//! faults, recovery, the chat page) they run over 127.0.0.1; where a real
//! socket adds nothing (dispatch, middleware, rooms, nesting, the typed
//! client) over zocket's in-memory transport (`zocket::testing`), with the
//! same handshake, frames and clients.

mod asyncapi;
mod browser;
mod cancel;
mod chat;
mod client;
mod client_resilience;
mod cluster;
mod compat;
mod constraints;
mod context;
mod dispatch;
mod faults;
mod handshake;
mod hostile;
mod jobs;
mod lifecycle;
mod limits;
mod macro_middleware;
mod middleware;
mod nesting;
mod recovery;
mod redis;
mod resilience;
mod rooms;
mod schema;
mod secrets;
mod streams;
mod typed;
mod typescript;
