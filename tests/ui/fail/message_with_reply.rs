#[zocket::router]
trait Chat {
    #[zocket(message)]
    async fn typing(input: bool) -> u32;
}

fn main() {}
