#[zocket::router]
trait Chat<T> {
    async fn join(room: String);
}

fn main() {}
