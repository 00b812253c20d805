#[zocket::router]
trait Chat {
    #[zocket(event)]
    async fn message(payload: String);
}

fn main() {}
