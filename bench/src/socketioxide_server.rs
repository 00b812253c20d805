//! The same work on socketioxide, the peer: events with acknowledgements
//! (`join`, `publish`, `math.add`) and rooms, on its idiomatic API and
//! default configuration, in one process or, with its Redis adapter
//! (`socketioxide-redis`, the fred driver), as one node of several.

use crate::wire::{Add, Msg, Publish};
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Data, SocketRef};

/// Handlers of one connection: `join` (a room), `publish` (`msg {ts}` to
/// every member of the room, the sender too), `math.add`; each acked.
async fn on_connect<A: Adapter>(socket: SocketRef<A>) {
    socket.on(
        "join",
        async |socket: SocketRef<A>, Data(room): Data<String>, ack: AckSender<A>| {
            socket.join(room);
            let _ = ack.send(&());
        },
    );
    socket.on(
        "publish",
        async |socket: SocketRef<A>, Data(publish): Data<Publish>, ack: AckSender<A>| {
            let msg = Msg { ts: publish.ts };
            let _ = socket.within(publish.room).emit("msg", &msg).await;
            let _ = ack.send(&());
        },
    );
    socket.on(
        "math.add",
        async |Data(add): Data<Add>, ack: AckSender<A>| {
            let _ = ack.send(&(add.a + add.b));
        },
    );
}

/// Serves socketioxide on `listener`, alone, or on the Redis at
/// `redis_url` as one node of several.
pub async fn serve(
    listener: tokio::net::TcpListener,
    redis_url: Option<&str>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let app = match redis_url {
        None => {
            let (layer, io) = SocketIo::new_layer();
            io.ns("/", on_connect);
            axum::Router::new().layer(layer)
        }
        Some(url) => {
            use socketioxide_redis::{FredAdapter, RedisAdapterCtr};
            let mut config = fred::prelude::Config::from_url(url)?;
            // The fred driver needs RESP3, which fred does not take from the URL.
            config.version = fred::types::RespVersion::RESP3;
            let client = fred::types::Builder::from_config(config).build_subscriber_client()?;
            fred::prelude::ClientLike::init(&client).await?;
            let adapter = RedisAdapterCtr::new_with_fred(client).await?;
            let (layer, io) = SocketIo::builder()
                .with_adapter::<FredAdapter<_>>(adapter)
                .build_layer();
            io.ns("/", on_connect).await?;
            axum::Router::new().layer(layer)
        }
    };
    axum::serve(crate::no_delay(listener), app).await?;
    Ok(())
}
