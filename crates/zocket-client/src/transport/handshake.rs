//! The server's answer to the handshake: a refusal (an HTTP response with
//! the protocol's error body), or the `__ready` frame.

use crate::error::{ConnectError, Refusal};
use futures_util::{Stream, StreamExt};
use tokio_tungstenite::tungstenite::{self, Message, http};
use zocket_protocol::{PROTOCOL_VERSION, Ready, RefusalBody, ServerFrame};

/// The server's refusal, when the handshake got an HTTP response other
/// than the upgrade; otherwise the transport's error.
pub(super) fn refused_or_transport(err: tungstenite::Error) -> ConnectError {
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
pub(super) async fn first_frame<S>(socket: &mut S) -> Result<Ready, ConnectError>
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
    // A `__ready` that failed to parse may hold a session id: name it only.
    if text.contains("\"__ready\"") {
        return "a malformed `__ready`".into();
    }
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
    use zocket_protocol::HeaderIssue;

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
