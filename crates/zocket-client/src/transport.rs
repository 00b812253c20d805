//! Opening a connection: the headers and the session as query
//! parameters, the WebSocket handshake (and its refusal), and the
//! `__ready` frame, whose protocol version must be this client's.

use crate::error::{ConnectError, Refusal};
use futures_util::future::BoxFuture;
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message, http};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use zocket_protocol::{
    LAST_SEQ_PARAM, PROTOCOL_VERSION, Ready, RefusalBody, SESSION_ID_PARAM, ServerFrame,
};

/// The client's socket over TCP.
pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A byte stream a WebSocket connection runs on.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// Opens the byte stream of each connection attempt, in place of a TCP
/// connection to the URL's host: the WebSocket handshake, the headers and
/// everything after run over it unchanged. `zocket::testing` connects
/// clients to an in-process server this way, with no port.
pub trait Connector: Send + Sync + 'static {
    /// Opens a stream to the server at `url`.
    fn connect(&self, url: &str) -> BoxFuture<'static, std::io::Result<Box<dyn Io>>>;
}

/// Connects to `url` (with its query parameters already added) over TCP
/// and reads `__ready`, all within `timeout`.
pub(crate) async fn open(url: &str, timeout: Duration) -> Result<(Socket, Ready), ConnectError> {
    let opening = async {
        let (mut socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(refused_or_transport)?;
        let ready = first_frame(&mut socket).await?;
        Ok((socket, ready))
    };
    tokio::time::timeout(timeout, opening)
        .await
        .map_err(|_| ConnectError::Timeout(timeout))?
}

/// Like [`open`], over the stream `connector` opens.
pub(crate) async fn open_with(
    connector: &dyn Connector,
    url: &str,
    timeout: Duration,
) -> Result<(WebSocketStream<Box<dyn Io>>, Ready), ConnectError> {
    let opening = async {
        let io = connector
            .connect(url)
            .await
            .map_err(|err| ConnectError::Transport(tungstenite::Error::Io(err)))?;
        let (mut socket, _) = tokio_tungstenite::client_async(url, io)
            .await
            .map_err(refused_or_transport)?;
        let ready = first_frame(&mut socket).await?;
        Ok((socket, ready))
    };
    tokio::time::timeout(timeout, opening)
        .await
        .map_err(|_| ConnectError::Timeout(timeout))?
}

/// Query parameters, already encoded from the headers.
pub(crate) type Query = Vec<(String, String)>;

/// What a connection attempt sends: the headers, and the session to
/// resume with the last event `seq` received.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Attempt {
    pub(crate) query: Query,
    pub(crate) session: Option<(String, u64)>,
}

impl Attempt {
    /// `url` with the headers, then the session's id and last `seq`, as
    /// query parameters.
    pub(crate) fn url(&self, url: &str) -> String {
        let seq = self.session.as_ref().map(|(_, seq)| seq.to_string());
        let mut pairs: Vec<(&str, &str)> = self
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if let (Some((id, _)), Some(seq)) = (&self.session, &seq) {
            pairs.push((SESSION_ID_PARAM, id));
            pairs.push((LAST_SEQ_PARAM, seq));
        }
        with_pairs(url, pairs)
    }
}

/// The flat fields of `headers` as query parameters: strings as they are,
/// numbers and booleans in their JSON form; `null` (a `None`) leaves the
/// field out.
pub(crate) fn query<H: Serialize + ?Sized>(headers: &H) -> Result<Query, ConnectError> {
    let fields = match serde_json::to_value(headers) {
        Ok(Value::Object(fields)) => fields,
        Ok(Value::Null) => return Ok(Query::new()),
        Ok(other) => {
            return Err(ConnectError::Headers(format!(
                "expected a struct or a map, got {}",
                kind(&other)
            )));
        }
        Err(err) => return Err(ConnectError::Headers(err.to_string())),
    };
    let mut query = Query::new();
    for (name, value) in fields {
        match value {
            Value::Null => {}
            Value::String(s) => query.push((name, s)),
            Value::Bool(_) | Value::Number(_) => {
                let text = value.to_string();
                query.push((name, text));
            }
            Value::Array(_) | Value::Object(_) => {
                return Err(ConnectError::Headers(format!(
                    "field `{name}` is {}: header fields are flat values",
                    kind(&value)
                )));
            }
        }
    }
    Ok(query)
}

/// `url` with `pairs` added to its query string.
fn with_pairs<'a>(url: &str, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(pairs);
    let query = query.finish();
    if query.is_empty() {
        return url.to_owned();
    }
    let (base, fragment) = match url.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (url, None),
    };
    let separator = match base.find('?') {
        None => "?",
        Some(_) if base.ends_with('?') || base.ends_with('&') => "",
        Some(_) => "&",
    };
    let mut out = format!("{base}{separator}{query}");
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn refused_or_transport(err: tungstenite::Error) -> ConnectError {
    match err {
        tungstenite::Error::Http(response) => ConnectError::Refused(refusal(&response)),
        other => ConnectError::Transport(other),
    }
}

/// Reads the server's refusal: `{"error":{"code","message","issues"?}}`.
fn refusal(response: &http::Response<Option<Vec<u8>>>) -> Refusal {
    let status = response.status();
    let body = response.body().as_deref().unwrap_or_default();
    match serde_json::from_slice::<RefusalBody>(body) {
        Ok(RefusalBody { error }) => Refusal {
            status: status.as_u16(),
            code: Some(error.code.as_str().to_owned()),
            message: error.message,
            issues: error.issues,
        },
        Err(_) => {
            let text = String::from_utf8_lossy(body).trim().to_owned();
            let message = if text.is_empty() {
                status.canonical_reason().unwrap_or("refused").to_owned()
            } else {
                text
            };
            Refusal {
                status: status.as_u16(),
                code: None,
                message,
                issues: Vec::new(),
            }
        }
    }
}

/// Reads the server's first frame, which must be `__ready` with this
/// client's protocol version.
pub(crate) async fn first_frame<S>(socket: &mut S) -> Result<Ready, ConnectError>
where
    S: Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
{
    loop {
        let message = match socket.next().await {
            None => {
                return Err(ConnectError::Closed {
                    code: None,
                    reason: String::new(),
                });
            }
            Some(Err(err)) => return Err(ConnectError::Transport(err)),
            Some(Ok(message)) => message,
        };
        match message {
            Message::Text(text) => {
                return match ServerFrame::parse(&text) {
                    Ok(ServerFrame::Ready(ready)) => speaks_our_version(ready),
                    Ok(_) => Err(ConnectError::BadFirstFrame(excerpt(&text))),
                    Err(err) => Err(ConnectError::BadFirstFrame(format!(
                        "{err}: {}",
                        excerpt(&text)
                    ))),
                };
            }
            Message::Close(frame) => {
                return Err(ConnectError::Closed {
                    code: frame.as_ref().map(|f| u16::from(f.code)),
                    reason: frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                });
            }
            Message::Binary(_) => {
                return Err(ConnectError::BadFirstFrame("a binary frame".into()));
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    }
}

/// `ready`, unless the server speaks another protocol version.
fn speaks_our_version(ready: Ready) -> Result<Ready, ConnectError> {
    if ready.protocol_version == PROTOCOL_VERSION {
        Ok(ready)
    } else {
        Err(ConnectError::ProtocolVersion {
            server: ready.protocol_version,
            client: PROTOCOL_VERSION,
        })
    }
}

/// The start of a frame's text, for error messages.
fn excerpt(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;
    use std::collections::BTreeMap;
    use zocket_protocol::HeaderIssue;

    /// `url` with the flat fields of `headers` added as query parameters.
    fn with_query<H: Serialize + ?Sized>(url: &str, headers: &H) -> Result<String, ConnectError> {
        let attempt = Attempt {
            query: query(headers)?,
            session: None,
        };
        Ok(attempt.url(url))
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Headers {
        name: &'static str,
        age: u8,
        beta: bool,
        auth_token: Option<&'static str>,
    }

    #[test]
    fn headers_become_query_parameters() {
        let headers = Headers {
            name: "ada lovelace&co",
            age: 36,
            beta: true,
            auth_token: None,
        };
        assert_eq!(
            with_query("ws://h/ws", &headers).unwrap(),
            "ws://h/ws?age=36&beta=true&name=ada+lovelace%26co"
        );
        let map = BTreeMap::from([("a", "1")]);
        assert_eq!(with_query("ws://h/?x=0", &map).unwrap(), "ws://h/?x=0&a=1");
        assert_eq!(with_query("ws://h/?", &map).unwrap(), "ws://h/?a=1");
        assert_eq!(with_query("ws://h/#top", &map).unwrap(), "ws://h/?a=1#top");
        assert_eq!(with_query("ws://h/", &()).unwrap(), "ws://h/");
        assert_eq!(
            with_query("ws://h/", &BTreeMap::<String, String>::new()).unwrap(),
            "ws://h/"
        );
    }

    #[test]
    fn nested_or_non_struct_headers_are_refused() {
        let nested = serde_json::json!({"a": {"b": 1}});
        assert!(
            matches!(with_query("ws://h/", &nested), Err(ConnectError::Headers(m)) if m.contains("`a`"))
        );
        assert!(matches!(
            with_query("ws://h/", &[1, 2]),
            Err(ConnectError::Headers(_))
        ));
    }

    #[test]
    fn a_resume_sends_the_session_and_the_last_seq_after_the_headers() {
        let attempt = Attempt {
            query: vec![("name".into(), "ada".into())],
            session: Some(("s 1".into(), 42)),
        };
        assert_eq!(
            attempt.url("ws://h/ws"),
            "ws://h/ws?name=ada&sessionId=s+1&lastSeq=42"
        );
        let first = Attempt {
            session: None,
            ..attempt
        };
        assert_eq!(first.url("ws://h/ws"), "ws://h/ws?name=ada");
    }

    fn response(status: u16, body: &str) -> http::Response<Option<Vec<u8>>> {
        let mut response = http::Response::new(Some(body.as_bytes().to_vec()));
        *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
        response
    }

    #[test]
    fn refusals_read_the_error_body() {
        let body = r#"{"error":{"code":"INVALID_HEADERS","message":"invalid headers: name: missing required field","issues":[{"path":"name","message":"missing required field"}]}}"#;
        let refused = refusal(&response(400, body));
        assert_eq!(refused.status, 400);
        assert_eq!(refused.code.as_deref(), Some("INVALID_HEADERS"));
        assert_eq!(
            refused.issues,
            vec![HeaderIssue {
                path: "name".into(),
                message: "missing required field".into()
            }]
        );
        let plain = refusal(&response(404, ""));
        assert_eq!((plain.code, plain.message.as_str()), (None, "Not Found"));
    }

    #[tokio::test]
    async fn the_first_frame_must_be_ready() {
        let ready = format!(
            r#"{{"type":"__ready","payload":{{"clientId":"c","sessionId":"s","protocolVersion":{PROTOCOL_VERSION},"recovered":false}}}}"#
        );
        let mut ok = stream::iter([
            Ok(Message::Ping(Default::default())),
            Ok(Message::text(ready)),
        ]);
        assert_eq!(first_frame(&mut ok).await.unwrap().client_id, "c");
        let mut event = stream::iter([Ok(Message::text(r#"{"type":"x","payload":1}"#))]);
        assert!(matches!(
            first_frame(&mut event).await,
            Err(ConnectError::BadFirstFrame(_))
        ));
        let close = tungstenite::protocol::CloseFrame {
            code: 4403.into(),
            reason: "no late joiners".into(),
        };
        let mut closed = stream::iter([Ok(Message::Close(Some(close)))]);
        assert!(matches!(
            first_frame(&mut closed).await,
            Err(ConnectError::Closed { code: Some(4403), reason }) if reason == "no late joiners"
        ));
        let mut ended = stream::iter(Vec::<Result<Message, tungstenite::Error>>::new());
        assert!(matches!(
            first_frame(&mut ended).await,
            Err(ConnectError::Closed { code: None, .. })
        ));
    }

    #[tokio::test]
    async fn a_server_of_another_protocol_version_is_refused() {
        let other = PROTOCOL_VERSION + 1;
        let ready = format!(
            r#"{{"type":"__ready","payload":{{"clientId":"c","sessionId":"s","protocolVersion":{other},"recovered":false}}}}"#
        );
        let mut newer = stream::iter([Ok(Message::text(ready))]);
        let err = first_frame(&mut newer).await.unwrap_err();
        assert!(
            matches!(err, ConnectError::ProtocolVersion { server, client } if server == other && client == PROTOCOL_VERSION),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(&format!("version {other}"))
                && message.contains(&format!("version {PROTOCOL_VERSION}")),
            "{message}"
        );
    }
}
