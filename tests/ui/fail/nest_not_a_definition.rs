#[zocket::router]
trait App {
    #[zocket(nest)]
    fn users() -> Vec<u8>;
}

fn main() {}
