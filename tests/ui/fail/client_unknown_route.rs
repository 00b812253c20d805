#[zocket::router]
trait Chat {
    async fn send(text: String) -> u64;
}

async fn run(client: ChatClient) {
    let _ = client.sned(&"hi".to_owned()).await;
}

fn main() {}
