//! Calls and messages: the frame encoded once, then handed to the task,
//! which sends it or queues it while not connected.

use super::Client;
use crate::connection::Command;
use crate::error::CallError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;
use tokio::sync::oneshot;
use zocket_protocol::ClientFrame;

impl Client {
    /// Calls `route` with `input` and decodes the reply as `O`, waiting at
    /// most the client's timeout (30 s by default).
    ///
    /// While the client is not connected, the call waits in the offline
    /// queue and is sent in order once it is. A call in flight when the
    /// connection drops is sent again, with the same `rpcId`, when the
    /// session is recovered (the server then runs it at most once); when a
    /// fresh session begins instead, it fails with
    /// [`CallError::ConnectionLost`].
    ///
    /// Fails with the server's error reply ([`CallError::Server`], see
    /// [`CallError::code`]), [`CallError::Timeout`],
    /// [`CallError::ConnectionLost`], [`CallError::ConnectionClosed`],
    /// [`CallError::QueueFull`], or a serialize or decode error.
    ///
    /// Dropping the future (or the timeout passing) after the call was
    /// sent cancels it: the client sends `__cancel` and the server stops
    /// the handler.
    pub async fn call<I, O>(&self, route: &str, input: &I) -> Result<O, CallError>
    where
        I: Serialize + ?Sized,
        O: DeserializeOwned,
    {
        self.call_with_timeout(route, input, self.inner.timeout)
            .await
    }

    /// Like [`call`](Client::call), with this call's own timeout. A reply
    /// that comes after it is dropped.
    pub async fn call_with_timeout<I, O>(
        &self,
        route: &str,
        input: &I,
        timeout: Duration,
    ) -> Result<O, CallError>
    where
        I: Serialize + ?Sized,
        O: DeserializeOwned,
    {
        if self.inner.shared.is_ended() {
            return Err(CallError::ConnectionClosed);
        }
        let mut ticket = self.inner.shared.pending.register(|rpc_id| {
            ClientFrame {
                route,
                payload: input,
                rpc_id: Some(rpc_id),
            }
            .encode()
        })?;
        // Given up on after it was sent (dropped, timed out): the server
        // is told to stop it. Best effort: with the command queue full, it
        // runs to its end.
        let commands = self.inner.commands.clone();
        ticket.on_abandon(move |id| {
            let _ = commands.try_send(Command::Cancel(id));
        });
        let reply = tokio::time::timeout(timeout, async {
            self.inner
                .commands
                .send(Command::Call(ticket.id()))
                .await
                .map_err(|_| CallError::ConnectionClosed)?;
            ticket.reply().await
        })
        .await
        .map_err(|_| CallError::Timeout(timeout))??;
        match reply {
            Ok(payload) => serde_json::from_str(payload.get()).map_err(CallError::Decode),
            Err(error) => Err(CallError::Server(error)),
        }
    }

    /// Sends a message: `route` with `input` and no `rpcId`, so the server
    /// sends no reply (its errors come on [`errors`](Client::errors)).
    /// Resolves once the frame is queued for sending, waiting at most the
    /// client's timeout for room in the queue. While the client is not
    /// connected, the message waits in the offline queue and is sent in
    /// order once it is (or dropped if the client fails first); when that
    /// queue is full it fails at once with [`CallError::QueueFull`].
    pub async fn message<I: Serialize + ?Sized>(
        &self,
        route: &str,
        input: &I,
    ) -> Result<(), CallError> {
        if self.inner.shared.is_ended() {
            return Err(CallError::ConnectionClosed);
        }
        let frame = ClientFrame {
            route,
            payload: input,
            rpc_id: None,
        }
        .encode()
        .map_err(CallError::Serialize)?;
        let timeout = self.inner.timeout;
        let (ack, acked) = oneshot::channel();
        let command = Command::Message {
            frame: frame.into(),
            ack,
        };
        let sent = async {
            self.inner
                .commands
                .send(command)
                .await
                .map_err(|_| CallError::ConnectionClosed)?;
            acked.await.unwrap_or(Err(CallError::ConnectionClosed))
        };
        tokio::time::timeout(timeout, sent)
            .await
            .map_err(|_| CallError::Timeout(timeout))?
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{builder, reply, start};
    use serde_json::{Value, json};
    use tokio_tungstenite::tungstenite::Message;

    /// The next frame from the client, as its text.
    async fn text(outgoing: &mut tokio::sync::mpsc::UnboundedReceiver<Message>) -> String {
        match outgoing.recv().await {
            Some(Message::Text(text)) => text.to_string(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn calls_and_messages_are_written_as_the_protocol_says() {
        let (client, mut peer, _script) = start(builder()).await;
        let call = tokio::spawn({
            let client = client.clone();
            async move { client.call::<_, Value>("a.b", &json!({"x": 1})).await }
        });
        let sent = text(&mut peer.outgoing).await;
        let rpc_id = serde_json::from_str::<Value>(&sent).unwrap()["rpcId"].clone();
        assert!(rpc_id.is_string(), "{sent}");
        assert_eq!(
            sent,
            format!(r#"{{"type":"a.b","payload":{{"x":1}},"rpcId":{rpc_id}}}"#)
        );
        reply(&peer, &rpc_id, json!([2]));
        assert_eq!(call.await.unwrap().unwrap(), json!([2]));
        client.message("a.b", &()).await.unwrap();
        assert_eq!(
            text(&mut peer.outgoing).await,
            r#"{"type":"a.b","payload":null}"#
        );
    }
}
