//! Where rooms live and how events reach their recipients.
//!
//! Handlers and the server handle never touch sockets or room tables: they
//! call the server's [`Adapter`]. The default, [`MemoryAdapter`], keeps
//! everything in this process. An adapter for several nodes (Redis pub/sub)
//! implements the same trait, delivering locally and publishing to the
//! other nodes, with no change to handler code.

use super::{ClientId, EncodedEvent};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

/// What an adapter delivers events to: a session, whatever connection it
/// currently has.
pub(crate) trait Deliver: Send + Sync {
    fn client_id(&self) -> &ClientId;
    fn deliver(&self, event: &EncodedEvent);
}

impl<C: Send + Sync + 'static> Deliver for super::Session<C> {
    fn client_id(&self) -> &ClientId {
        &self.id
    }

    fn deliver(&self, event: &EncodedEvent) {
        super::Session::deliver(self, event);
    }
}

/// A client as an [`Adapter`] sees it: an id and a way to
/// deliver events (numbered, kept for recovery, queued for its connection).
#[derive(Clone)]
pub struct Recipient(pub(crate) Arc<dyn Deliver>);

impl Recipient {
    /// The client id.
    pub fn id(&self) -> &ClientId {
        self.0.client_id()
    }

    /// Queues an event for this client (see the slow-consumer policy of
    /// [`Config::outbound_queue`](crate::Config::outbound_queue)).
    pub fn deliver(&self, event: &EncodedEvent) {
        self.0.deliver(event);
    }
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Recipient").field(self.id()).finish()
    }
}

/// Who an event goes to.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    /// These clients.
    Clients(&'a [ClientId]),
    /// The members of these rooms, each once.
    Rooms(&'a [&'a str]),
    /// Every connection.
    All,
}

/// Rooms and delivery of a server. Each method is called with the ids of
/// connections of this server; all must be cheap (no I/O on the caller's
/// task): an adapter that talks to a broker queues that work.
pub trait Adapter: Send + Sync + 'static {
    /// A connection opened.
    fn add(&self, conn: Recipient);
    /// A connection ended: forget it and take it out of all its rooms.
    fn remove(&self, id: &ClientId);
    /// Puts a connection in a room; `false` when it already was in it.
    fn join(&self, id: &ClientId, room: &str) -> bool;
    /// Takes a connection out of a room; `false` when it was not in it.
    fn leave(&self, id: &ClientId, room: &str) -> bool;
    /// Whether a connection is in a room.
    fn has(&self, id: &ClientId, room: &str) -> bool;
    /// The rooms of a connection, sorted.
    fn rooms(&self, id: &ClientId) -> Vec<String>;
    /// Delivers an event to `target`, skipping the clients in `except`.
    /// Returns how many connections it was queued for.
    fn send(&self, target: Target<'_>, except: &[ClientId], event: &EncodedEvent) -> usize;
}

#[derive(Default)]
struct Tables {
    conns: HashMap<ClientId, Member>,
    rooms: HashMap<Box<str>, HashMap<ClientId, Recipient>>,
}

struct Member {
    recipient: Recipient,
    rooms: HashSet<Box<str>>,
}

/// The in-process adapter. Joining, leaving and sending to a room cost
/// O(members of that room), never O(all connections).
#[derive(Default)]
pub struct MemoryAdapter {
    tables: RwLock<Tables>,
}

impl MemoryAdapter {
    /// An empty adapter.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Tables> {
        self.tables
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Tables> {
        self.tables
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A small exclusion list is scanned; a large one is hashed.
enum Except<'a> {
    List(&'a [ClientId]),
    Set(HashSet<&'a ClientId>),
}

impl<'a> Except<'a> {
    fn new(ids: &'a [ClientId]) -> Self {
        if ids.len() > 16 {
            Self::Set(ids.iter().collect())
        } else {
            Self::List(ids)
        }
    }

    fn contains(&self, id: &ClientId) -> bool {
        match self {
            Self::List(ids) => ids.contains(id),
            Self::Set(ids) => ids.contains(id),
        }
    }
}

impl Adapter for MemoryAdapter {
    fn add(&self, conn: Recipient) {
        let id = conn.id().clone();
        self.write().conns.insert(
            id,
            Member {
                recipient: conn,
                rooms: HashSet::new(),
            },
        );
    }

    fn remove(&self, id: &ClientId) {
        let mut tables = self.write();
        let Some(member) = tables.conns.remove(id) else {
            return;
        };
        for room in member.rooms {
            if let Some(members) = tables.rooms.get_mut(&room) {
                members.remove(id);
                if members.is_empty() {
                    tables.rooms.remove(&room);
                }
            }
        }
    }

    fn join(&self, id: &ClientId, room: &str) -> bool {
        let mut tables = self.write();
        let tables = &mut *tables;
        let Some(member) = tables.conns.get_mut(id) else {
            return false;
        };
        if !member.rooms.insert(room.into()) {
            return false;
        }
        tables
            .rooms
            .entry(room.into())
            .or_default()
            .insert(id.clone(), member.recipient.clone());
        true
    }

    fn leave(&self, id: &ClientId, room: &str) -> bool {
        let mut tables = self.write();
        let Some(member) = tables.conns.get_mut(id) else {
            return false;
        };
        if !member.rooms.remove(room) {
            return false;
        }
        if let Some(members) = tables.rooms.get_mut(room) {
            members.remove(id);
            if members.is_empty() {
                tables.rooms.remove(room);
            }
        }
        true
    }

    fn has(&self, id: &ClientId, room: &str) -> bool {
        self.read()
            .conns
            .get(id)
            .is_some_and(|m| m.rooms.contains(room))
    }

    fn rooms(&self, id: &ClientId) -> Vec<String> {
        let mut rooms: Vec<String> = self
            .read()
            .conns
            .get(id)
            .map(|m| m.rooms.iter().map(|r| r.to_string()).collect())
            .unwrap_or_default();
        rooms.sort_unstable();
        rooms
    }

    fn send(&self, target: Target<'_>, except: &[ClientId], event: &EncodedEvent) -> usize {
        let except = Except::new(except);
        let tables = self.read();
        let mut sent = 0;
        let mut deliver = |r: &Recipient| {
            if !except.contains(r.id()) {
                r.deliver(event);
                sent += 1;
            }
        };
        match target {
            Target::All => tables.conns.values().for_each(|m| deliver(&m.recipient)),
            Target::Clients(ids) => {
                let mut seen = HashSet::with_capacity(ids.len());
                for id in ids {
                    if let Some(m) = tables.conns.get(id)
                        && seen.insert(id)
                    {
                        deliver(&m.recipient);
                    }
                }
            }
            Target::Rooms([room]) => {
                if let Some(members) = tables.rooms.get(*room) {
                    members.values().for_each(deliver);
                }
            }
            Target::Rooms(rooms) => {
                let mut seen = HashSet::new();
                for room in rooms {
                    for (id, r) in tables.rooms.get(*room).into_iter().flatten() {
                        if seen.insert(id) {
                            deliver(r);
                        }
                    }
                }
            }
        }
        sent
    }
}
