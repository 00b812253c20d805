//! Opening a connection: the handshake request (the header fields as HTTP
//! headers, and the session to resume), the WebSocket handshake (and its
//! refusal), and the `__ready` frame, whose protocol version must be this
//! client's. The request is in `request.rs`, the server's answer in
//! `handshake.rs`.

mod handshake;
mod request;

pub(crate) use request::{Attempt, Form, Headers};

use crate::error::ConnectError;
use futures_util::future::BoxFuture;
use handshake::{first_frame, refused_or_transport};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, handshake::client::Request};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use zocket_protocol::Ready;

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

/// Sends `request` (see [`Attempt::request`]) over TCP and reads
/// `__ready`, all within `timeout`.
pub(crate) async fn open(
    request: Request,
    timeout: Duration,
) -> Result<(Socket, Ready), ConnectError> {
    let opening = async {
        let (mut socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .map_err(refused_or_transport)?;
        let ready = first_frame(&mut socket).await?;
        Ok((socket, ready))
    };
    tokio::time::timeout(timeout, opening)
        .await
        .map_err(|_| ConnectError::Timeout(timeout))?
}

/// Like [`open`], over the stream `connector` opens to the request's URL.
pub(crate) async fn open_with(
    connector: &dyn Connector,
    request: Request,
    timeout: Duration,
) -> Result<(WebSocketStream<Box<dyn Io>>, Ready), ConnectError> {
    let opening = async {
        let io = connector
            .connect(&request.uri().to_string())
            .await
            .map_err(|err| ConnectError::Transport(tungstenite::Error::Io(err)))?;
        let (mut socket, _) = tokio_tungstenite::client_async(request, io)
            .await
            .map_err(refused_or_transport)?;
        let ready = first_frame(&mut socket).await?;
        Ok((socket, ready))
    };
    tokio::time::timeout(timeout, opening)
        .await
        .map_err(|_| ConnectError::Timeout(timeout))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{handshakes, header, serve_handshake};
    use std::collections::BTreeMap;
    use tokio::net::TcpListener;
    use tokio::sync::mpsc;
    use zocket_protocol::{LAST_SEQ_HEADER, SESSION_ID_HEADER};

    /// A resume of session `s 1` from `seq` 3, with a non-ASCII name.
    fn resume() -> Attempt {
        let fields = BTreeMap::from([("name", "Ada Lovelacé")]);
        Attempt {
            headers: Headers::encode(&fields, Form::Http).unwrap(),
            session: Some(("s 1".into(), 3)),
        }
    }

    const TIMEOUT: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn open_sends_the_headers_and_the_session_over_tcp() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, mut requests) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let (io, _) = listener.accept().await.unwrap();
            serve_handshake(io, tx).await;
        });
        let request = resume().request(&format!("ws://{addr}/ws?room=1")).unwrap();
        let (_socket, ready) = open(request, TIMEOUT).await.unwrap();
        assert_eq!(ready.client_id, "client-s1");
        let seen = requests.recv().await.unwrap();
        assert_eq!(seen.uri(), "/ws?room=1");
        assert_eq!(header(&seen, "name"), Some("Ada Lovelacé".as_bytes()));
        assert_eq!(header(&seen, SESSION_ID_HEADER), Some(&b"s 1"[..]));
        assert_eq!(header(&seen, LAST_SEQ_HEADER), Some(&b"3"[..]));
    }

    #[tokio::test]
    async fn open_with_sends_the_headers_and_the_session_over_the_connector() {
        let (connector, mut requests) = handshakes();
        let request = resume().request("ws://zocket.test/ws").unwrap();
        let (_socket, ready) = open_with(&connector, request, TIMEOUT).await.unwrap();
        assert_eq!(ready.session_id, "s1");
        let seen = requests.recv().await.unwrap();
        assert_eq!(seen.uri(), "/ws");
        assert_eq!(header(&seen, "name"), Some("Ada Lovelacé".as_bytes()));
        assert_eq!(header(&seen, SESSION_ID_HEADER), Some(&b"s 1"[..]));
        assert_eq!(header(&seen, LAST_SEQ_HEADER), Some(&b"3"[..]));
    }
}
