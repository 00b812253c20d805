#[zocket::router]
trait Chat {
    async fn send(input: String);
    #[zocket(name = "send")]
    async fn send_again(input: String);
}

fn main() {}
