#[zocket::router]
trait Chat {
    #[zocket(event)]
    fn message(payload: String);
}

fn send(handle: &zocket::ServerHandle<()>) {
    let _ = Chat::events(handle).mesage(&"hello".to_owned()).broadcast();
}

fn main() {}
