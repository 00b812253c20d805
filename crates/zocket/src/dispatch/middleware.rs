//! Middleware: async functions that run before a handler, may refuse the
//! message with an error reply, and may hand typed values to the handler.
//!
//! A middleware takes the call's [`Ctx`] and gives it back (or an error).
//! Values it stores with [`Ctx::insert`] are read by the handler with
//! [`Ctx::get`] or, when the handler cannot run without them,
//! [`Ctx::require`]:
//!
//! ```
//! use zocket::{Ctx, Router, RpcError};
//!
//! struct Conn { token: Option<String> }
//! #[derive(Clone)]
//! struct User { name: String }
//!
//! let admin = Router::<Conn>::new()
//!     .middleware(|mut ctx: Ctx<Conn>| async move {
//!         let Some(token) = ctx.context().token.clone() else {
//!             return Err(RpcError::unauthorized("log in first"));
//!         };
//!         ctx.insert(User { name: token });
//!         Ok(ctx)
//!     })
//!     .call("whoami", |ctx: Ctx<Conn>, _: ()| async move {
//!         let user = ctx.require::<User>()?;
//!         Ok::<_, RpcError>(user.name.clone())
//!     });
//! let app = Router::new().nest("admin", admin);
//! ```
//!
//! Router-level middleware ([`Router::middleware`](crate::Router::middleware)) runs first, in the
//! order added, then route-level middleware ([`Router::route_middleware`](crate::Router::route_middleware)).
//! A value no middleware inserted is `None` for [`Ctx::get`]; for
//! [`Ctx::require`] it fails the call with `INTERNAL`, and the log names the
//! route and the type.

use super::Ctx;
use crate::protocol::RpcError;
use futures_util::future::BoxFuture;
use std::future::Future;
use std::sync::Arc;

/// A type-erased middleware.
pub(crate) type Middleware<C> =
    Arc<dyn Fn(Ctx<C>) -> BoxFuture<'static, Result<Ctx<C>, RpcError>> + Send + Sync>;

pub(crate) fn erase_middleware<C, F, Fut>(f: F) -> Middleware<C>
where
    F: Fn(Ctx<C>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Ctx<C>, RpcError>> + Send + 'static,
{
    Arc::new(move |ctx| Box::pin(f(ctx)))
}
