//! A stream handler's sink carries the items the definition names, and
//! the handler returns how the stream ends, not an item.

use std::sync::Arc;
use zocket::{ClientId, Close, Ctx, NoHeaders, StreamSink};

#[zocket::router]
trait Jobs {
    #[zocket(stream)]
    async fn count(to: u64) -> u64;
}

struct App;

impl zocket::Connect<NoHeaders> for App {
    type Context = ();

    async fn on_connect(&self, _: Arc<NoHeaders>, _: ClientId) -> Result<(), Close> {
        Ok(())
    }
}

impl JobsServer<()> for App {
    async fn count(&self, _ctx: Ctx<()>, to: u64, _items: StreamSink<String>) -> u64 {
        to
    }
}

fn main() {}
