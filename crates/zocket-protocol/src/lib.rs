//! The zocket wire protocol, defined once for servers and clients.
//!
//! Every frame is a JSON text frame; `docs/protocol.md` in the repository
//! is the reference. This crate holds what both sides must agree on:
//!
//! - [`frame`]: the reserved frame types, the client frames
//!   ([`ClientFrame`] to write, [`Envelope`] to read) and the server frames
//!   ([`ServerFrame`] to read);
//! - [`ErrorObject`]: the `error` of `__rpc_err` and `__error` frames, with
//!   its [`ErrorCode`];
//! - [`CloseCode`]: the close codes, and which of them are worth a
//!   reconnection;
//! - the handshake: [`Ready`], [`HeaderIssue`], the [`RefusalBody`] of a
//!   refused upgrade, and the query parameters of a resume.
//!
//! It depends on `serde` and `serde_json` only, so a client build pulls in
//! no server dependency.
//!
//! ```
//! use zocket_protocol::{ErrorCode, ServerFrame};
//!
//! let text = r#"{"type":"__rpc_err","rpcId":"7","error":{"code":"VALIDATION","message":"bad","path":"qty","data":null}}"#;
//! match ServerFrame::parse(text)? {
//!     ServerFrame::CallError { rpc_id, error } => {
//!         assert_eq!(rpc_id, "7");
//!         assert_eq!(error.code(), &ErrorCode::VALIDATION);
//!         assert_eq!(error.path(), Some("qty"));
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! # Ok::<(), zocket_protocol::FrameError>(())
//! ```

mod codes;
mod error;
pub mod frame;
mod handshake;

pub use codes::{CloseCode, ErrorCode};
pub use error::ErrorObject;
pub use frame::{ClientFrame, Credit, Envelope, EnvelopeError, FrameError, ServerFrame};
pub use handshake::{
    HEADERS_PROTOCOL_PREFIX, HeaderIssue, LAST_SEQ_HEADER, LAST_SEQ_PARAM,
    LAST_SEQ_PROTOCOL_PREFIX, MAX_CLOSE_REASON, REFUSALS_PROTOCOL, Ready, RefusalBody,
    RefusalError, SESSION_ID_HEADER, SESSION_ID_PARAM, SESSION_PROTOCOL_PREFIX, SUBPROTOCOL,
    schema_hash,
};

/// The protocol version, sent by the server in [`Ready`]; a client refuses
/// a server that speaks another.
pub const PROTOCOL_VERSION: u32 = 1;

/// What a route is: what the client sends and what it gets back.
///
/// Both kinds answer a frame that carries an `rpcId` exactly once (a
/// message with `null`), as the TypeScript client expects; the kind tells
/// clients and the schema what to expect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteKind {
    /// Input → output or error.
    Call,
    /// Input, no reply.
    Message,
    /// Input → any number of items (`__item`), then one reply: `null`
    /// when the stream ended, or an error.
    Stream,
}
