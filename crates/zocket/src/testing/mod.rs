//! Testing without a network (the `testing` feature):
//!
//! - [`TestHub`]: handlers called directly with a real [`Ctx`](crate::Ctx)
//!   (client id, rooms, context), and the events each connection was sent;
//! - [`TestServer`]: a whole server and its clients (untyped or typed) in
//!   one process, over in-memory pipes instead of TCP: the same handshake,
//!   protocol and client API, no port.
//!
//! The top layer: it builds on every other one.

mod handlers;
mod transport;

pub use handlers::{SentEvent, SentItem, TestConn, TestHub};
pub use transport::{Pipes, TestServer, URL};
