#[zocket::router]
trait Chat {
    async fn send(room: String, text: String);
}

fn main() {}
