//! Connecting, and reading the protocol's frames cheaply.

use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// A client connection.
pub(crate) type Ws = WebSocketStream<TcpStream>;

/// How long one connect plus handshake plus `__ready` may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long any single read may take.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(15);

/// Source addresses used in turn: 127.0.0.2 to 127.0.0.17.
const SOURCES: u8 = 16;

/// A server frame, borrowing from its text.
#[derive(Deserialize)]
pub(crate) struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    pub(crate) ty: Cow<'a, str>,
    #[serde(rename = "rpcId", borrow, default)]
    pub(crate) rpc_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) payload: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(crate) error: Option<ErrorObject<'a>>,
}

/// The error of an `__rpc_err` or `__error` frame (its code only).
#[derive(Deserialize)]
pub(crate) struct ErrorObject<'a> {
    #[serde(borrow)]
    pub(crate) code: Cow<'a, str>,
}

impl<'a> Frame<'a> {
    pub(crate) fn parse(text: &'a str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|err| format!("bad frame {text:?}: {err}"))
    }

    /// The payload's JSON (`null` when absent).
    pub(crate) fn payload(&self) -> &str {
        self.payload.map_or("null", RawValue::get)
    }
}

/// Microseconds since the load generator started: the clock of `ts`.
pub(crate) fn now_us() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
}

fn next_source() -> Ipv4Addr {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % usize::from(SOURCES);
    Ipv4Addr::new(127, 0, 0, 2 + n as u8)
}

/// Where a connection attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// TCP connect.
    Connect,
    /// The WebSocket handshake.
    Handshake,
    /// Waiting for `__ready`.
    Ready,
}

/// A TCP connection from the next source address, without delay.
pub(crate) async fn tcp_connect(addr: SocketAddr) -> Result<TcpStream, String> {
    let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket.set_reuseaddr(true).map_err(|e| e.to_string())?;
    socket
        .bind(SocketAddr::from((next_source(), 0)))
        .map_err(|e| format!("bind: {e}"))?;
    let stream = socket.connect(addr).await.map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    Ok(stream)
}

/// Connects from the next source address, with the same 4 KiB read
/// buffer as the servers, and reads `__ready`.
pub(crate) async fn connect(addr: SocketAddr) -> Result<Ws, (Stage, String)> {
    open(addr, "/", true).await
}

/// Connects like [`connect`], to a server that sends no `__ready` (a peer).
pub(crate) async fn connect_plain(addr: SocketAddr) -> Result<Ws, (Stage, String)> {
    open(addr, "/", false).await
}

/// Connects like [`connect_plain`], to `path` (with its query).
pub(crate) async fn connect_path(addr: SocketAddr, path: &str) -> Result<Ws, (Stage, String)> {
    open(addr, path, false).await
}

async fn open(addr: SocketAddr, path: &str, ready: bool) -> Result<Ws, (Stage, String)> {
    let open = async {
        let stream = tcp_connect(addr).await.map_err(|e| (Stage::Connect, e))?;
        let config = WebSocketConfig::default()
            .read_buffer_size(4 * 1024)
            .write_buffer_size(0);
        let (mut ws, _) = tokio_tungstenite::client_async_with_config(
            format!("ws://{addr}{path}"),
            stream,
            Some(config),
        )
        .await
        .map_err(|e| (Stage::Handshake, e.to_string()))?;
        if !ready {
            return Ok(ws);
        }
        let text = read_text(&mut ws).await.map_err(|e| (Stage::Ready, e))?;
        let frame = Frame::parse(&text).map_err(|e| (Stage::Ready, e))?;
        if frame.ty != "__ready" {
            return Err((Stage::Ready, format!("first frame is not __ready: {text}")));
        }
        Ok(ws)
    };
    tokio::time::timeout(CONNECT_TIMEOUT, open)
        .await
        .unwrap_or_else(|_| Err((Stage::Connect, "timed out".into())))
}

/// The next text frame, skipping control frames.
pub(crate) async fn read_text<S>(stream: &mut S) -> Result<String, String>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let next = tokio::time::timeout(READ_TIMEOUT, stream.next())
            .await
            .map_err(|_| format!("no frame within {READ_TIMEOUT:?}"))?;
        match next {
            Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_owned()),
            Some(Ok(Message::Close(close))) => return Err(format!("closed by server: {close:?}")),
            Some(Ok(_)) => {}
            Some(Err(err)) => return Err(err.to_string()),
            None => return Err("connection ended".into()),
        }
    }
}

/// A call frame.
pub(crate) fn call_frame(route: &str, payload: &str, rpc_id: u64) -> Message {
    Message::text(format!(
        r#"{{"type":"{route}","payload":{payload},"rpcId":"{rpc_id}"}}"#
    ))
}
