//! A small WebSocket test client and helpers to run servers on 127.0.0.1,
//! or in memory through zocket's test kit where a real socket adds nothing.

pub mod cluster;
pub mod proxy;
pub mod redis;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use zocket::client::{Connector, Io};

/// The test client's socket: TCP or an in-memory pipe.
pub type Socket = WebSocketStream<Box<dyn Io>>;

/// In-memory servers by the host name of their URLs (`mem-1`, ...).
static IN_MEMORY: std::sync::Mutex<Vec<(String, zocket::testing::Pipes)>> =
    std::sync::Mutex::new(Vec::new());

/// Serves a zocket server in memory ([`zocket::testing::TestServer`]);
/// the returned host (`mem-N`) goes where an address would in a URL, and
/// [`TestClient`] connects to it with no TCP and no port.
pub fn serve_in_memory<H, C>(server: zocket::Server<H, C>) -> (String, zocket::ServerHandle<C>)
where
    H: serde::de::DeserializeOwned + schemars::JsonSchema + Send + Sync + 'static,
    C: Send + Sync + 'static,
{
    let test = zocket::testing::TestServer::new(server);
    let mut servers = IN_MEMORY.lock().unwrap_or_else(|p| p.into_inner());
    let host = format!("mem-{}", servers.len() + 1);
    servers.push((host.clone(), test.connector()));
    (host, test.handle())
}

/// Opens the byte stream to `url`'s host: an in-memory server's pipe, or
/// a TCP connection.
async fn open(url: &str) -> std::io::Result<Box<dyn Io>> {
    let authority = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', '?'])
        .next()
        .unwrap_or_default()
        .to_owned();
    let pipes = IN_MEMORY
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .find(|(host, _)| *host == authority)
        .map(|(_, pipes)| pipes.clone());
    match pipes {
        Some(pipes) => pipes.connect(url).await,
        None => {
            let stream = TcpStream::connect(&authority).await?;
            stream.set_nodelay(true)?;
            Ok(Box::new(stream))
        }
    }
}

/// How long any single wait in a test may take before it fails.
pub const WAIT: Duration = Duration::from_secs(5);

/// Awaits `fut`, failing the test with `what` when it takes longer than [`WAIT`].
pub async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Waits (within [`WAIT`]) until no session of the server has a live
/// connection: the lost ones are kept for recovery.
pub async fn until_no_live_connection<C: Send + Sync + 'static>(handle: &zocket::ServerHandle<C>) {
    within("the connections to be lost", async {
        while handle.connections().iter().any(|c| c.is_connected()) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// Serves a zocket server on a free port of 127.0.0.1.
pub async fn serve<H, C>(server: zocket::Server<H, C>) -> (SocketAddr, zocket::ServerHandle<C>)
where
    H: serde::de::DeserializeOwned + schemars::JsonSchema + Send + Sync + 'static,
    C: Send + Sync + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let handle = server.handle();
    tokio::spawn(server.serve_listener(listener));
    (addr, handle)
}

/// Serves an axum app on a free port of 127.0.0.1.
pub async fn serve_app(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A refused handshake: the HTTP status and the JSON body.
#[derive(Debug)]
pub struct Refused {
    /// The HTTP status.
    pub status: u16,
    /// The body, parsed as JSON (`null` when it is not JSON).
    pub body: Value,
}

/// A raw protocol client over tokio-tungstenite.
pub struct TestClient {
    ws: Socket,
    /// The `__ready` payload.
    pub ready: Value,
    /// Frames read while waiting for something else.
    backlog: std::collections::VecDeque<Value>,
    next_rpc: u64,
    rpc_prefix: String,
}

impl TestClient {
    /// Connects and reads `__ready`, or returns the refusal.
    pub async fn try_connect(url: &str) -> Result<Self, Refused> {
        Self::try_connect_request(url, &[]).await
    }

    /// Connects with extra HTTP headers.
    pub async fn try_connect_request(url: &str, headers: &[(&str, &str)]) -> Result<Self, Refused> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = url.into_client_request().expect("valid url");
        for (name, value) in headers {
            request.headers_mut().insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                value.parse().expect("header value"),
            );
        }
        let io = within("the connection", open(url)).await.expect("connect");
        let ws = match within(
            "the handshake",
            tokio_tungstenite::client_async(request, io),
        )
        .await
        {
            Ok((ws, _)) => ws,
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let body = response
                    .body()
                    .as_ref()
                    .and_then(|b| serde_json::from_slice(b).ok())
                    .unwrap_or(Value::Null);
                return Err(Refused {
                    status: response.status().as_u16(),
                    body,
                });
            }
            Err(err) => panic!("connect failed: {err}"),
        };
        let mut client = Self {
            ws,
            ready: Value::Null,
            backlog: Default::default(),
            next_rpc: 0,
            rpc_prefix: "r".into(),
        };
        let ready = client.next_frame().await;
        assert_eq!(ready["type"], "__ready", "the first frame is __ready");
        client.ready = ready["payload"].clone();
        Ok(client)
    }

    /// Connects, failing the test on refusal.
    pub async fn connect(url: &str) -> Self {
        Self::try_connect(url).await.expect("handshake accepted")
    }

    /// The client id from `__ready`.
    pub fn client_id(&self) -> String {
        self.ready["clientId"]
            .as_str()
            .expect("clientId")
            .to_owned()
    }

    /// Sends a raw text frame.
    pub async fn send_text(&mut self, text: &str) {
        within("a send", self.ws.send(Message::text(text)))
            .await
            .expect("send");
    }

    /// Sends a raw frame of any kind.
    pub async fn send_message(&mut self, msg: Message) {
        within("a send", self.ws.send(msg)).await.expect("send");
    }

    /// Sends a JSON frame.
    pub async fn send_json(&mut self, value: Value) {
        self.send_text(&value.to_string()).await;
    }

    /// Sets the prefix of the `rpcId`s of later calls (default `r`): a
    /// client resuming a session must not reuse the ids of an earlier one.
    pub fn set_rpc_prefix(&mut self, prefix: &str) {
        self.rpc_prefix = prefix.to_owned();
    }

    /// Sends a call and returns its `rpcId` without waiting.
    pub async fn start_call(&mut self, route: &str, payload: Value) -> String {
        self.next_rpc += 1;
        let id = format!("{}{}", self.rpc_prefix, self.next_rpc);
        self.send_json(json!({"type": route, "payload": payload, "rpcId": id}))
            .await;
        id
    }

    /// Waits for the reply (`__rpc_res` or `__rpc_err` frame) to `rpc_id`,
    /// keeping other frames for later.
    pub async fn reply(&mut self, rpc_id: &str) -> Value {
        if let Some(pos) = self.backlog.iter().position(|f| is_reply_to(f, rpc_id)) {
            return self.backlog.remove(pos).expect("present");
        }
        loop {
            let frame = self.read().await;
            if is_reply_to(&frame, rpc_id) {
                return frame;
            }
            self.backlog.push_back(frame);
        }
    }

    /// Calls and returns the whole reply frame.
    pub async fn call(&mut self, route: &str, payload: Value) -> Value {
        let id = self.start_call(route, payload).await;
        self.reply(&id).await
    }

    /// Calls and returns the reply's payload, failing on an error reply.
    pub async fn call_ok(&mut self, route: &str, payload: Value) -> Value {
        let reply = self.call(route, payload).await;
        assert_eq!(reply["type"], "__rpc_res", "expected success, got {reply}");
        reply["payload"].clone()
    }

    /// Calls and returns the `error` of an error reply.
    pub async fn call_err(&mut self, route: &str, payload: Value) -> Value {
        let reply = self.call(route, payload).await;
        assert_eq!(reply["type"], "__rpc_err", "expected an error, got {reply}");
        reply["error"].clone()
    }

    /// The next frame (backlog first).
    pub async fn next_frame(&mut self) -> Value {
        match self.backlog.pop_front() {
            Some(frame) => frame,
            None => self.read().await,
        }
    }

    /// The next frame of type `ty`, keeping others for later.
    pub async fn next_of(&mut self, ty: &str) -> Value {
        if let Some(pos) = self.backlog.iter().position(|f| f["type"] == ty) {
            return self.backlog.remove(pos).expect("present");
        }
        loop {
            let frame = self.read().await;
            if frame["type"] == ty {
                return frame;
            }
            self.backlog.push_back(frame);
        }
    }

    async fn read(&mut self) -> Value {
        loop {
            let msg = within("a frame", self.ws.next())
                .await
                .expect("the connection is open")
                .expect("a frame");
            match msg {
                Message::Text(text) => {
                    return serde_json::from_str(&text).expect("frames are JSON");
                }
                Message::Close(frame) => panic!("connection closed: {frame:?}"),
                _ => {}
            }
        }
    }

    /// Reads until the server's close frame; frames before it are kept.
    pub async fn closed(&mut self) -> Option<CloseFrame> {
        loop {
            match within("the close frame", self.ws.next()).await {
                Some(Ok(Message::Close(frame))) => {
                    // Reading on sends the close reply, completing the handshake.
                    while let Ok(Some(Ok(_))) = tokio::time::timeout(WAIT, self.ws.next()).await {}
                    return frame;
                }
                Some(Ok(Message::Text(text))) => self
                    .backlog
                    .push_back(serde_json::from_str(&text).expect("JSON")),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Whether a frame arrives within `wait` (for checks that nothing comes).
    pub async fn quiet_for(&mut self, wait: Duration) -> Option<Value> {
        if let Some(frame) = self.backlog.pop_front() {
            return Some(frame);
        }
        loop {
            match tokio::time::timeout(wait, self.ws.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(Message::Text(text)))) => {
                    return Some(serde_json::from_str(&text).expect("JSON"));
                }
                Ok(Some(Ok(Message::Close(frame)))) => panic!("connection closed: {frame:?}"),
                Ok(Some(Ok(_))) => {}
                Ok(_) => panic!("connection ended"),
            }
        }
    }

    /// Closes from the client side.
    pub async fn close(mut self) {
        let frame = CloseFrame {
            code: tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Normal,
            reason: "bye".into(),
        };
        let _ = within("the close", self.ws.close(Some(frame))).await;
        while let Ok(Some(Ok(_))) = tokio::time::timeout(WAIT, self.ws.next()).await {}
    }

    /// The raw socket, for tests that need to misbehave.
    pub fn into_inner(self) -> Socket {
        self.ws
    }
}

fn is_reply_to(frame: &Value, rpc_id: &str) -> bool {
    (frame["type"] == "__rpc_res" || frame["type"] == "__rpc_err") && frame["rpcId"] == rpc_id
}

/// Upgrades to `url` with these extra headers, then returns the first
/// frame's close code and reason: for handshakes refused after the upgrade
/// (a failed `on_connect` or `on_resume`, a refusal a browser asked to
/// read). Fails the test when anything else comes first.
pub async fn first_close(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = url.into_client_request().expect("valid url");
    for (name, value) in headers {
        request.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            value.parse().expect("header value"),
        );
    }
    let (mut ws, response) = within("the handshake", tokio_tungstenite::connect_async(request))
        .await
        .expect("upgraded");
    assert_eq!(response.status(), 101);
    match within("the first frame", ws.next()).await {
        Some(Ok(Message::Close(Some(close)))) => (u16::from(close.code), close.reason.to_string()),
        other => panic!("expected a close frame first, got {other:?}"),
    }
}

/// A plain HTTP/1.1 GET: the status and the body.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = within("connect", TcpStream::connect(addr))
        .await
        .expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    within("the response", stream.read_to_end(&mut raw))
        .await
        .expect("read");
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Everything the process logs, at every level, from the first call of
/// [`CapturedLogs::global`] on.
pub struct CapturedLogs {
    buffer: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl CapturedLogs {
    /// Installs (once) a global subscriber that keeps every log line.
    pub fn global() -> Self {
        static BUFFER: std::sync::OnceLock<std::sync::Arc<std::sync::Mutex<Vec<u8>>>> =
            std::sync::OnceLock::new();
        let buffer = BUFFER
            .get_or_init(|| {
                let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
                let writer = {
                    let buffer = buffer.clone();
                    move || Writer(buffer.clone())
                };
                let subscriber = tracing_subscriber::fmt()
                    .with_max_level(tracing::Level::TRACE)
                    .with_ansi(false)
                    .with_writer(writer)
                    .finish();
                tracing::subscriber::set_global_default(subscriber)
                    .expect("no other global subscriber");
                buffer
            })
            .clone();
        Self { buffer }
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().expect("lock")).into_owned()
    }
}

struct Writer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The README's examples, compiled as doctests (here, where the chat
/// example and zocket's client and test kit are at hand).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
