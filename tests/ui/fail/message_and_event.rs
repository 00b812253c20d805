#[zocket::router]
trait Chat {
    #[zocket(message, event)]
    async fn typing(input: bool);
}

fn main() {}
