//! A header type must derive `zocket::Headers`, which checks its fields.

#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
struct Headers {
    name: String,
}

#[zocket::router(headers = Headers)]
trait Chat {
    async fn join(room: String);
}

fn main() {}
