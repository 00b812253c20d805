use std::sync::Arc;
use zocket::{ClientId, Close, Ctx, NoHeaders};

#[zocket::router]
trait Chat {
    async fn join(room: String);
}

struct App;

impl zocket::Connect<NoHeaders> for App {
    type Context = ();

    async fn on_connect(&self, _: Arc<NoHeaders>, _: ClientId) -> Result<(), Close> {
        Ok(())
    }
}

impl ChatServer<()> for App {
    async fn join(&self, _ctx: Ctx<()>, _room: u32) {}
}

fn main() {}
