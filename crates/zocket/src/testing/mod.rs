//! Testing without a network (the `testing` feature): handlers called
//! directly with a real [`Ctx`](crate::Ctx) ([`TestHub`]).
//!
//! The top layer: it builds on every other one.

mod handlers;

pub use handlers::{SentEvent, TestConn, TestHub};
