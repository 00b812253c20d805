#[zocket::router]
trait Chat {
    #[zocket(name = "a", name = "b")]
    async fn join(room: String);
}

fn main() {}
