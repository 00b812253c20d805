//! Event subscriptions: one bounded broadcast channel per subscribed
//! event name (and one for `__error` frames), and the streams that read
//! them. The buffering policy is documented on [`EventStream`].

use crate::error::EventError;
use futures_util::stream::{self, BoxStream};
use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use zocket_protocol::ErrorObject;

/// One event as received, before each stream decodes it.
#[derive(Clone)]
pub(crate) struct Delivery {
    seq: Option<u64>,
    /// Events of its kind the server dropped before it.
    dropped: u64,
    payload: Arc<str>,
}

/// The subscribed event names and their channels. Subscribing is
/// synchronous, so a stream taken before an event arrives receives it.
pub(crate) struct Subscriptions {
    inner: Mutex<Channels>,
    capacity: usize,
}

#[derive(Default)]
struct Channels {
    events: HashMap<String, broadcast::Sender<Delivery>>,
    errors: Option<broadcast::Sender<ErrorObject>>,
    closed: bool,
}

impl Subscriptions {
    /// Subscriptions whose channels buffer `capacity` items (at least 1).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::default(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Channels> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A stream of event `name`; it ends at once when the connection is
    /// closed.
    pub(crate) fn events<T: DeserializeOwned>(&self, name: &str) -> EventStream<T> {
        let mut channels = self.lock();
        let rx = if channels.closed {
            broadcast::channel(1).1
        } else {
            // Forget the names nobody listens to any more.
            channels.events.retain(|_, tx| tx.receiver_count() > 0);
            channels
                .events
                .entry(name.to_owned())
                .or_insert_with(|| broadcast::channel(self.capacity).0)
                .subscribe()
        };
        EventStream {
            name: name.into(),
            feed: feed(rx),
            held: None,
            _type: PhantomData,
        }
    }

    /// A stream of `__error` frames; it ends at once when the connection
    /// is closed.
    pub(crate) fn errors(&self) -> ErrorStream {
        let mut channels = self.lock();
        let rx = if channels.closed {
            broadcast::channel(1).1
        } else {
            channels
                .errors
                .get_or_insert_with(|| broadcast::channel(self.capacity).0)
                .subscribe()
        };
        ErrorStream { feed: feed(rx) }
    }

    /// Hands an event to every stream of its name.
    pub(crate) fn publish(&self, name: &str, seq: Option<u64>, dropped: u64, payload: &str) {
        let mut channels = self.lock();
        let Some(tx) = channels.events.get(name) else {
            return;
        };
        let delivery = Delivery {
            seq,
            dropped,
            payload: payload.into(),
        };
        if tx.send(delivery).is_err() {
            channels.events.remove(name);
        }
    }

    /// Hands an `__error` frame to every error stream.
    pub(crate) fn publish_error(&self, error: ErrorObject) {
        let mut channels = self.lock();
        if let Some(tx) = &channels.errors
            && tx.send(error).is_err()
        {
            channels.errors = None;
        }
    }

    /// Ends every stream once it has read what it was sent.
    pub(crate) fn close(&self) {
        let mut channels = self.lock();
        channels.closed = true;
        channels.events.clear();
        channels.errors = None;
    }
}

/// A channel's items, with the number of items lost when lagging.
type Feed<M> = BoxStream<'static, Result<M, u64>>;

fn feed<M: Clone + Send + 'static>(rx: broadcast::Receiver<M>) -> Feed<M> {
    stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            Ok(item) => Some((Ok(item), rx)),
            Err(RecvError::Lagged(lost)) => Some((Err(lost), rx)),
            Err(RecvError::Closed) => None,
        }
    })
    .fuse()
    .boxed()
}

/// The payloads of one event, decoded as `T`, in the order the server sent
/// them (its `seq` order), from [`Client::events`](crate::Client::events).
///
/// A payload that does not decode as `T` is an [`EventError::Decode`]
/// item, and the stream goes on. It ends when the connection is closed,
/// after the events received before.
///
/// # Buffering
///
/// Each event name has one bounded buffer shared by its streams, of
/// [`ClientBuilder::event_buffer`](crate::ClientBuilder::event_buffer)
/// items (1024 by default). Receiving never waits for a slow stream: when
/// a stream falls more than the buffer behind, it loses the oldest items it
/// has not read, its next item is [`EventError::Lagged`] with their number,
/// and it goes on with the oldest item still buffered. Other streams, calls
/// and the connection are not affected.
pub struct EventStream<T> {
    name: Arc<str>,
    feed: Feed<Delivery>,
    /// An event whose `dropped` count was just reported, to yield next.
    held: Option<Delivery>,
    _type: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for EventStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned> Stream for EventStream<T> {
    type Item = Result<T, EventError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = match self.held.take() {
            Some(delivery) => Some(Ok(delivery)),
            None => std::task::ready!(self.feed.poll_next_unpin(cx)),
        };
        Poll::Ready(item.map(|item| match item {
            // The server dropped some of this kind before it: say so first.
            Ok(mut delivery) if delivery.dropped > 0 => {
                let dropped = std::mem::take(&mut delivery.dropped);
                self.held = Some(delivery);
                Err(EventError::Dropped(dropped))
            }
            Ok(delivery) => {
                serde_json::from_str(&delivery.payload).map_err(|source| EventError::Decode {
                    name: self.name.to_string(),
                    seq: delivery.seq,
                    source,
                })
            }
            Err(lost) => Err(EventError::Lagged(lost)),
        }))
    }
}

/// The server's `__error` frames (errors for frames sent without `rpcId`,
/// such as a message to an unknown route), from
/// [`Client::errors`](crate::Client::errors): each an [`ErrorObject`]
/// naming the route at fault ([`ErrorObject::route`]).
///
/// Buffered like an [`EventStream`]: a stream that falls behind gets
/// [`EventError::Lagged`]. It ends when the connection is closed.
pub struct ErrorStream {
    feed: Feed<ErrorObject>,
}

impl fmt::Debug for ErrorStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorStream").finish_non_exhaustive()
    }
}

impl Stream for ErrorStream {
    type Item = Result<ErrorObject, EventError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.feed
            .poll_next_unpin(cx)
            .map(|item| item.map(|item| item.map_err(EventError::Lagged)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    fn next_now<S: Stream + Unpin>(stream: &mut S) -> Option<Option<S::Item>> {
        stream.next().now_or_never()
    }

    #[test]
    fn every_stream_gets_every_event_in_order() {
        let subs = Subscriptions::new(8);
        let mut a = subs.events::<u32>("tick");
        let mut b = subs.events::<u32>("tick");
        subs.publish("tick", Some(1), 0, "1");
        subs.publish("tock", Some(2), 0, "99");
        subs.publish("tick", Some(3), 0, "3");
        for stream in [&mut a, &mut b] {
            assert_eq!(next_now(stream).unwrap().unwrap().unwrap(), 1);
            assert_eq!(next_now(stream).unwrap().unwrap().unwrap(), 3);
            assert!(next_now(stream).is_none(), "nothing more yet");
        }
    }

    #[test]
    fn events_the_server_dropped_are_reported_before_the_next_one() {
        let subs = Subscriptions::new(8);
        let mut stream = subs.events::<u32>("cursor");
        subs.publish("cursor", None, 0, "1");
        subs.publish("cursor", None, 5, "7");
        assert_eq!(next_now(&mut stream).unwrap().unwrap().unwrap(), 1);
        let err = next_now(&mut stream).unwrap().unwrap().unwrap_err();
        assert!(matches!(err, EventError::Dropped(5)), "{err}");
        assert_eq!(next_now(&mut stream).unwrap().unwrap().unwrap(), 7);
        assert!(next_now(&mut stream).is_none());
    }

    #[test]
    fn a_payload_that_does_not_decode_is_an_error_item() {
        let subs = Subscriptions::new(8);
        let mut stream = subs.events::<u32>("tick");
        subs.publish("tick", Some(1), 0, r#""one""#);
        subs.publish("tick", Some(2), 0, "2");
        let err = next_now(&mut stream).unwrap().unwrap().unwrap_err();
        assert!(matches!(&err, EventError::Decode { name, seq: Some(1), .. } if name == "tick"));
        assert_eq!(next_now(&mut stream).unwrap().unwrap().unwrap(), 2);
    }

    #[test]
    fn a_lagging_stream_is_told_how_much_it_lost() {
        let subs = Subscriptions::new(2);
        let mut slow = subs.events::<u32>("tick");
        for n in 1..=5 {
            subs.publish("tick", Some(n), 0, &n.to_string());
        }
        assert!(matches!(
            next_now(&mut slow).unwrap().unwrap(),
            Err(EventError::Lagged(3))
        ));
        assert_eq!(next_now(&mut slow).unwrap().unwrap().unwrap(), 4);
        assert_eq!(next_now(&mut slow).unwrap().unwrap().unwrap(), 5);
    }

    #[test]
    fn closing_ends_streams_after_what_they_were_sent() {
        let subs = Subscriptions::new(8);
        let mut stream = subs.events::<u32>("tick");
        let mut errors = subs.errors();
        subs.publish("tick", Some(1), 0, "1");
        subs.close();
        assert_eq!(next_now(&mut stream).unwrap().unwrap().unwrap(), 1);
        assert!(next_now(&mut stream).unwrap().is_none());
        assert!(next_now(&mut stream).unwrap().is_none(), "stays ended");
        assert!(next_now(&mut errors).unwrap().is_none());
        assert!(next_now(&mut subs.events::<u32>("tick")).unwrap().is_none());
        assert!(next_now(&mut subs.errors()).unwrap().is_none());
    }

    #[test]
    fn names_nobody_listens_to_are_forgotten() {
        let subs = Subscriptions::new(8);
        drop(subs.events::<u32>("a"));
        subs.publish("a", None, 0, "1");
        assert!(subs.lock().events.is_empty());
        drop(subs.events::<u32>("b"));
        let _c = subs.events::<u32>("c");
        assert_eq!(subs.lock().events.len(), 1);
    }
}
