#[zocket::router]
trait Chat {
    #[zocket(event)]
    fn message(payload: String) -> bool;
}

fn main() {}
