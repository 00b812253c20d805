#[derive(schemars::JsonSchema)]
struct Ack {
    id: u64,
}

#[zocket::router]
trait Chat {
    async fn send(text: String) -> Ack;
}

fn main() {}
