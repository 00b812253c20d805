//! Typed events and the send helpers shared by handlers and the server
//! handle.

use super::{Adapter, ClientId, Target};
use crate::protocol::{EventFrame, WhenFull};
use serde::Serialize;
use std::marker::PhantomData;
use std::sync::Arc;

/// A server event: its name and, in the type, its payload. Declare one
/// constant per event and sending a payload of another type does not
/// compile:
///
/// ```
/// #[derive(serde::Serialize)]
/// struct ChatMessage { text: String }
///
/// const MESSAGE: zocket::Event<ChatMessage> = zocket::Event::new("chat.message");
/// ```
pub struct Event<T: ?Sized> {
    name: &'static str,
    policy: WhenFull,
    _payload: PhantomData<fn(&T)>,
}

impl<T: ?Sized> Event<T> {
    /// An event named `name` (the frame's `type`), closing a recipient
    /// whose queue it finds full ([`WhenFull::Close`]).
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            policy: WhenFull::Close,
            _payload: PhantomData,
        }
    }

    /// The same event with another policy for a recipient whose queue is
    /// full: dropped, dropping the oldest of its kind, or keeping only the
    /// latest. Such events are ephemeral: no `seq`, no replay on resume;
    /// the next one a recipient gets says how many it missed
    /// (`"dropped"`).
    ///
    /// ```
    /// use zocket::{Event, WhenFull};
    ///
    /// const CURSOR: Event<(f32, f32)> = Event::new("board.cursor").when_full(WhenFull::Latest);
    /// assert_eq!(CURSOR.policy(), WhenFull::Latest);
    /// ```
    pub const fn when_full(self, policy: WhenFull) -> Self {
        Self {
            name: self.name,
            policy,
            _payload: PhantomData,
        }
    }

    /// The event's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// What happens when it finds a recipient's queue full.
    pub const fn policy(&self) -> WhenFull {
        self.policy
    }
}

impl<T: ?Sized> Clone for Event<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for Event<T> {}

impl<T: ?Sized> std::fmt::Debug for Event<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Event").field(&self.name).finish()
    }
}

/// An event serialized once, ready to be queued for any number of
/// connections.
#[derive(Clone, Debug)]
pub struct EncodedEvent {
    pub(crate) frame: Arc<EventFrame>,
}

impl EncodedEvent {
    /// Serializes `payload` as the event `event`.
    pub fn new<T: Serialize + ?Sized>(event: Event<T>, payload: &T) -> Result<Self, SendError> {
        let json = serde_json::to_string(payload)?;
        Ok(Self::framed(EventFrame::new(
            event.name,
            &json,
            event.policy,
        )))
    }

    /// The event `name` with a payload already serialized (`payload_json`),
    /// as an adapter receives it from another node. Fails when
    /// `payload_json` is not one JSON value.
    pub fn from_json(name: &str, payload_json: &str, policy: WhenFull) -> Result<Self, SendError> {
        serde_json::from_str::<serde::de::IgnoredAny>(payload_json)?;
        Ok(Self::framed(EventFrame::new(name, payload_json, policy)))
    }

    fn framed(frame: EventFrame) -> Self {
        Self {
            frame: Arc::new(frame),
        }
    }

    /// The same event, identified as event `n` of node `node`: a cluster
    /// adapter gives every send such an id, unique in the cluster, so that
    /// a session moving between nodes gets an event that reached both of
    /// them once (see [`SessionStore`](crate::store::SessionStore)). The
    /// id lives in the frame every recipient shares: the first send of an
    /// event costs nothing more; another send of the same one copies it.
    #[must_use]
    pub fn with_origin(&self, node: u128, n: u64) -> Self {
        if self.frame.set_origin((node, n)) {
            return self.clone();
        }
        let frame = self.frame.copy();
        frame.set_origin((node, n));
        Self::framed(frame)
    }

    /// The id given by [`with_origin`](Self::with_origin), if any.
    pub fn origin(&self) -> Option<(u128, u64)> {
        self.frame.origin()
    }

    /// The event's name.
    pub fn name(&self) -> &str {
        self.frame.name()
    }

    /// What happens when it finds a recipient's queue full.
    pub fn policy(&self) -> WhenFull {
        self.frame.policy()
    }

    /// The payload's JSON, as serialized once for every recipient.
    pub fn payload_json(&self) -> &str {
        self.frame.payload_json()
    }
}

/// An event on its way out: pick the recipients with one of the finishing
/// methods. The payload is serialized once, whatever the number of
/// recipients. Each finishing method returns how many connections the
/// event was queued for.
#[must_use = "an event is sent only by `to`, `to_clients`, `to_room`, `to_rooms` or `broadcast`"]
pub struct Emit<'a> {
    adapter: &'a dyn Adapter,
    event: Result<EncodedEvent, SendError>,
    except: Vec<ClientId>,
}

impl<'a> Emit<'a> {
    pub(crate) fn new<T: Serialize + ?Sized>(
        adapter: &'a dyn Adapter,
        event: Event<T>,
        payload: &T,
    ) -> Self {
        Self {
            adapter,
            event: EncodedEvent::new(event, payload),
            except: Vec::new(),
        }
    }

    /// Leaves these clients out.
    pub fn except<I>(mut self, ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<ClientId>,
    {
        self.except.extend(ids.into_iter().map(Into::into));
        self
    }

    fn send(self, target: Target<'_>) -> Result<usize, SendError> {
        let event = self.event?;
        let sent = self.adapter.send(target, &self.except, &event);
        crate::metrics::events_sent(sent);
        Ok(sent)
    }

    /// To one client.
    pub fn to(self, id: &ClientId) -> Result<usize, SendError> {
        self.send(Target::Clients(std::slice::from_ref(id)))
    }

    /// To each of these clients, once.
    pub fn to_clients(self, ids: &[ClientId]) -> Result<usize, SendError> {
        self.send(Target::Clients(ids))
    }

    /// To every member of a room.
    pub fn to_room(self, room: &str) -> Result<usize, SendError> {
        self.send(Target::Rooms(&[room]))
    }

    /// To every member of any of these rooms, once each.
    pub fn to_rooms<I>(self, rooms: I) -> Result<usize, SendError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let owned: Vec<I::Item> = rooms.into_iter().collect();
        let names: Vec<&str> = owned.iter().map(AsRef::as_ref).collect();
        self.send(Target::Rooms(&names))
    }

    /// To every connection (minus [`except`](Self::except)).
    pub fn broadcast(self) -> Result<usize, SendError> {
        self.send(Target::All)
    }
}

/// Why an event could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The payload failed to serialize.
    #[error("event payload failed to serialize: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// Only this crate's types can send events.
pub(crate) mod sealed {
    /// The seal of [`Emitter`](super::Emitter).
    pub trait Sealed {}
    impl<C> Sealed for crate::registry::ServerHandle<C> {}
}

/// Where events can be sent from: a handler's [`Ctx`](crate::Ctx) or a
/// [`ServerHandle`](crate::ServerHandle). Typed event senders generated by
/// the router macro take any of them.
pub trait Emitter: sealed::Sealed {
    /// Starts sending `payload` as `event`.
    fn emit_event<T: Serialize + ?Sized>(&self, event: Event<T>, payload: &T) -> Emit<'_>;
}

impl<C: Send + Sync + 'static> Emitter for super::ServerHandle<C> {
    fn emit_event<T: Serialize + ?Sized>(&self, event: Event<T>, payload: &T) -> Emit<'_> {
        self.emit(event, payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_is_shared_by_one_send_and_copied_for_another() {
        const NEWS: Event<u32> = Event::new("news");
        let event = EncodedEvent::new(NEWS, &7).expect("encodes");
        assert_eq!(event.origin(), None);
        let first = event.with_origin(1, 10);
        assert!(Arc::ptr_eq(&first.frame, &event.frame), "no copy");
        assert_eq!(first.origin(), Some((1, 10)));
        assert!(Arc::ptr_eq(&event.with_origin(1, 10).frame, &event.frame));
        // The same event sent again: its own id, on a copy.
        let second = event.with_origin(1, 11);
        assert!(!Arc::ptr_eq(&second.frame, &event.frame));
        assert_eq!(second.origin(), Some((1, 11)));
        assert_eq!(first.origin(), Some((1, 10)), "the first send keeps its id");
        assert_eq!(second.payload_json(), "7");
        assert_eq!(second.name(), "news");
    }
}
