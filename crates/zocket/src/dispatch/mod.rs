//! From a frame to a handler and back: the envelope, the route, the
//! in-flight limit, the exactly-once reply cache, middleware, input
//! decoding, the handler, and the one reply each call gets.
//!
//! The fourth layer: the [`Dispatcher`] is what the connection layer hands
//! text frames to ([`Inbound`](crate::connection::Inbound)); [`Ctx`] is the
//! handlers' view of the registry; [`Router`] collects the routes.

mod call;
mod ctx;
pub mod middleware;
mod route;
mod router;
mod stream;

pub use ctx::Ctx;
#[cfg(feature = "testing")]
pub(crate) use ctx::join;
pub(crate) use route::Route;
pub use router::Router;
#[cfg(feature = "testing")]
pub(crate) use stream::OpenStream;
pub use stream::{StreamError, StreamSink};

use std::collections::HashMap;

/// The routes of a server, by name: the connection layer's [`Inbound`](crate::connection::Inbound).
pub(crate) struct Dispatcher<C> {
    /// Looked up once per frame. The set is fixed when the server is
    /// built, so a fast hasher is enough: a client's route names only
    /// ever look up, never insert.
    routes: HashMap<Box<str>, Route<C>, foldhash::fast::RandomState>,
}

impl<C> Dispatcher<C> {
    pub(crate) fn new(routes: HashMap<Box<str>, Route<C>>) -> Self {
        Self {
            routes: routes.into_iter().collect(),
        }
    }

    /// Every route's name and kind.
    pub(crate) fn names(
        &self,
    ) -> impl Iterator<Item = (std::sync::Arc<str>, zocket_protocol::RouteKind)> + '_ {
        self.routes
            .values()
            .map(|route| (route.name.clone(), route.kind))
    }
}
