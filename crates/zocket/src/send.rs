//! Typed events and the send helpers shared by handlers and the server
//! handle.

use crate::adapter::{Adapter, Target};
use crate::error::SendError;
use crate::ids::ClientId;
use crate::protocol::EventFrame;
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
    _payload: PhantomData<fn(&T)>,
}

impl<T: ?Sized> Event<T> {
    /// An event named `name` (the frame's `type`).
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            _payload: PhantomData,
        }
    }

    /// The event's name.
    pub const fn name(&self) -> &'static str {
        self.name
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
pub struct EncodedEvent(pub(crate) Arc<EventFrame>);

impl EncodedEvent {
    /// Serializes `payload` as the event `event`.
    pub fn new<T: Serialize + ?Sized>(event: Event<T>, payload: &T) -> Result<Self, SendError> {
        let json = serde_json::to_string(payload)?;
        Ok(Self(Arc::new(EventFrame::new(event.name, &json))))
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
        Ok(self.adapter.send(target, &self.except, &event))
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
