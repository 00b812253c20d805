//! One reconnection: attempts with backoff, each reported as a state,
//! while what the client sends waits in the queue; a refusal handed to
//! the application's hook; errors that trying again would only repeat
//! ending it.

use super::queue::Queue;
use super::resume::resume;
use super::{Opener, Settings};
use crate::connection::{Command, Connection};
use crate::error::{ConnectError, Refusal};
use crate::shared::Shared;
use crate::state::State;
use crate::transport::{Attempt, Headers};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::mpsc;

/// One reconnection, borrowing what the task owns.
pub(super) struct Reconnect<'a> {
    pub(super) settings: &'a Settings,
    pub(super) open: &'a mut Opener,
    pub(super) headers: &'a mut Headers,
    pub(super) commands: &'a mut mpsc::Receiver<Command>,
    pub(super) queue: &'a mut Queue,
    pub(super) shared: &'a Shared,
}

/// The final state after `error`.
fn failed(error: ConnectError) -> State {
    State::Failed {
        error: Arc::new(error),
    }
}

impl Reconnect<'_> {
    /// The first connection of a started client: one attempt at once,
    /// then, if it fails, the reconnection attempts.
    pub(super) async fn first(&mut self) -> Result<Connection, State> {
        let error = match self.once().await? {
            Ok(connection) => return Ok(connection),
            Err(error) => error,
        };
        if self.settings.max_retries == 0 {
            return Err(failed(error));
        }
        self.run(error).await
    }

    /// A live connection, its session resumed or renewed and the queue
    /// sent; or the final state.
    pub(super) async fn run(&mut self, mut last_error: ConnectError) -> Result<Connection, State> {
        let max_attempts = self.settings.max_retries;
        for attempt in 1..=max_attempts {
            let delay = self.settings.backoff.jittered(attempt);
            self.shared.states.set(State::Reconnecting {
                attempt,
                max_attempts,
                delay,
            });
            self.offline(tokio::time::sleep(delay)).await?;
            last_error = match self.once().await? {
                Ok(connection) => return Ok(connection),
                Err(error) => error,
            };
        }
        Err(failed(last_error))
    }

    /// One attempt: the live connection, its session resumed or renewed
    /// and the queue sent; or the error to try again after; or the final
    /// state, when the error is one that trying again would only repeat
    /// (a 4xx refusal the application has no new headers for, another
    /// protocol version, a session id no HTTP header can carry) or the
    /// client closed meanwhile.
    async fn once(&mut self) -> Result<Result<Connection, ConnectError>, State> {
        let attempt = self.attempt();
        let opening = (self.open)(attempt);
        match self.offline(opening).await? {
            Ok(mut connection) => match resume(&mut connection, self.shared, self.queue).await {
                Ok(()) => Ok(Ok(connection)),
                Err(error) => Ok(Err(error)),
            },
            Err(ConnectError::Refused(refusal)) if (400..500).contains(&refusal.status) => {
                self.refused(refusal).await.map(Err)
            }
            Err(
                error @ (ConnectError::ProtocolVersion { .. }
                | ConnectError::SchemaMismatch { .. }
                | ConnectError::Headers(_)),
            ) => Err(failed(error)),
            Err(error) => Ok(Err(error)),
        }
    }

    /// The next attempt: the headers, and the session to resume if there
    /// is one.
    fn attempt(&self) -> Attempt {
        let ready = self.shared.ready();
        let session =
            (!ready.session_id.is_empty()).then(|| (ready.session_id, self.shared.last_seq()));
        Attempt {
            headers: self.headers.clone(),
            session,
        }
    }

    /// Asks the application for new headers after a 4xx refusal: the
    /// refusal is then the last error; without new headers, the end.
    async fn refused(&mut self, refusal: Refusal) -> Result<ConnectError, State> {
        let Some(hook) = self.settings.on_refused.clone() else {
            return Err(failed(ConnectError::Refused(refusal)));
        };
        match self
            .offline(hook(refusal.clone(), self.headers.form()))
            .await?
        {
            Some(Ok(headers)) => {
                *self.headers = headers;
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
}

#[cfg(test)]
mod tests {
    use crate::error::{CallError, ConnectError, Refusal};
    use crate::state::State;
    use crate::test_support::{builder, cut, headers, ms, ready, script, spawn_call, start, until};
    use crate::transport::{Form, Headers};
    use futures_util::StreamExt;
    use std::collections::BTreeMap;
    use zocket_protocol::{PROTOCOL_VERSION, SESSION_ID_HEADER};

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

    fn other_version() -> ConnectError {
        ConnectError::ProtocolVersion {
            server: PROTOCOL_VERSION + 1,
            client: PROTOCOL_VERSION,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_of_another_protocol_version_is_not_retried() {
        let (client, mut peer, mut script) = start(builder()).await;
        let mut states = client.state_changes();
        let call = spawn_call(&client, "slow");
        peer.recv().await;
        cut(peer);
        let (_, answer) = script.next().await;
        let _ = answer.send(Err(other_version()));
        let state = until(&mut states, State::is_final).await;
        assert!(
            matches!(&state, State::Failed { error } if matches!(**error, ConnectError::ProtocolVersion { server, client } if server == PROTOCOL_VERSION + 1 && client == PROTOCOL_VERSION)),
            "{state:?}"
        );
        assert!(matches!(
            call.await.unwrap(),
            Err(CallError::ConnectionLost)
        ));
        assert!(script.is_over().await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_started_client_facing_another_protocol_version_fails_at_once() {
        let (open, mut script) = script();
        let client = builder().start_with(open, headers());
        let mut states = client.state_changes();
        assert!(matches!(states.next().await, Some(State::Connecting)));
        let (_, answer) = script.next().await;
        let _ = answer.send(Err(other_version()));
        let state = states.next().await.unwrap();
        assert!(
            matches!(&state, State::Failed { error } if matches!(**error, ConnectError::ProtocolVersion { .. })),
            "no reconnection attempt: {state:?}"
        );
        assert!(script.is_over().await);
        // `close()` from `Failed` goes to `Closed`.
        assert!(matches!(client.state(), State::Failed { .. }));
        client.close().await;
        assert!(matches!(client.state(), State::Closed));
        let connecting = builder().connect_with(
            Box::new(|_| Box::pin(async { Err(other_version()) })),
            headers(),
        );
        assert!(matches!(
            connecting.await,
            Err(ConnectError::ProtocolVersion { .. })
        ));
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
        let fresh = BTreeMap::from([("name", "ada"), ("token", "fresh")]);
        assert_eq!(
            attempt.headers,
            Headers::encode(&fresh, Form::Http).unwrap()
        );
        let request = attempt.request("ws://h/ws").unwrap();
        assert_eq!(request.uri(), "ws://h/ws");
        assert_eq!(request.headers()["token"], "fresh");
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
    async fn the_refusal_hook_headers_keep_the_legacy_form() {
        let (open, mut script) = script();
        let legacy = Headers::encode(&BTreeMap::from([("token", "t0")]), Form::Query).unwrap();
        let client = builder()
            .on_refused(|_| async { Some(BTreeMap::from([("token", "t1")])) })
            .start_with(open, legacy.clone());
        let mut states = client.state_changes();
        let (first, peer) = script.accept(ready("s1", false)).await;
        assert_eq!(first.headers, legacy);
        until(&mut states, State::is_connected).await;
        cut(peer);
        let (_, answer) = script.next().await;
        let _ = answer.send(Err(refusal(401)));
        let (attempt, _peer) = script.accept(ready("s1", true)).await;
        assert_eq!(
            attempt.headers,
            Headers::Query(vec![("token".into(), "t1".into())])
        );
        let request = attempt.request("ws://h/ws").unwrap();
        assert_eq!(request.uri(), "ws://h/ws?token=t1");
        assert_eq!(request.headers()[SESSION_ID_HEADER], "s1");
    }

    #[tokio::test(start_paused = true)]
    async fn refusal_hook_headers_no_http_header_can_carry_end_the_client() {
        let builder =
            builder().on_refused(|_| async { Some(BTreeMap::from([("token", "t1\nx: y")])) });
        let (client, peer, mut script) = start(builder).await;
        let mut states = client.state_changes();
        cut(peer);
        let (_, answer) = script.next().await;
        let _ = answer.send(Err(refusal(401)));
        let state = until(&mut states, State::is_final).await;
        assert!(
            matches!(&state, State::Failed { error } if matches!(&**error, ConnectError::Headers(m) if m.contains("`token`") && m.contains("control character"))),
            "{state:?}"
        );
        assert!(script.is_over().await);
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
}
