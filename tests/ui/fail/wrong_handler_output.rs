use std::sync::Arc;
use zocket::{ClientId, Close, Ctx, NoHeaders};

#[zocket::router]
trait Chat {
    async fn count() -> u64;
}

struct App;

impl zocket::Connect<NoHeaders> for App {
    type Context = ();

    async fn on_connect(&self, _: Arc<NoHeaders>, _: ClientId) -> Result<(), Close> {
        Ok(())
    }
}

impl ChatServer<()> for App {
    async fn count(&self, _ctx: Ctx<()>) -> String {
        "one".into()
    }
}

fn main() {}
