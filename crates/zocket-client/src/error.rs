//! What can go wrong: connecting ([`ConnectError`]), calling
//! ([`CallError`]) and reading events ([`EventError`]).

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite;
use zocket_protocol::{ErrorObject, HeaderIssue};

/// Why a call or a message failed.
///
/// The server's own error replies are [`CallError::Server`]; match them by
/// [`code`](CallError::code):
///
/// ```
/// #[derive(serde::Deserialize, Debug)]
/// struct Stock { left: u32 }
///
/// # fn handle(err: zocket_client::CallError) {
/// match err.code() {
///     Some("OUT_OF_STOCK") => match err.data_as::<Stock>() {
///         Some(Ok(stock)) => println!("{} left", stock.left),
///         _ => println!("sold out: {:?}", err.data()),
///     },
///     Some("VALIDATION") => println!("bad field {:?}", err.path()),
///     _ => println!("{err}"),
/// }
/// # }
/// ```
///
/// A typed client's method for a call whose error type `E` has a schema
/// (an enum the server turns into its codes, see `RpcError::app`) returns
/// `CallError<E>`: an error reply with one of `E`'s codes comes decoded as
/// [`CallError::App`]:
///
/// ```
/// # use zocket_client::CallError;
/// #[derive(serde::Deserialize, Debug)]
/// #[serde(tag = "code", content = "data", rename_all = "SCREAMING_SNAKE_CASE")]
/// enum SendError { NotInRoom { room: String } }
///
/// # fn handle(err: CallError<SendError>) {
/// match err {
///     CallError::App(SendError::NotInRoom { room }, _) => println!("join {room} first"),
///     other => println!("{other}"),
/// }
/// # }
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum CallError<E = std::convert::Infallible> {
    /// The server answered with an error (`__rpc_err`): the protocol's
    /// error object, boxed to keep the enum small.
    #[error("the server answered {0}")]
    Server(Box<ErrorObject>),
    /// The server answered with one of the call's own error codes, decoded
    /// as its error type `E`, beside the error object it came in.
    #[error("the server answered {1}")]
    App(E, Box<ErrorObject>),
    /// No reply came within the call's timeout. A reply that comes later
    /// is dropped.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The client is closed or has failed (see
    /// [`State`](crate::State)), or the server closed the connection on
    /// purpose before the reply came. A call that was never sent was not
    /// run.
    #[error("the connection is closed")]
    ConnectionClosed,
    /// The connection dropped while the call was in flight and its session
    /// did not come back (a fresh session began, or reconnecting failed):
    /// the server may or may not have run it.
    #[error("the connection was lost before the reply came")]
    ConnectionLost,
    /// The client is not connected and its offline queue (of this many
    /// frames, see
    /// [`ClientBuilder::offline_queue`](crate::ClientBuilder::offline_queue))
    /// is full; nothing was queued.
    #[error("not connected and the offline queue ({0} frames) is full")]
    QueueFull(usize),
    /// The input could not be serialized as JSON.
    #[error("could not serialize the input: {0}")]
    Serialize(#[source] serde_json::Error),
    /// The reply's payload does not match the expected output type.
    #[error("could not decode the reply: {0}")]
    Decode(#[source] serde_json::Error),
}

/// `Debug` whatever `E` is: the decoded error shows as the error object it
/// came in.
impl<E> std::fmt::Debug for CallError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Server(error) => f.debug_tuple("Server").field(error).finish(),
            Self::App(_, error) => f.debug_tuple("App").field(error).finish(),
            Self::Timeout(after) => f.debug_tuple("Timeout").field(after).finish(),
            Self::ConnectionClosed => f.write_str("ConnectionClosed"),
            Self::ConnectionLost => f.write_str("ConnectionLost"),
            Self::QueueFull(frames) => f.debug_tuple("QueueFull").field(frames).finish(),
            Self::Serialize(err) => f.debug_tuple("Serialize").field(err).finish(),
            Self::Decode(err) => f.debug_tuple("Decode").field(err).finish(),
        }
    }
}

impl CallError {
    /// This error, with an error reply whose code and data decode as `E`
    /// (`{"code": ..., "data": ...}`, as `E` deserializes) turned into
    /// [`CallError::App`]. What typed clients do for calls with an error
    /// type.
    pub fn decode_app<E: DeserializeOwned>(self) -> CallError<E> {
        self.map_app(|error| {
            let mut tagged = serde_json::Map::new();
            tagged.insert(
                "code".into(),
                Value::String(error.code().as_str().to_owned()),
            );
            if let Some(Ok(data)) = error.data_as::<Value>() {
                tagged.insert("data".into(), data);
            }
            let tagged = Value::Object(tagged);
            serde_json::from_value::<E>(tagged.clone())
                .ok()
                .or_else(|| serde_json::from_value::<E>(tagged["code"].clone()).ok())
        })
    }

    /// This error as a `CallError<E>`, with `decode` trying each error reply.
    pub fn map_app<E>(self, decode: impl FnOnce(&ErrorObject) -> Option<E>) -> CallError<E> {
        match self {
            Self::Server(error) => match decode(&error) {
                Some(app) => CallError::App(app, error),
                None => CallError::Server(error),
            },
            Self::App(never, _) => match never {},
            Self::Timeout(after) => CallError::Timeout(after),
            Self::ConnectionClosed => CallError::ConnectionClosed,
            Self::ConnectionLost => CallError::ConnectionLost,
            Self::QueueFull(frames) => CallError::QueueFull(frames),
            Self::Serialize(err) => CallError::Serialize(err),
            Self::Decode(err) => CallError::Decode(err),
        }
    }
}

impl<E> CallError<E> {
    /// The server's error code (`VALIDATION`, `NOT_FOUND`, an application's
    /// code); `None` when the error did not come from the server.
    pub fn code(&self) -> Option<&str> {
        self.server().map(|e| e.code().as_str())
    }

    /// The server's error message; `None` when the error did not come from
    /// the server (its `Display` says what happened).
    pub fn message(&self) -> Option<&str> {
        self.server().map(ErrorObject::message)
    }

    /// The field at fault, for the server's `VALIDATION` errors
    /// (`items[2].qty`).
    pub fn path(&self) -> Option<&str> {
        self.server().and_then(ErrorObject::path)
    }

    /// The structured details of the server's error, as a JSON value;
    /// `None` when it gave none (or `null`).
    pub fn data(&self) -> Option<Value> {
        self.data_as().and_then(Result::ok)
    }

    /// The structured details of the server's error, decoded as `T`;
    /// `None` when it gave none (or `null`), an error when they do not
    /// decode as `T`.
    pub fn data_as<T: DeserializeOwned>(&self) -> Option<Result<T, serde_json::Error>> {
        self.server().and_then(|e| e.data_as())
    }

    /// The server's error reply, when this is one (decoded or not).
    pub fn server(&self) -> Option<&ErrorObject> {
        match self {
            Self::Server(error) | Self::App(_, error) => Some(error),
            _ => None,
        }
    }

    /// The call's own error, decoded, when the server answered with one.
    pub fn app(&self) -> Option<&E> {
        match self {
            Self::App(app, _) => Some(app),
            _ => None,
        }
    }
}

/// Why [`Client::connect`](crate::Client::connect) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The server refused the handshake with an HTTP response.
    #[error("{0}")]
    Refused(Refusal),
    /// The headers are not a struct or map of flat values, or a field
    /// cannot be an HTTP header: its name is not a header name (or is one
    /// the handshake sets), or its value has a control character. The
    /// message names the field. Also a session id with a control
    /// character.
    #[error("invalid headers: {0}")]
    Headers(String),
    /// The URL is invalid, or the connection or handshake failed.
    #[error("transport error: {0}")]
    Transport(#[from] tungstenite::Error),
    /// The server closed the connection before `__ready` (for instance
    /// with the application's 4xxx code when `on_connect` refused it).
    #[error("closed before `__ready`: {}{}", code.map_or("no code".to_owned(), |c| c.to_string()), if reason.is_empty() { String::new() } else { format!(" {reason}") })]
    Closed {
        /// The close code, when the server sent a close frame.
        code: Option<u16>,
        /// The close reason.
        reason: String,
    },
    /// The server's first frame was not a valid `__ready`.
    #[error("the first frame is not `__ready`: {0}")]
    BadFirstFrame(String),
    /// The server's `__ready` names another protocol version than this
    /// client's. Final: reconnecting would only meet the same server.
    #[error("the server speaks protocol version {server}, this client version {client}")]
    ProtocolVersion {
        /// The server's version, from its `__ready`.
        server: u32,
        /// This client's version,
        /// [`zocket_protocol::PROTOCOL_VERSION`].
        client: u32,
    },
    /// The server's API schema differs from the one this client was built
    /// from ([`ClientBuilder::expect_schema`](crate::ClientBuilder::expect_schema)
    /// with [`SchemaCheck::Refuse`](crate::SchemaCheck::Refuse)). Final:
    /// reconnecting would only meet the same server.
    #[error(
        "the server's API schema ({server}) differs from this client's ({client}): rebuild the client from the server's definition"
    )]
    SchemaMismatch {
        /// The server's schema hash, from its `__ready`.
        server: String,
        /// The hash this client expects.
        client: String,
    },
    /// The handshake and `__ready` took longer than the connect timeout.
    #[error("no `__ready` within {0:?}")]
    Timeout(Duration),
    /// An open connection ended: the server closed it (with this code
    /// and reason), or it dropped without a close frame.
    #[error("{}", match code {
        Some(code) if reason.is_empty() => format!("the server closed the connection with {code}"),
        Some(code) => format!("the server closed the connection with {code} {reason}"),
        None => "the connection dropped".to_owned(),
    })]
    Disconnected {
        /// The close code, when the server sent a close frame.
        code: Option<u16>,
        /// The close reason.
        reason: String,
    },
}

impl ConnectError {
    /// The refusal, when the server refused the handshake.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Self::Refused(refusal) => Some(refusal),
            _ => None,
        }
    }
}

/// A refused handshake: the HTTP status and the server's JSON error body
/// (see the protocol's handshake table).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("handshake refused with HTTP {status}{}: {message}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
pub struct Refusal {
    /// The HTTP status (`400`, `401`, `403`, `503`...).
    pub status: u16,
    /// The body's error code (`INVALID_HEADERS`, `UNAUTHORIZED`...);
    /// `None` when the body is not a zocket error.
    pub code: Option<String>,
    /// The body's message, or else the body's text or the status reason.
    pub message: String,
    /// For `INVALID_HEADERS`: one issue per field at fault.
    pub issues: Vec<HeaderIssue>,
}

/// An error item of an [`EventStream`](crate::EventStream) or
/// [`ErrorStream`](crate::ErrorStream). The stream goes on after it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// An event's payload does not match the stream's type.
    #[error("could not decode event `{name}`{}: {source}", seq.map(|s| format!(" (seq {s})")).unwrap_or_default())]
    Decode {
        /// The event's name.
        name: String,
        /// The event's `seq`, when it had one.
        seq: Option<u64>,
        /// Why it did not decode.
        #[source]
        source: serde_json::Error,
    },
    /// The stream was read too slowly and this many items, the oldest,
    /// were dropped (see the buffer size on
    /// [`ClientBuilder::event_buffer`](crate::ClientBuilder::event_buffer)).
    #[error("the stream fell behind: {0} items dropped")]
    Lagged(u64),
    /// The server dropped this many events of this kind for this client
    /// (its queue was full; the event declares `when_full`), since the one
    /// before; the next item is the event that followed them.
    #[error("the server dropped {0} events of this kind")]
    Dropped(u64),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use zocket_protocol::ErrorCode;

    #[test]
    fn accessors_read_the_server_error() {
        let data = serde_json::value::to_raw_value(&json!({"left": 0})).unwrap();
        let error = ErrorObject::new(ErrorCode::new("OUT_OF_STOCK"), "gone")
            .with_path("sku")
            .with_data(data);
        let err: CallError = CallError::Server(Box::new(error));
        assert_eq!(err.code(), Some("OUT_OF_STOCK"));
        assert_eq!(err.message(), Some("gone"));
        assert_eq!(err.path(), Some("sku"));
        assert_eq!(err.data(), Some(json!({"left": 0})));
        assert_eq!(
            err.to_string(),
            "the server answered OUT_OF_STOCK: gone (at `sku`)"
        );
        let timeout: CallError = CallError::Timeout(Duration::from_secs(1));
        assert_eq!(
            (timeout.code(), timeout.message(), timeout.path()),
            (None, None, None)
        );
        assert!(timeout.data().is_none() && timeout.server().is_none());
    }

    #[test]
    fn data_decodes_as_the_type_asked_for() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Stock {
            left: u32,
        }
        let text = r#"{"code":"OUT_OF_STOCK","message":"gone","path":null,"data":{"left":3}}"#;
        let err: CallError = CallError::Server(Box::new(serde_json::from_str(text).unwrap()));
        assert_eq!(err.data_as::<Stock>().unwrap().unwrap(), Stock { left: 3 });
        assert!(err.data_as::<Vec<u32>>().unwrap().is_err());
        let text = r#"{"code":"INTERNAL","message":"oops","path":null,"data":null}"#;
        let err: CallError = CallError::Server(Box::new(serde_json::from_str(text).unwrap()));
        assert!(err.data().is_none() && err.data_as::<Stock>().is_none());
    }

    #[test]
    fn error_replies_of_the_call_s_own_codes_decode_as_its_error_type() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        #[serde(tag = "code", content = "data", rename_all = "SCREAMING_SNAKE_CASE")]
        enum ShopError {
            OutOfStock { left: u32 },
            Closed,
        }
        let reply = |text: &str| -> CallError {
            CallError::Server(Box::new(serde_json::from_str(text).unwrap()))
        };
        let stock =
            reply(r#"{"code":"OUT_OF_STOCK","message":"gone","path":null,"data":{"left":3}}"#)
                .decode_app::<ShopError>();
        assert_eq!(stock.app(), Some(&ShopError::OutOfStock { left: 3 }));
        assert_eq!(
            (stock.code(), stock.message()),
            (Some("OUT_OF_STOCK"), Some("gone"))
        );
        let closed = reply(r#"{"code":"CLOSED","message":"shut","path":null,"data":null}"#)
            .decode_app::<ShopError>();
        assert_eq!(closed.app(), Some(&ShopError::Closed));
        // Other codes stay the server's.
        let other = reply(r#"{"code":"VALIDATION","message":"bad","path":"sku","data":null}"#)
            .decode_app::<ShopError>();
        assert!(matches!(other, CallError::Server(_)));
        assert_eq!(other.path(), Some("sku"));
        let timeout: CallError = CallError::Timeout(Duration::from_secs(1));
        assert!(matches!(
            timeout.decode_app::<ShopError>(),
            CallError::Timeout(_)
        ));
    }

    #[test]
    fn connect_errors_say_what_happened() {
        let refused = ConnectError::Refused(Refusal {
            status: 401,
            code: Some("UNAUTHORIZED".into()),
            message: "log in first".into(),
            issues: Vec::new(),
        });
        assert_eq!(
            refused.to_string(),
            "handshake refused with HTTP 401 UNAUTHORIZED: log in first"
        );
        let closed = ConnectError::Closed {
            code: Some(4403),
            reason: "no".into(),
        };
        assert_eq!(closed.to_string(), "closed before `__ready`: 4403 no");
        assert_eq!(refused.refusal().map(|r| r.status), Some(401));
        let dropped = ConnectError::Disconnected {
            code: None,
            reason: String::new(),
        };
        assert_eq!(dropped.to_string(), "the connection dropped");
        let kicked = ConnectError::Disconnected {
            code: Some(4000),
            reason: "bye".into(),
        };
        assert_eq!(
            kicked.to_string(),
            "the server closed the connection with 4000 bye"
        );
        let version = ConnectError::ProtocolVersion {
            server: 2,
            client: 1,
        };
        assert_eq!(
            version.to_string(),
            "the server speaks protocol version 2, this client version 1"
        );
    }
}
