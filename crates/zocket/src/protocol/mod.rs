//! The wire protocol (`docs/protocol.md` in the repository): its shared
//! definitions from the `zocket-protocol` crate, which clients use too,
//! and the error reply and close types handlers use.
//!
//! The bottom layer of the server: it depends on nothing else in the crate.

mod constraints;
mod decode;
mod encode;
mod error;

pub(crate) use constraints::Constraints;
pub(crate) use decode::{decode, explain};
pub use encode::WhenFull;
pub(crate) use encode::{EventFrame, error_frame, item_frame, reply_frame};
pub use error::{Close, RpcError};
pub use zocket_protocol::{
    CloseCode, ErrorCode, ErrorObject, HeaderIssue, PROTOCOL_VERSION, Ready, RefusalBody,
    RefusalError, RouteKind, frame, schema_hash,
};
