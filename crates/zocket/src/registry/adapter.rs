//! Where rooms live and how events reach their recipients.
//!
//! Handlers and the server handle never touch sockets or room tables: they
//! call the server's [`Adapter`]. The default, [`MemoryAdapter`], keeps
//! everything in this process. An adapter for several nodes (Redis pub/sub)
//! implements the same trait, delivering locally and publishing to the
//! other nodes, with no change to handler code.

use super::{ClientId, EncodedEvent};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

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

/// An adapter the application keeps a handle to (to look at its rooms,
/// or to give one to several servers) is still one:
/// `builder.adapter(adapter.clone())` with an `Arc`.
impl<A: Adapter + ?Sized> Adapter for Arc<A> {
    fn add(&self, conn: Recipient) {
        (**self).add(conn);
    }
    fn remove(&self, id: &ClientId) {
        (**self).remove(id);
    }
    fn join(&self, id: &ClientId, room: &str) -> bool {
        (**self).join(id, room)
    }
    fn leave(&self, id: &ClientId, room: &str) -> bool {
        (**self).leave(id, room)
    }
    fn has(&self, id: &ClientId, room: &str) -> bool {
        (**self).has(id, room)
    }
    fn rooms(&self, id: &ClientId) -> Vec<String> {
        (**self).rooms(id)
    }
    fn send(&self, target: Target<'_>, except: &[ClientId], event: &EncodedEvent) -> usize {
        (**self).send(target, except, event)
    }
}

/// A connection and its rooms.
struct Member {
    recipient: Recipient,
    rooms: Mutex<HashSet<Box<str>>>,
}

/// The members of the rooms of one shard.
type Rooms = HashMap<Box<str>, HashMap<ClientId, Recipient>>;

/// Shards of the room table: a join or a leave locks one shard for
/// writing, so sends to rooms of other shards go on.
const SHARDS: usize = 16;

/// The in-process adapter. Joining, leaving and sending to a room cost
/// O(members of that room), never O(all connections). No send takes a
/// lock for writing: a send to a room reads its shard of the room table
/// (one of 16), a send to clients or to everyone reads the connection
/// table. Joins and leaves read the connection table and write one shard;
/// only a connection's arrival and its end write the connection table.
pub struct MemoryAdapter {
    conns: RwLock<HashMap<ClientId, Arc<Member>>>,
    rooms: [RwLock<Rooms>; SHARDS],
    hasher: std::hash::RandomState,
}

impl Default for MemoryAdapter {
    fn default() -> Self {
        Self {
            conns: RwLock::default(),
            rooms: std::array::from_fn(|_| RwLock::default()),
            hasher: std::hash::RandomState::new(),
        }
    }
}

impl MemoryAdapter {
    /// An empty adapter.
    pub fn new() -> Self {
        Self::default()
    }

    fn conns(&self) -> std::sync::RwLockReadGuard<'_, HashMap<ClientId, Arc<Member>>> {
        self.conns.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn conns_mut(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<ClientId, Arc<Member>>> {
        self.conns.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn shard(&self, room: &str) -> &RwLock<Rooms> {
        use std::hash::BuildHasher;
        &self.rooms[(self.hasher.hash_one(room) as usize) % SHARDS]
    }

    fn member(&self, id: &ClientId) -> Option<Arc<Member>> {
        self.conns().get(id).cloned()
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

fn rooms_of(member: &Member) -> std::sync::MutexGuard<'_, HashSet<Box<str>>> {
    member.rooms.lock().unwrap_or_else(PoisonError::into_inner)
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
        self.conns_mut().insert(
            id,
            Arc::new(Member {
                recipient: conn,
                rooms: Mutex::new(HashSet::new()),
            }),
        );
    }

    fn remove(&self, id: &ClientId) {
        let Some(member) = self.conns_mut().remove(id) else {
            return;
        };
        // Its rooms, under its own lock: a join racing this one finds the
        // connection gone, or has finished.
        let rooms = std::mem::take(&mut *rooms_of(&member));
        for room in rooms {
            let mut shard = write(self.shard(&room));
            if let Some(members) = shard.get_mut(&room) {
                members.remove(id);
                if members.is_empty() {
                    shard.remove(&room);
                }
            }
        }
    }

    fn join(&self, id: &ClientId, room: &str) -> bool {
        let conns = self.conns();
        let Some(member) = conns.get(id) else {
            return false;
        };
        let mut rooms = rooms_of(member);
        if !rooms.insert(room.into()) {
            return false;
        }
        write(self.shard(room))
            .entry(room.into())
            .or_default()
            .insert(id.clone(), member.recipient.clone());
        true
    }

    fn leave(&self, id: &ClientId, room: &str) -> bool {
        let conns = self.conns();
        let Some(member) = conns.get(id) else {
            return false;
        };
        let mut rooms = rooms_of(member);
        if !rooms.remove(room) {
            return false;
        }
        let mut shard = write(self.shard(room));
        if let Some(members) = shard.get_mut(room) {
            members.remove(id);
            if members.is_empty() {
                shard.remove(room);
            }
        }
        true
    }

    fn has(&self, id: &ClientId, room: &str) -> bool {
        self.member(id)
            .is_some_and(|member| rooms_of(&member).contains(room))
    }

    fn rooms(&self, id: &ClientId) -> Vec<String> {
        let mut rooms: Vec<String> = self
            .member(id)
            .map(|member| rooms_of(&member).iter().map(|r| r.to_string()).collect())
            .unwrap_or_default();
        rooms.sort_unstable();
        rooms
    }

    fn send(&self, target: Target<'_>, except: &[ClientId], event: &EncodedEvent) -> usize {
        let except = Except::new(except);
        let mut sent = 0;
        let mut deliver = |r: &Recipient| {
            if !except.contains(r.id()) {
                r.deliver(event);
                sent += 1;
            }
        };
        match target {
            Target::All => self
                .conns()
                .values()
                .for_each(|member| deliver(&member.recipient)),
            Target::Clients(ids) => {
                let conns = self.conns();
                let mut seen = HashSet::with_capacity(ids.len());
                for id in ids {
                    if let Some(member) = conns.get(id)
                        && seen.insert(id)
                    {
                        deliver(&member.recipient);
                    }
                }
            }
            Target::Rooms([room]) => {
                if let Some(members) = read(self.shard(room)).get(*room) {
                    members.values().for_each(deliver);
                }
            }
            Target::Rooms(rooms) => {
                let mut seen = HashSet::new();
                for room in rooms {
                    let shard = read(self.shard(room));
                    for (id, r) in shard.get(*room).into_iter().flatten() {
                        if seen.insert(id.clone()) {
                            deliver(r);
                        }
                    }
                }
            }
        }
        sent
    }
}
