//! Procedural macros for zocket, re-exported by the `zocket` crate.
//!
//! This crate will hold the router macro that turns one annotated
//! definition into a server dispatcher, a typed event sender, a typed client
//! and a JSON Schema. It exports nothing yet; use `zocket::Router` directly.
