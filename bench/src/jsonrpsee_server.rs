//! The same work on jsonrpsee, the peer: the method `math.add` and the
//! subscription `stream.count` (notifications `stream.item`), each on its
//! idiomatic API and default configuration.

use crate::wire::{Add, Item, STREAM, STREAM_ITEM, STREAM_UNSUBSCRIBE};
use jsonrpsee::server::{RpcModule, Server, ServerConfig, ServerHandle, SubscriptionMessage};
use jsonrpsee::types::ErrorObjectOwned;
use std::net::SocketAddr;

/// The methods: `math.add` (`{"a", "b"}` → their sum) and the
/// subscription `stream.count` (`[count]` → `count` items).
pub fn module() -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>> {
    let mut module = RpcModule::new(());
    module.register_method("math.add", |params, _, _| {
        let add: Add = params.parse()?;
        Ok::<_, ErrorObjectOwned>(add.a + add.b)
    })?;
    module.register_subscription(
        STREAM,
        STREAM_ITEM,
        STREAM_UNSUBSCRIBE,
        |params, pending, _, _| async move {
            let count: u64 = params.one()?;
            let sink = pending.accept().await?;
            for i in 1..=count {
                let item = serde_json::value::to_raw_value(&Item::now(i))?;
                // Waits while the subscription's buffer is full.
                sink.send(SubscriptionMessage::from(item)).await?;
            }
            Ok(())
        },
    )?;
    Ok(module)
}

/// Serves the module on `addr` (127.0.0.1) with jsonrpsee's defaults but
/// for the connection limit, raised past the load generator's.
pub async fn serve(
    addr: SocketAddr,
) -> Result<(SocketAddr, ServerHandle), Box<dyn std::error::Error + Send + Sync>> {
    let config = ServerConfig::builder().max_connections(20_000).build();
    let server = Server::builder().set_config(config).build(addr).await?;
    let local = server.local_addr()?;
    Ok((local, server.start(module()?)))
}
