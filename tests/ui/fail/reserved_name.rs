#[zocket::router]
trait Chat {
    #[zocket(name = "__ready")]
    async fn ready();
}

fn main() {}
