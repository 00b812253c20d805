#[derive(serde::Deserialize, zocket::Headers)]
struct Headers {
    name: String,
}

#[zocket::router(headers = Headers)]
trait Chat {
    async fn join(room: String);
}

fn main() {}
