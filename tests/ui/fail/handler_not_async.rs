#[zocket::router]
trait Chat {
    fn join(input: String);
}

fn main() {}
