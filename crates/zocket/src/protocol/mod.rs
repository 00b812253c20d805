//! The wire protocol: envelopes, frames and codes (see `docs/protocol.md`).

mod codes;
mod envelope;
mod frames;

pub use codes::{CloseCode, ErrorCode};
pub(crate) use envelope::Envelope;
pub(crate) use frames::{EventFrame, error_frame, ready_frame, reply_frame};

/// The protocol version this crate speaks, sent in `__ready`.
pub const PROTOCOL_VERSION: u32 = 1;
