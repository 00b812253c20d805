//! A node of a test cluster: a zocket server on a `RedisAdapter` that is
//! also its session store, with a context that travels between nodes.
//! The cluster tests run nodes in their own process (`cluster-node`, to be
//! killed) and in the test's.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zocket::{ClientId, Config, Ctx, Event, NoHeaders, Router, RpcError, Server, ServerHandle};
use zocket_redis::RedisAdapter;

/// The event every `say` sends.
pub const NEWS: Event<Value> = Event::new("news");

/// Each session's context: the node it was opened on.
#[derive(Debug, Serialize, Deserialize)]
pub struct Member {
    /// The label of the node whose `on_connect` built it.
    pub opened_on: String,
}

/// How many times each `run` key ran, on every node of this process.
#[derive(Clone, Default)]
pub struct Runs(Arc<Mutex<HashMap<String, u32>>>);

impl Runs {
    /// How many times `key` ran.
    pub fn of(&self, key: &str) -> u32 {
        self.lock().get(key).copied().unwrap_or(0)
    }

    /// Every key and its count.
    pub fn all(&self) -> HashMap<String, u32> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Say {
    room: String,
    text: Value,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Run {
    key: String,
    wait_ms: u64,
}

/// Counts a dropped stream handler under `key` in [`Runs`].
struct Dropped(Runs, &'static str);

impl Drop for Dropped {
    fn drop(&mut self) {
        *self.0.lock().entry(self.1.to_owned()).or_insert(0) += 1;
    }
}

/// The node's server: `join` a room, `say` to a room, `whoami` (client id,
/// context, rooms), `run {key, wait_ms}` (counts the key's runs, waits,
/// returns the count), and the stream `count n` (1 to `n`; counts its
/// handlers dropped under `count-dropped`).
pub fn server(
    label: &str,
    adapter: &RedisAdapter,
    runs: Runs,
    config: Config,
) -> Server<NoHeaders, Member> {
    let router = Router::new()
        .call("join", |ctx: Ctx<Member>, room: String| async move {
            ctx.join(&room)?;
            Ok::<_, RpcError>(())
        })
        .call("say", |ctx: Ctx<Member>, say: Say| async move {
            ctx.emit(NEWS, &say.text)
                .to_room(&say.room)
                .map_err(|_| RpcError::internal())
        })
        .call("whoami", |ctx: Ctx<Member>, _: ()| async move {
            Ok::<_, RpcError>(json!({
                "client": ctx.client_id().to_string(),
                "openedOn": ctx.context().opened_on,
                "rooms": ctx.current(),
            }))
        })
        .stream("count", {
            let runs = runs.clone();
            move |_: Ctx<Member>, n: u64, mut items: zocket::StreamSink<u64>| {
                let guard = Dropped(runs.clone(), "count-dropped");
                async move {
                    let _guard = guard;
                    for i in 1..=n {
                        if items.send(i).await.is_err() {
                            break;
                        }
                    }
                    Ok::<_, RpcError>(())
                }
            }
        })
        .call("run", move |_: Ctx<Member>, run: Run| {
            let runs = runs.clone();
            async move {
                let count = {
                    let mut runs = runs.lock();
                    let count = runs.entry(run.key).or_insert(0);
                    *count += 1;
                    *count
                };
                tokio::time::sleep(Duration::from_millis(run.wait_ms)).await;
                Ok::<_, RpcError>(count)
            }
        });
    let label = label.to_owned();
    Server::builder(router)
        .on_connect(move |_: Arc<NoHeaders>, _: ClientId| {
            let opened_on = label.clone();
            async move { Ok(Member { opened_on }) }
        })
        .config(config)
        .adapter(adapter.clone())
        .session_store(adapter.clone())
        .build()
        .expect("valid")
}

/// A node serving on `addr` (port 0: any free port).
pub struct Node {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its server's handle.
    pub handle: ServerHandle<Member>,
    /// Its adapter and session store.
    pub adapter: RedisAdapter,
}

impl Node {
    /// Starts a node on the Redis at `url`.
    pub async fn start(label: &str, url: &str, runs: Runs, config: Config) -> Self {
        let adapter = crate::within("the adapter to connect", RedisAdapter::connect(url))
            .await
            .expect("connected");
        let server = server(label, &adapter, runs, config);
        let (addr, handle) = crate::serve(server).await;
        Self {
            addr,
            handle,
            adapter,
        }
    }

    /// Its WebSocket URL.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }
}
