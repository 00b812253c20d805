#[zocket::router]
trait Chat {
    #[zocket(event)]
    fn message(from: String, text: String);
}

fn main() {}
