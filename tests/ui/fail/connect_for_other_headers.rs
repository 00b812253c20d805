use std::sync::Arc;
use zocket::{ClientId, Close, Connect, Ctx, NoHeaders};

#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema, zocket::Headers)]
struct Headers {
    token: String,
}

#[zocket::router(headers = Headers)]
trait Chat {
    async fn join(room: String);
}

struct App;

// The hooks take no headers, but the definition declares `Headers`.
impl Connect<NoHeaders> for App {
    type Context = ();

    async fn on_connect(&self, _: Arc<NoHeaders>, _: ClientId) -> Result<(), Close> {
        Ok(())
    }
}

impl ChatServer<()> for App {
    async fn join(&self, _ctx: Ctx<()>, _room: String) {}
}

fn main() {
    let _ = Chat::server(App);
}
