//! The background task's lifecycle: serve the live connection; when it
//! drops, queue what the client sends, reconnect with backoff, resume the
//! session (or learn that a fresh one began), send the queue in order, and
//! go on; or end in `Failed` or `Closed`.

mod queue;
mod reconnect;
mod resume;

use crate::backoff::Backoff;
use crate::connection::{self, Command, Connection, End};
use crate::error::{ConnectError, Refusal};
use crate::shared::Shared;
use crate::state::State;
use crate::transport::{Attempt, Form, Headers};
use futures_util::future::BoxFuture;
use queue::Queue;
use reconnect::Reconnect;
use std::sync::Arc;
use tokio::sync::mpsc;
use zocket_protocol::CloseCode;

/// Opens a connection and reads its `__ready`.
pub(crate) type Opener =
    Box<dyn FnMut(Attempt) -> BoxFuture<'static, Result<Connection, ConnectError>> + Send>;

/// The application's answer to a refused handshake: new headers, encoded
/// in the form given (that of the headers they replace), or `None` to
/// give up.
pub(crate) type RefusedHook = Arc<
    dyn Fn(Refusal, Form) -> BoxFuture<'static, Option<Result<Headers, ConnectError>>>
        + Send
        + Sync,
>;

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
/// dropped (no close frame), or the server went away or failed (see
/// [`CloseCode::is_worth_reconnecting`]). Other codes are the server's
/// deliberate answer and would only be given again.
fn may_come_back(code: Option<u16>) -> bool {
    code.is_none_or(|code| CloseCode(code).is_worth_reconnecting())
}

/// Runs the client: `connection` is live, or `None` to open the first
/// one here; `headers` the header fields.
pub(crate) async fn run(
    settings: Settings,
    mut open: Opener,
    mut headers: Headers,
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
                headers: &mut headers,
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
        let (code, reason) = match connection::serve(&mut connection, &mut commands, &shared).await
        {
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
            headers: &mut headers,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CallError;
    use crate::test_support::{builder, spawn_call, start, until};
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::{self, Message};

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
