#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Headers {
    name: String,
}

#[zocket::router(header = Headers)]
trait Chat {
    async fn join(room: String);
}

fn main() {}
