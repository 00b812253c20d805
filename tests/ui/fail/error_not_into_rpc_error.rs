#[zocket::router]
trait Chat {
    async fn send(text: String) -> Result<u64, String>;
}

fn main() {}
