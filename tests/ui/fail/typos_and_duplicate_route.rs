#[zocket::router(namspace = "chat")]
trait Chat {
    #[zocket(mesage)]
    async fn typing(input: bool);
    async fn send(input: String);
    #[zocket(name = "send")]
    async fn send_again(input: String);
}

fn main() {}
