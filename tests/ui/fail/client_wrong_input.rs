#[zocket::router]
trait Chat {
    async fn send(text: String) -> u64;
}

async fn run(client: ChatClient) {
    let _ = client.send(&42).await;
}

fn main() {}
