//! The benchmark routes on zocket, with its default configuration.

use crate::wire::{Add, AddChecked, Blob, Count, Item, Join, Msg, Publish};
use std::sync::Arc;
use zocket::{
    BuildError, ClientId, Config, Ctx, Event, NoHeaders, Router, RpcError, Server, StreamSink,
};

/// The event `room.msg`.
const MSG: Event<Msg> = Event::new(crate::wire::MSG);

/// The routes: `math.add`, `math.addChecked`, `math.blob`, `room.join`,
/// `room.publish`, and the stream `stream.count`.
pub fn router() -> Router<()> {
    let math = Router::<()>::new()
        .call("add", |_ctx: Ctx<()>, add: Add| async move {
            Ok::<_, RpcError>(add.a + add.b)
        })
        .call("addChecked", |_ctx: Ctx<()>, add: AddChecked| async move {
            Ok::<_, RpcError>(add.a + add.b)
        })
        .call("blob", |_ctx: Ctx<()>, blob: Blob| async move {
            blob.reply()
                .ok_or_else(|| RpcError::validation("bytes", "at most 1 MiB"))
        });
    let room = Router::<()>::new()
        .call("join", |ctx: Ctx<()>, join: Join| async move {
            ctx.join(&join.room)?;
            Ok::<_, RpcError>(())
        })
        .call("publish", |ctx: Ctx<()>, publish: Publish| async move {
            ctx.emit(MSG, &Msg { ts: publish.ts })
                .to_room(&publish.room)
                .map_err(|_| RpcError::internal())?;
            Ok::<_, RpcError>(())
        });
    let stream = Router::<()>::new().stream(
        "count",
        |_ctx: Ctx<()>, count: Count, mut items: StreamSink<Item>| async move {
            for i in 1..=count.count {
                items.send(Item::now(i)).await?;
            }
            Ok::<_, RpcError>(())
        },
    );
    Router::new()
        .nest("math", math)
        .nest("room", room)
        .nest("stream", stream)
}

/// The benchmark configuration: zocket's defaults but for the frame rate
/// limit, which a load generator exceeds by design.
pub fn config() -> Config {
    Config::default().without_rate_limit()
}

/// The benchmark server on `config`: no headers, an empty context.
pub fn server(config: Config) -> Result<Server<NoHeaders, ()>, BuildError> {
    server_on(config, None)
}

/// [`server`], as one node of several on Redis when `adapter` is given
/// (as the adapter and the session store: sessions move between nodes).
pub fn server_on(
    config: Config,
    adapter: Option<zocket_redis::RedisAdapter>,
) -> Result<Server<NoHeaders, ()>, BuildError> {
    let builder = Server::builder(router())
        .config(config)
        .on_connect(|_headers: Arc<NoHeaders>, _id: ClientId| async { Ok(()) });
    match adapter {
        Some(adapter) => builder
            .adapter(adapter.clone())
            .session_store(adapter)
            .build(),
        None => builder.build(),
    }
}
