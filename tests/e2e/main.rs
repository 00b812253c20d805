//! End-to-end tests: real servers and clients over 127.0.0.1, one module
//! per feature.

mod chat;
mod client;
mod client_resilience;
mod compat;
mod dispatch;
mod faults;
mod handshake;
mod lifecycle;
mod limits;
mod macro_middleware;
mod middleware;
mod nesting;
mod recovery;
mod resilience;
mod rooms;
mod schema;
mod typed;
