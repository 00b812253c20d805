#[zocket::router]
trait Chat {
    async fn send(text: String) -> u64;
}

async fn run(client: ChatClient) -> Result<(), zocket::client::CallError> {
    let id: String = client.send(&"hi".to_owned()).await?;
    drop(id);
    Ok(())
}

fn main() {}
