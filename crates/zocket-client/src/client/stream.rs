//! Streams: a call answered with items, read as a [`Stream`], with credit
//! granted as the application takes them.

use super::Client;
use crate::connection::Command;
use crate::error::CallError;
use crate::pending::{Answer, Ticket};
use futures_util::Stream;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::mpsc;
use zocket_protocol::ClientFrame;

/// The credit a stream starts with, and grants again each time the
/// application has taken half of it.
pub const DEFAULT_WINDOW: u64 = 16;

impl Client {
    /// Opens the stream `route` with `input`: its items come on the
    /// returned [`ItemStream`], which ends when the server's handler does
    /// (or yields one error and ends). Resolves once the opening frame is
    /// handed to the client's task (sent, or queued while not connected).
    ///
    /// The server sends at most [`DEFAULT_WINDOW`] items ahead of what the
    /// application has taken (see [`stream_with_window`](Self::stream_with_window)):
    /// a slow reader pauses the server's handler. Streams have no timeout.
    /// Dropping the [`ItemStream`] before its end cancels the stream (the
    /// client sends `__cancel`, and the server stops the handler). Across a
    /// resumed session the stream goes on with no item lost or repeated;
    /// when a fresh session begins instead, it ends with
    /// [`CallError::ConnectionLost`].
    pub async fn stream<I, T>(&self, route: &str, input: &I) -> Result<ItemStream<T>, CallError>
    where
        I: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.stream_with_window(route, input, DEFAULT_WINDOW).await
    }

    /// Like [`stream`](Self::stream), letting the server send up to
    /// `window` items (at least 1) ahead of what the application has taken.
    pub async fn stream_with_window<I, T>(
        &self,
        route: &str,
        input: &I,
        window: u64,
    ) -> Result<ItemStream<T>, CallError>
    where
        I: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        if self.inner.shared.is_ended() {
            return Err(CallError::ConnectionClosed);
        }
        let window = window.max(1);
        let shared = &self.inner.shared;
        let mut ticket = shared.pending.register(|rpc_id| {
            ClientFrame {
                route,
                payload: input,
                rpc_id: Some(rpc_id),
            }
            .encode()
        })?;
        let id = ticket.id();
        let (items, grant) = shared.streams.open(id, window);
        let commands = self.inner.commands.clone();
        ticket.on_abandon(move |id| {
            let _ = commands.try_send(Command::Cancel(id));
        });
        // From here on, dropping this (or the future) forgets the stream.
        let open = Open {
            client: self.clone(),
            id,
            ticket: Some(ticket),
        };
        let sent = async {
            self.inner.commands.send(Command::Call(id)).await?;
            self.inner.commands.send(Command::Credit(grant)).await
        };
        if sent.await.is_err() {
            return Err(CallError::ConnectionClosed);
        }
        Ok(ItemStream {
            open,
            items,
            answer: None,
            window,
            taken: 0,
            granted: 0,
            decode: Arc::new(|err| err.map_app(|_| None)),
            item: PhantomData,
        })
    }
}

/// A stream's call; dropped before the stream's end, it forgets the
/// stream and its ticket cancels the call on the server.
struct Open {
    client: Client,
    id: u64,
    /// `None` once the stream has ended.
    ticket: Option<Ticket>,
}

impl Drop for Open {
    fn drop(&mut self) {
        // Before its end: the ticket, dropped next, cancels the call if it
        // is still running. If its reply had come, the items received are
        // acknowledged instead, so the server forgets them.
        if self.ticket.is_some()
            && let Some(ack) = self.client.inner.shared.streams.close(self.id)
        {
            let _ = self.client.inner.commands.try_send(Command::Credit(ack));
        }
    }
}

/// The items of a stream, in order, as a [`Stream`] of
/// `Result<T, CallError<E>>`: each item once, then the end (`None`), or
/// one error (the handler's, decoded as `E` by typed clients, a
/// `CANCELLED` or `LIMIT_EXCEEDED` from the server, a lost connection, or
/// an item that does not decode) and then the end.
///
/// Dropping it before its end cancels the stream on the server.
pub struct ItemStream<T, E = std::convert::Infallible> {
    open: Open,
    items: mpsc::UnboundedReceiver<Box<RawValue>>,
    /// The reply, once it came; given after the items before it.
    answer: Option<Answer>,
    window: u64,
    /// Items the application has taken.
    taken: u64,
    /// `taken` at the latest grant.
    granted: u64,
    decode: Arc<dyn Fn(CallError) -> CallError<E> + Send + Sync>,
    item: PhantomData<fn() -> T>,
}

impl<T, E> std::fmt::Debug for ItemStream<T, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ItemStream")
            .field("rpc_id", &self.open.id)
            .field("taken", &self.taken)
            .field("ended", &self.open.ticket.is_none())
            .finish_non_exhaustive()
    }
}

impl<T, E> ItemStream<T, E> {
    /// The same stream, its error replies decoded by `decode` (what typed
    /// clients do with a stream's own error type).
    pub fn decode_errors<E2>(
        self,
        decode: impl Fn(CallError) -> CallError<E2> + Send + Sync + 'static,
    ) -> ItemStream<T, E2> {
        ItemStream {
            open: self.open,
            items: self.items,
            answer: self.answer,
            window: self.window,
            taken: self.taken,
            granted: self.granted,
            decode: Arc::new(decode),
            item: PhantomData,
        }
    }

    /// How many items the application has taken.
    pub fn taken(&self) -> u64 {
        self.taken
    }

    /// Ends the stream here, acknowledging the items received.
    fn end(&mut self) {
        let open = &mut self.open;
        if open.ticket.take().is_some()
            && let Some(ack) = open.client.inner.shared.streams.close(open.id)
        {
            let _ = open.client.inner.commands.try_send(Command::Credit(ack));
        }
    }

    /// Grants more credit once the application has taken half the window,
    /// or (`starving`) as soon as it waits with nothing buffered after
    /// taking any: the server may stop short of half the window (its
    /// window cap, its byte budget per stream).
    fn regrant(&mut self, starving: bool) {
        let due = if starving { 1 } else { self.window.div_ceil(2) };
        if self.taken - self.granted < due {
            return;
        }
        let client = &self.open.client;
        if let Some(frame) =
            client
                .inner
                .shared
                .streams
                .grant(self.open.id, self.taken, self.window)
        {
            self.granted = self.taken;
            let commands = client.inner.commands.clone();
            if let Err(mpsc::error::TrySendError::Full(command)) =
                commands.try_send(Command::Credit(frame))
            {
                // The queue is full: sent as soon as there is room.
                tokio::spawn(async move {
                    let _ = commands.send(command).await;
                });
            }
        }
    }
}

impl<T: DeserializeOwned, E> Stream for ItemStream<T, E> {
    type Item = Result<T, CallError<E>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(ticket) = this.open.ticket.as_mut() else {
            return Poll::Ready(None);
        };
        // The reply first: the items sent before it are then all here.
        if this.answer.is_none()
            && let Poll::Ready(answer) = ticket.poll_reply(cx)
        {
            this.answer = Some(answer);
        }
        if let Poll::Ready(Some(item)) = this.items.poll_recv(cx) {
            this.taken += 1;
            return Poll::Ready(Some(match serde_json::from_str(item.get()) {
                Ok(item) => {
                    this.regrant(false);
                    Ok(item)
                }
                Err(err) => {
                    // Dropping the ticket cancels the stream on the server.
                    this.open.ticket = None;
                    this.open.client.inner.shared.streams.close(this.open.id);
                    Err((this.decode)(CallError::Decode(err)))
                }
            }));
        }
        let Some(answer) = this.answer.take() else {
            this.regrant(true);
            return Poll::Pending;
        };
        this.end();
        Poll::Ready(match answer {
            Ok(Ok(_)) => None,
            Ok(Err(error)) => Some(Err((this.decode)(CallError::Server(error)))),
            Err(err) => Some(Err((this.decode)(err))),
        })
    }
}
