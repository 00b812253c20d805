//! The background task's lifecycle: serve the live connection; when it
//! drops, queue what the client sends, reconnect with backoff, resume the
//! session (or learn that a fresh one began), send the queue in order, and
//! go on; or end in `Failed` or `Closed`.

use crate::backoff::Backoff;
use crate::error::{CallError, ConnectError, Refusal};
use crate::pending::Pending;
use crate::state::State;
use crate::task::{self, Command, Connection, End, Shared};
use crate::transport::Query;
use futures_util::SinkExt;
use futures_util::future::BoxFuture;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// What a connection attempt sends: the headers, and the session to
/// resume with the last event `seq` received.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Attempt {
    pub(crate) query: Query,
    pub(crate) session: Option<(String, u64)>,
}

/// Opens a connection and reads its `__ready`.
pub(crate) type Opener =
    Box<dyn FnMut(Attempt) -> BoxFuture<'static, Result<Connection, ConnectError>> + Send>;

/// The application's answer to a refused handshake: new headers (already
/// encoded), or `None` to give up.
pub(crate) type RefusedHook =
    Arc<dyn Fn(Refusal) -> BoxFuture<'static, Option<Result<Query, ConnectError>>> + Send + Sync>;

/// How the task reconnects.
#[derive(Clone)]
pub(crate) struct Settings {
    /// Reconnection attempts after a drop; 0 turns reconnection off.
    pub(crate) max_retries: u32,
    pub(crate) backoff: Backoff,
    /// Frames kept while not connected.
    pub(crate) offline_queue: usize,
    pub(crate) on_refused: Option<RefusedHook>,
}

/// Whether a connection that ended with this close code may come back: it
/// dropped, or the server went away or failed. Other codes are the
/// server's deliberate answer (`1000`, a policy, a size limit, the
/// application's `4xxx`) and would only be given again.
pub(crate) fn may_come_back(code: Option<u16>) -> bool {
    matches!(code, None | Some(1001 | 1006 | 1011 | 1012 | 1013 | 1014))
}

/// Runs the client: `connection` is live, or `None` to open the first
/// one here; `query` the headers.
pub(crate) async fn run(
    settings: Settings,
    mut open: Opener,
    mut query: Query,
    connection: Option<Connection>,
    mut commands: mpsc::Receiver<Command>,
    shared: Arc<Shared>,
) {
    let mut queue = Queue::new(settings.offline_queue);
    let mut connection = match connection {
        Some(connection) => connection,
        None => {
            let mut first = Reconnect {
                settings: &settings,
                open: &mut open,
                query: &mut query,
                commands: &mut commands,
                queue: &mut queue,
                shared: &shared,
            };
            match first.first().await {
                Ok(live) => live,
                Err(state) => return shared.finish(state, false),
            }
        }
    };
    loop {
        let (code, reason) = match task::serve(&mut connection, &mut commands, &shared).await {
            End::Closed => return shared.finish(State::Closed, false),
            End::Dropped { code, reason } => (code, reason),
        };
        let error = ConnectError::Disconnected { code, reason };
        if !may_come_back(code) || settings.max_retries == 0 {
            let lost = may_come_back(code);
            let error = Arc::new(error);
            return shared.finish(State::Failed { error }, lost);
        }
        shared.states.set(State::Disconnected);
        let mut reconnecting = Reconnect {
            settings: &settings,
            open: &mut open,
            query: &mut query,
            commands: &mut commands,
            queue: &mut queue,
            shared: &shared,
        };
        match reconnecting.run(error).await {
            Ok(live) => connection = live,
            Err(state) => {
                let lost = !matches!(state, State::Closed);
                return shared.finish(state, lost);
            }
        }
    }
}

/// Frames made while not connected, in order.
struct Queue {
    items: VecDeque<Queued>,
    capacity: usize,
}

enum Queued {
    Message(Utf8Bytes),
    Call(u64),
}

impl Queue {
    fn new(capacity: usize) -> Self {
        Self {
            items: VecDeque::new(),
            capacity,
        }
    }

    /// Queues a message or a call, or fails it at once when full.
    fn push(&mut self, command: Command, pending: &Pending) {
        if self.items.len() >= self.capacity {
            // Calls that timed out meanwhile need no room.
            self.items.retain(|item| match item {
                Queued::Call(id) => pending.is_waiting(*id),
                Queued::Message(_) => true,
            });
        }
        let full = self.items.len() >= self.capacity;
        match command {
            Command::Message { frame, ack } => {
                if full {
                    let _ = ack.send(Err(CallError::QueueFull(self.capacity)));
                } else {
                    self.items.push_back(Queued::Message(frame));
                    let _ = ack.send(Ok(()));
                }
            }
            Command::Call(id) if full => pending.fail(id, CallError::QueueFull(self.capacity)),
            Command::Call(id) => self.items.push_back(Queued::Call(id)),
            Command::Close => {}
        }
    }
}

/// One reconnection: attempts with backoff, each reported as a state.
struct Reconnect<'a> {
    settings: &'a Settings,
    open: &'a mut Opener,
    query: &'a mut Query,
    commands: &'a mut mpsc::Receiver<Command>,
    queue: &'a mut Queue,
    shared: &'a Shared,
}

impl Reconnect<'_> {
    /// The first connection of a started client: one attempt at once,
    /// then, if it fails, the reconnection attempts.
    async fn first(&mut self) -> Result<Connection, State> {
        let attempt = self.attempt();
        let opening = (self.open)(attempt);
        let error = match self.offline(opening).await? {
            Ok(mut connection) => match self.resume(&mut connection).await {
                Ok(()) => return Ok(connection),
                Err(error) => error,
            },
            Err(ConnectError::Refused(refusal)) if (400..500).contains(&refusal.status) => {
                self.refused(refusal).await?
            }
            Err(error) => error,
        };
        if self.settings.max_retries == 0 {
            return Err(State::Failed {
                error: Arc::new(error),
            });
        }
        self.run(error).await
    }

    /// The next attempt: the headers, and the session to resume if there
    /// is one.
    fn attempt(&self) -> Attempt {
        let ready = self.shared.ready();
        let session =
            (!ready.session_id.is_empty()).then(|| (ready.session_id, self.shared.last_seq()));
        Attempt {
            query: self.query.clone(),
            session,
        }
    }

    /// A live connection, its session resumed or renewed and the queue
    /// sent; or the final state.
    async fn run(&mut self, mut last_error: ConnectError) -> Result<Connection, State> {
        let max_attempts = self.settings.max_retries;
        for attempt in 1..=max_attempts {
            let delay = self.settings.backoff.jittered(attempt);
            self.shared.states.set(State::Reconnecting {
                attempt,
                max_attempts,
                delay,
            });
            self.offline(tokio::time::sleep(delay)).await?;
            let attempt = self.attempt();
            let opening = (self.open)(attempt);
            last_error = match self.offline(opening).await? {
                Ok(mut connection) => match self.resume(&mut connection).await {
                    Ok(()) => return Ok(connection),
                    Err(error) => error,
                },
                Err(ConnectError::Refused(refusal)) if (400..500).contains(&refusal.status) => {
                    self.refused(refusal).await?
                }
                Err(error) => error,
            };
        }
        Err(State::Failed {
            error: Arc::new(last_error),
        })
    }

    /// Asks the application for new headers after a 4xx refusal: the
    /// refusal is then the last error; without new headers, the end.
    async fn refused(&mut self, refusal: Refusal) -> Result<ConnectError, State> {
        let failed = |error| State::Failed {
            error: Arc::new(error),
        };
        let Some(hook) = self.settings.on_refused.clone() else {
            return Err(failed(ConnectError::Refused(refusal)));
        };
        match self.offline(hook(refusal.clone())).await? {
            Some(Ok(query)) => {
                *self.query = query;
                Ok(ConnectError::Refused(refusal))
            }
            Some(Err(error)) => Err(failed(error)),
            None => Err(failed(ConnectError::Refused(refusal))),
        }
    }

    /// Awaits `future` while queueing what the client sends; `Closed`
    /// when the client closes (or is dropped, or aborted) meanwhile.
    async fn offline<F: Future>(&mut self, future: F) -> Result<F::Output, State> {
        let aborted = self.shared.aborted();
        tokio::pin!(future, aborted);
        loop {
            tokio::select! {
                output = &mut future => return Ok(output),
                () = &mut aborted => return Err(State::Closed),
                command = self.commands.recv() => match command {
                    None | Some(Command::Close) => return Err(State::Closed),
                    Some(command) => self.queue.push(command, &self.shared.pending),
                },
            }
        }
    }

    /// Takes the new connection's `__ready`: on a recovered session, sends
    /// the calls in flight again (same `rpcId`); on a fresh one, fails
    /// them. Then sends the queue in order and reports `Connected`.
    async fn resume(&mut self, connection: &mut Connection) -> Result<(), ConnectError> {
        let recovered = connection.ready.recovered;
        self.shared.set_ready(connection.ready.clone());
        let pending = &self.shared.pending;
        let dropped = |_| ConnectError::Disconnected {
            code: None,
            reason: String::new(),
        };
        if recovered {
            for frame in pending.in_flight() {
                connection
                    .sink
                    .feed(Message::Text(frame))
                    .await
                    .map_err(dropped)?;
            }
        } else {
            pending.fail_in_flight(|| CallError::ConnectionLost);
        }
        while let Some(item) = self.queue.items.front() {
            let frame = match item {
                Queued::Message(frame) => Some(frame.clone()),
                Queued::Call(id) => pending.send(*id),
            };
            if let Some(frame) = frame {
                connection
                    .sink
                    .feed(Message::Text(frame))
                    .await
                    .map_err(dropped)?;
            }
            self.queue.items.pop_front();
        }
        connection.sink.flush().await.map_err(dropped)?;
        self.shared.states.set(State::Connected { recovered });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Client, ClientBuilder};
    use crate::state::StateStream;
    use crate::task::tests::{Peer, connection, ready};
    use futures_util::StreamExt;
    use serde_json::{Value, json};
    use std::collections::BTreeMap;
    use std::time::Duration;
    use tokio::sync::oneshot;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::{self, Message};

    type Answer = oneshot::Sender<Result<Connection, ConnectError>>;

    /// The connection attempts the client makes, each answered by the test.
    struct Script {
        attempts: mpsc::UnboundedReceiver<(Attempt, Answer)>,
    }

    impl Script {
        async fn next(&mut self) -> (Attempt, Answer) {
            self.attempts.recv().await.expect("another attempt")
        }

        /// Accepts the next attempt with `ready`.
        async fn accept(&mut self, ready: crate::frame::Ready) -> (Attempt, Peer) {
            let (attempt, answer) = self.next().await;
            let (live, peer) = connection(ready);
            assert!(answer.send(Ok(live)).is_ok());
            (attempt, peer)
        }

        /// Whether the client will make no other attempt.
        async fn is_over(&mut self) -> bool {
            self.attempts.recv().await.is_none()
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn builder() -> ClientBuilder {
        Client::builder().backoff(Backoff::new(ms(10), ms(1000), 0.0).unwrap())
    }

    fn headers() -> Query {
        vec![("name".into(), "ada".into())]
    }

    /// A client on a scripted server, connected to session `s1`.
    async fn start(builder: ClientBuilder) -> (Client, Peer, Script) {
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
        let mut script = Script { attempts };
        let connecting = tokio::spawn(builder.connect_with(open, headers()));
        let (first, peer) = script.accept(ready("s1", false)).await;
        assert_eq!(
            first,
            Attempt {
                query: headers(),
                session: None
            }
        );
        (connecting.await.unwrap().unwrap(), peer, script)
    }

    /// Ends a connection without a close frame.
    fn cut(peer: Peer) {
        drop(peer);
    }

    fn spawn_call(
        client: &Client,
        route: &str,
    ) -> tokio::task::JoinHandle<Result<Value, CallError>> {
        let client = client.clone();
        let route = route.to_owned();
        tokio::spawn(async move { client.call(&route, &()).await })
    }

    async fn until(states: &mut StateStream, wanted: impl Fn(&State) -> bool) -> State {
        loop {
            let state = states.next().await.expect("a state");
            if wanted(&state) {
                return state;
            }
        }
    }

    fn reply(peer: &Peer, rpc_id: &Value, payload: Value) {
        peer.send(&json!({"type": "__rpc_res", "rpcId": rpc_id, "payload": payload}).to_string());
    }

    #[tokio::test(start_paused = true)]
    async fn a_recovered_session_gets_its_calls_resent_and_its_queue_in_order() {
        let (client, peer, mut script) = start(builder()).await;
        let mut states = client.state_changes();
        let mut ticks = client.events::<u32>("tick");
        let first = spawn_call(&client, "slow");
        let mut peer = peer;
        let sent = peer.recv().await;
        assert_eq!(sent["type"], "slow");
        peer.send(r#"{"type":"tick","payload":1,"seq":1}"#);
        peer.send(r#"{"type":"tick","payload":2,"seq":2}"#);
        assert_eq!(ticks.next().await.unwrap().unwrap(), 1);
        assert_eq!(ticks.next().await.unwrap().unwrap(), 2);
        cut(peer);

        until(&mut states, |s| matches!(s, State::Disconnected)).await;
        client.message("note", "while away").await.unwrap();
        let second = spawn_call(&client, "later");
        let (attempt, mut peer) = script.accept(ready("s1", true)).await;
        assert_eq!(attempt.query, headers());
        assert_eq!(attempt.session, Some(("s1".into(), 2)));

        // The call in flight first, with its `rpcId`, then the queue.
        assert_eq!(peer.recv().await, sent);
        assert_eq!(
            peer.recv().await,
            json!({"type": "note", "payload": "while away"})
        );
        let later = peer.recv().await;
        assert_eq!(later["type"], "later");
        assert_ne!(later["rpcId"], sent["rpcId"]);
        // A replayed event already seen is not delivered twice.
        peer.send(r#"{"type":"tick","payload":2,"seq":2}"#);
        peer.send(r#"{"type":"tick","payload":3,"seq":3}"#);
        assert_eq!(ticks.next().await.unwrap().unwrap(), 3);
        reply(&peer, &later["rpcId"], json!("b"));
        reply(&peer, &sent["rpcId"], json!("a"));
        assert_eq!(first.await.unwrap().unwrap(), "a");
        assert_eq!(second.await.unwrap().unwrap(), "b");
        assert!(matches!(
            client.state(),
            State::Connected { recovered: true }
        ));
        assert_eq!(client.last_seq(), 3);
        client.close().await;
        drop(peer);

        let seen: Vec<State> = states.collect().await;
        assert!(
            matches!(
                seen.as_slice(),
                [
                    State::Reconnecting { attempt: 1, max_attempts: 5, delay },
                    State::Connected { recovered: true },
                    State::Closed,
                ] if *delay == ms(10)
            ),
            "{seen:?}"
        );
        assert!(script.is_over().await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_fresh_session_fails_the_calls_in_flight() {
        let (client, mut peer, mut script) = start(builder()).await;
        let mut ticks = client.events::<u32>("tick");
        let call = spawn_call(&client, "slow");
        peer.recv().await;
        peer.send(r#"{"type":"tick","payload":5,"seq":5}"#);
        assert_eq!(ticks.next().await.unwrap().unwrap(), 5);
        cut(peer);
        let (attempt, mut peer) = script.accept(ready("s2", false)).await;
        assert_eq!(attempt.session, Some(("s1".into(), 5)));
        assert!(matches!(
            call.await.unwrap(),
            Err(CallError::ConnectionLost)
        ));
        assert_eq!(client.current_session_id(), "s2");
        assert_eq!(client.ready().client_id, "client-s2");
        assert_eq!(client.last_seq(), 0);
        // The fresh session counts from 1 again; the stream goes on.
        peer.send(r#"{"type":"tick","payload":1,"seq":1}"#);
        assert_eq!(ticks.next().await.unwrap().unwrap(), 1);
        let call = spawn_call(&client, "echo");
        let sent = peer.recv().await;
        reply(&peer, &sent["rpcId"], json!(7));
        assert_eq!(call.await.unwrap().unwrap(), 7);
    }

    #[tokio::test(start_paused = true)]
    async fn running_out_of_attempts_fails_with_the_last_error() {
        let (client, mut peer, mut script) = start(builder().max_retries(3)).await;
        let mut states = client.state_changes();
        let mut ticks = client.events::<u32>("tick");
        let in_flight = spawn_call(&client, "slow");
        peer.recv().await;
        cut(peer);
        until(&mut states, |s| matches!(s, State::Disconnected)).await;
        let queued = spawn_call(&client, "queued");
        for (n, expected) in [(1, 10), (2, 20), (3, 40)] {
            let state = states.next().await.unwrap();
            assert!(
                matches!(state, State::Reconnecting { attempt, max_attempts: 3, delay } if attempt == n && delay == ms(expected)),
                "{state:?}"
            );
            let (attempt, answer) = script.next().await;
            assert_eq!(attempt.session, Some(("s1".into(), 0)));
            let _ = answer.send(Err(ConnectError::Timeout(ms(n.into()))));
        }
        let state = states.next().await.unwrap();
        assert!(
            matches!(&state, State::Failed { error } if matches!(**error, ConnectError::Timeout(t) if t == ms(3))),
            "{state:?}"
        );
        assert!(states.next().await.is_none());
        assert!(matches!(
            in_flight.await.unwrap(),
            Err(CallError::ConnectionLost)
        ));
        assert!(matches!(
            queued.await.unwrap(),
            Err(CallError::ConnectionClosed)
        ));
        assert!(ticks.next().await.is_none());
        assert!(matches!(
            client.call::<_, ()>("x", &()).await,
            Err(CallError::ConnectionClosed)
        ));
        assert!(script.is_over().await);
    }

    fn refusal(status: u16) -> ConnectError {
        ConnectError::Refused(Refusal {
            status,
            code: Some("UNAUTHORIZED".into()),
            message: "log in again".into(),
            issues: Vec::new(),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_reconnection_is_not_retried() {
        let (client, peer, mut script) = start(builder()).await;
        let mut states = client.state_changes();
        cut(peer);
        let (_, answer) = script.next().await;
        let _ = answer.send(Err(refusal(401)));
        let state = until(&mut states, State::is_final).await;
        assert!(
            matches!(&state, State::Failed { error } if error.refusal().is_some_and(|r| r.status == 401 && r.message == "log in again")),
            "{state:?}"
        );
        assert!(script.is_over().await);
    }

    #[tokio::test(start_paused = true)]
    async fn the_refusal_hook_supplies_new_headers() {
        let builder = builder().on_refused(|refusal: Refusal| async move {
            (refusal.status == 401).then(|| BTreeMap::from([("name", "ada"), ("token", "fresh")]))
        });
        let (client, peer, mut script) = start(builder).await;
        let mut states = client.state_changes();
        cut(peer);
        // A 503 is retried as any failure; a 401 asks the hook.
        let (_, answer) = script.next().await;
        let _ = answer.send(Err(refusal(503)));
        let (_, answer) = script.next().await;
        let _ = answer.send(Err(refusal(401)));
        let (attempt, _peer) = script.accept(ready("s1", true)).await;
        assert_eq!(
            attempt.query,
            [("name", "ada"), ("token", "fresh")].map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        until(&mut states, State::is_connected).await;
        // A 403 the hook does not answer ends it.
        cut(_peer);
        let (_, answer) = script.next().await;
        let _ = answer.send(Err(refusal(403)));
        let state = until(&mut states, State::is_final).await;
        assert!(
            matches!(&state, State::Failed { error } if error.refusal().is_some_and(|r| r.status == 403))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn close_during_reconnection_stops_at_once() {
        let (client, peer, mut script) = start(builder()).await;
        let mut states = client.state_changes();
        let mut ticks = client.events::<u32>("tick");
        cut(peer);
        let (_, answer) = script.next().await;
        let _ = answer.send(Err(ConnectError::Timeout(ms(1))));
        until(&mut states, |s| {
            matches!(s, State::Reconnecting { attempt: 2, .. })
        })
        .await;
        let queued = spawn_call(&client, "queued");
        tokio::task::yield_now().await;
        client.close().await;
        assert!(matches!(client.state(), State::Closed));
        assert!(matches!(
            until(&mut states, State::is_final).await,
            State::Closed
        ));
        assert!(matches!(
            queued.await.unwrap(),
            Err(CallError::ConnectionClosed)
        ));
        assert!(ticks.next().await.is_none());
        assert!(script.is_over().await);
    }

    #[tokio::test(start_paused = true)]
    async fn the_offline_queue_is_bounded_and_fails_at_once_when_full() {
        let (client, peer, mut script) = start(builder().offline_queue(2)).await;
        let mut states = client.state_changes();
        cut(peer);
        until(&mut states, |s| matches!(s, State::Reconnecting { .. })).await;
        client.message("note", "a").await.unwrap();
        client.message("note", "b").await.unwrap();
        assert!(matches!(
            client.message("note", "c").await,
            Err(CallError::QueueFull(2))
        ));
        assert!(matches!(
            client.call::<_, ()>("x", &()).await,
            Err(CallError::QueueFull(2))
        ));
        let (_, mut peer) = script.accept(ready("s2", false)).await;
        assert_eq!(peer.recv().await["payload"], "a");
        assert_eq!(peer.recv().await["payload"], "b");
        client.message("note", "d").await.unwrap();
        assert_eq!(peer.recv().await["payload"], "d");
    }

    #[tokio::test(start_paused = true)]
    async fn calls_keep_their_timeout_while_queued() {
        let (client, peer, mut script) = start(builder().offline_queue(1)).await;
        let mut states = client.state_changes();
        cut(peer);
        until(&mut states, |s| matches!(s, State::Reconnecting { .. })).await;
        let (_, answer) = script.next().await;
        let err = client
            .call_with_timeout::<_, ()>("x", &(), ms(5))
            .await
            .unwrap_err();
        assert!(matches!(err, CallError::Timeout(t) if t == ms(5)));
        // The timed-out call left the queue: there is room, and it is not sent.
        client.message("note", "a").await.unwrap();
        let (live, mut peer) = connection(ready("s1", true));
        let _ = answer.send(Ok(live));
        assert_eq!(peer.recv().await["payload"], "a");
    }

    #[tokio::test(start_paused = true)]
    async fn a_deliberate_close_by_the_server_is_final() {
        let (client, peer, mut script) = start(builder()).await;
        let mut states = client.state_changes();
        let call = spawn_call(&client, "slow");
        let mut peer = peer;
        peer.recv().await;
        let close = CloseFrame {
            code: 4000.into(),
            reason: "bye".into(),
        };
        peer.incoming.send(Ok(Message::Close(Some(close)))).unwrap();
        drop(peer);
        let state = until(&mut states, State::is_final).await;
        assert!(
            matches!(&state, State::Failed { error } if matches!(&**error, ConnectError::Disconnected { code: Some(4000), reason } if reason == "bye")),
            "{state:?}"
        );
        assert!(matches!(
            call.await.unwrap(),
            Err(CallError::ConnectionClosed)
        ));
        assert!(script.is_over().await);
    }

    #[tokio::test(start_paused = true)]
    async fn without_reconnection_a_drop_is_final() {
        let (client, mut peer, mut script) = start(builder().reconnect(false)).await;
        let mut states = client.state_changes();
        let call = spawn_call(&client, "slow");
        peer.recv().await;
        peer.incoming
            .send(Err(tungstenite::Error::ConnectionClosed))
            .unwrap();
        let state = until(&mut states, State::is_final).await;
        assert!(
            matches!(&state, State::Failed { error } if matches!(**error, ConnectError::Disconnected { code: None, .. })),
            "{state:?}"
        );
        assert!(matches!(
            call.await.unwrap(),
            Err(CallError::ConnectionLost)
        ));
        assert!(script.is_over().await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_saved_session_is_resumed_from_the_first_connection() {
        let (tx, mut attempts) = mpsc::unbounded_channel();
        let open: Opener = Box::new(move |attempt| {
            let (live, peer) = connection(ready("saved", true));
            let _ = tx.send((attempt, peer));
            Box::pin(async move { Ok(live) })
        });
        let client = builder()
            .session("saved", 7)
            .connect_with(open, headers())
            .await
            .unwrap();
        let (first, peer) = attempts.recv().await.unwrap();
        assert_eq!(first.session, Some(("saved".into(), 7)));
        assert!(matches!(
            client.state(),
            State::Connected { recovered: true }
        ));
        assert_eq!(client.current_session_id(), "saved");
        assert_eq!(client.last_seq(), 7);
        let mut ticks = client.events::<u32>("tick");
        // A replayed event already seen is skipped.
        peer.send(r#"{"type":"tick","payload":7,"seq":7}"#);
        peer.send(r#"{"type":"tick","payload":8,"seq":8}"#);
        assert_eq!(ticks.next().await.unwrap().unwrap(), 8);
        assert_eq!(client.last_seq(), 8);
    }

    #[test]
    fn only_drops_and_server_failures_may_come_back() {
        for code in [None, Some(1001), Some(1006), Some(1011), Some(1012)] {
            assert!(may_come_back(code), "{code:?}");
        }
        for code in [Some(1000), Some(1008), Some(1009), Some(4000), Some(4999)] {
            assert!(!may_come_back(code), "{code:?}");
        }
    }
}
