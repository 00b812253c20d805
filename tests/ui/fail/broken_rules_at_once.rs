#[zocket::router(namespace = "chat.")]
trait Chat {
    fn join(room: String, nick: String);
    #[zocket(name = "__ready")]
    async fn ready();
    #[zocket(message)]
    async fn typing(on: bool) -> bool;
    #[zocket(event)]
    async fn joined(room: String);
}

fn main() {}
