#[derive(schemars::JsonSchema)]
struct Message {
    text: String,
}

#[zocket::router]
trait Chat {
    #[zocket(event)]
    fn message(payload: Message);
}

fn main() {}
