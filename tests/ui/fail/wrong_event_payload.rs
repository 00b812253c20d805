#[derive(serde::Serialize, schemars::JsonSchema)]
struct Message {
    text: String,
}

#[zocket::router]
trait Chat {
    #[zocket(event)]
    fn message(payload: Message);
}

fn send(handle: &zocket::ServerHandle<()>) {
    let _ = Chat::events(handle).message(&"hello".to_owned()).broadcast();
}

fn main() {}
