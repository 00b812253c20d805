//! Scripted peers for the unit tests: an in-memory connection and the
//! server's side of it, a served connection, a client whose connection
//! attempts the test answers one by one, on tokio's paused clock, and a
//! server that accepts real handshakes and shows the test their requests.

use crate::backoff::Backoff;
use crate::client::{Client, ClientBuilder};
use crate::connection::{self, Command, Connection, End};
use crate::error::{CallError, ConnectError};
use crate::events::Subscriptions;
use crate::pending::Ticket;
use crate::shared::Shared;
use crate::state::{State, StateStream};
use crate::supervisor::Opener;
use crate::transport::{Attempt, Connector, Form, Headers, Io};
use futures_util::future::BoxFuture;
use futures_util::stream;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::handshake::server::{Callback, ErrorResponse, Response};
use tokio_tungstenite::tungstenite::{self, Message, http};
use zocket_protocol::{PROTOCOL_VERSION, Ready};

/// The server's side of an in-memory connection.
pub(crate) struct Peer {
    /// Frames to the client; dropping it ends the client's stream.
    pub(crate) incoming: mpsc::UnboundedSender<Result<Message, tungstenite::Error>>,
    /// Frames from the client.
    pub(crate) outgoing: mpsc::UnboundedReceiver<Message>,
}

impl Peer {
    /// Sends a text frame to the client.
    pub(crate) fn send(&self, json: &str) {
        let _ = self.incoming.send(Ok(Message::text(json)));
    }

    /// The next text frame from the client, as JSON.
    pub(crate) async fn recv(&mut self) -> Value {
        loop {
            match self.outgoing.recv().await {
                Some(Message::Text(text)) => return serde_json::from_str(&text).unwrap(),
                Some(_) => {}
                None => panic!("the client's side ended"),
            }
        }
    }
}

/// A `__ready` for session `session`, of client `client-{session}`.
pub(crate) fn ready(session: &str, recovered: bool) -> Ready {
    Ready {
        client_id: format!("client-{session}"),
        session_id: session.into(),
        protocol_version: PROTOCOL_VERSION,
        recovered,
        schema_hash: None,
    }
}

/// An in-memory connection and the server's side of it.
pub(crate) fn connection(ready: Ready) -> (Connection, Peer) {
    let (in_tx, in_rx) = mpsc::unbounded_channel();
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let stream = stream::unfold(
        in_rx,
        |mut rx| async move { rx.recv().await.map(|m| (m, rx)) },
    )
    .boxed();
    let sink = futures_util::sink::unfold(out_tx, |tx, message: Message| async move {
        tx.send(message)
            .map_err(|_| tungstenite::Error::ConnectionClosed)?;
        Ok::<_, tungstenite::Error>(tx)
    });
    let connection = Connection {
        sink: Box::pin(sink),
        stream,
        ready,
    };
    let peer = Peer {
        incoming: in_tx,
        outgoing: out_rx,
    };
    (connection, peer)
}

/// Shared state of a client connected to session `s`, having received its
/// events up to `last_seq`.
pub(crate) fn shared(last_seq: u64) -> Arc<Shared> {
    Arc::new(Shared::new(
        Subscriptions::new(8),
        ready("s", true),
        last_seq,
        State::Connected { recovered: true },
    ))
}

/// One in-memory connection being served.
pub(crate) struct Served {
    pub(crate) shared: Arc<Shared>,
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) peer: Peer,
    pub(crate) end: tokio::task::JoinHandle<End>,
}

/// Serves one in-memory connection, with 8 items of event buffer.
pub(crate) fn served() -> Served {
    let (mut connection, peer) = connection(ready("s", false));
    let (commands, mut rx) = mpsc::channel(8);
    let recovered = connection.ready.recovered;
    let shared = Arc::new(Shared::new(
        Subscriptions::new(8),
        connection.ready.clone(),
        0,
        State::Connected { recovered },
    ));
    let end = tokio::spawn({
        let shared = shared.clone();
        async move { connection::serve(&mut connection, &mut rx, &shared).await }
    });
    Served {
        shared,
        commands,
        peer,
        end,
    }
}

/// Registers a call whose frame is its id.
pub(crate) fn call(shared: &Arc<Shared>) -> Ticket {
    shared.pending.register(|id| Ok(id.to_owned())).unwrap()
}

/// How the test answers one connection attempt.
pub(crate) type Answer = oneshot::Sender<Result<Connection, ConnectError>>;

/// The connection attempts the client makes, each answered by the test.
pub(crate) struct Script {
    attempts: mpsc::UnboundedReceiver<(Attempt, Answer)>,
}

impl Script {
    /// The next attempt, to answer.
    pub(crate) async fn next(&mut self) -> (Attempt, Answer) {
        self.attempts.recv().await.expect("another attempt")
    }

    /// Accepts the next attempt with `ready`.
    pub(crate) async fn accept(&mut self, ready: Ready) -> (Attempt, Peer) {
        let (attempt, answer) = self.next().await;
        let (live, peer) = connection(ready);
        assert!(answer.send(Ok(live)).is_ok());
        (attempt, peer)
    }

    /// Whether the client will make no other attempt.
    pub(crate) async fn is_over(&mut self) -> bool {
        self.attempts.recv().await.is_none()
    }
}

/// An opener whose attempts the [`Script`] answers.
pub(crate) fn script() -> (Opener, Script) {
    let (tx, attempts) = mpsc::unbounded_channel();
    let open: Opener = Box::new(move |attempt| {
        let (answer, answered) = oneshot::channel();
        let _ = tx.send((attempt, answer));
        Box::pin(async move {
            answered.await.unwrap_or(Err(ConnectError::Closed {
                code: None,
                reason: "the test dropped the attempt".into(),
            }))
        })
    });
    (open, Script { attempts })
}

/// `n` milliseconds.
pub(crate) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A builder without jitter: attempt `n` waits `10 ms · 2^(n-1)`.
pub(crate) fn builder() -> ClientBuilder {
    Client::builder().backoff(Backoff::new(ms(10), ms(1000), 0.0).unwrap())
}

/// The headers every scripted client sends: `name: ada`.
pub(crate) fn headers() -> Headers {
    Headers::encode(
        &[("name", "ada")].into_iter().collect::<BTreeMap<_, _>>(),
        Form::Http,
    )
    .expect("valid headers")
}

/// A client on a scripted server, connected to session `s1`.
pub(crate) async fn start(builder: ClientBuilder) -> (Client, Peer, Script) {
    let (open, mut script) = script();
    let connecting = tokio::spawn(builder.connect_with(open, headers()));
    let (first, peer) = script.accept(ready("s1", false)).await;
    assert_eq!(
        first,
        Attempt {
            headers: headers(),
            session: None
        }
    );
    (connecting.await.unwrap().unwrap(), peer, script)
}

/// Ends a connection without a close frame.
pub(crate) fn cut(peer: Peer) {
    drop(peer);
}

/// Calls `route` from a task of its own.
pub(crate) fn spawn_call(
    client: &Client,
    route: &str,
) -> tokio::task::JoinHandle<Result<Value, CallError>> {
    let client = client.clone();
    let route = route.to_owned();
    tokio::spawn(async move { client.call(&route, &()).await })
}

/// Reads states until one is `wanted`, and returns it.
pub(crate) async fn until(states: &mut StateStream, wanted: impl Fn(&State) -> bool) -> State {
    loop {
        let state = states.next().await.expect("a state");
        if wanted(&state) {
            return state;
        }
    }
}

/// Answers call `rpc_id` with `payload`.
pub(crate) fn reply(peer: &Peer, rpc_id: &Value, payload: Value) {
    peer.send(&json!({"type": "__rpc_res", "rpcId": rpc_id, "payload": payload}).to_string());
}

/// A handshake request, as the server received it.
pub(crate) type Request = http::Request<()>;

/// Serves one WebSocket connection on `io`: accepts the handshake, hands
/// its request to `requests`, sends `__ready` for session `s1`, then reads
/// until the client goes.
pub(crate) async fn serve_handshake<S>(io: S, requests: mpsc::UnboundedSender<Request>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(io, Record(requests)).await else {
        return;
    };
    let _ = socket
        .send(Message::text(ready("s1", false).to_frame()))
        .await;
    while let Some(Ok(_)) = socket.next().await {}
}

/// Hands each handshake request to the test, and accepts it.
struct Record(mpsc::UnboundedSender<Request>);

impl Callback for Record {
    fn on_request(self, request: &Request, response: Response) -> Result<Response, ErrorResponse> {
        let _ = self.0.send(request.clone());
        Ok(response)
    }
}

/// A [`Connector`] to an in-memory server that accepts every handshake
/// (see [`serve_handshake`]).
#[derive(Clone)]
pub(crate) struct Handshakes(mpsc::UnboundedSender<Request>);

impl Connector for Handshakes {
    fn connect(&self, _url: &str) -> BoxFuture<'static, std::io::Result<Box<dyn Io>>> {
        let (client, server) = tokio::io::duplex(64 * 1024);
        tokio::spawn(serve_handshake(server, self.0.clone()));
        Box::pin(async move { Ok(Box::new(client) as Box<dyn Io>) })
    }
}

/// A connector to an in-memory server, and the requests it receives.
pub(crate) fn handshakes() -> (Handshakes, mpsc::UnboundedReceiver<Request>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Handshakes(tx), rx)
}

/// The bytes of header `name` of `request`.
pub(crate) fn header<'a>(request: &'a Request, name: &str) -> Option<&'a [u8]> {
    request.headers().get(name).map(http::HeaderValue::as_bytes)
}
