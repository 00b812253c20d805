#[zocket::router]
trait Chat {
    #[zocket(mesage)]
    async fn typing(input: bool);
}

fn main() {}
