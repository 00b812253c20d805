#[zocket::router(namespace = chat)]
trait Chat {
    async fn join(room: String);
}

fn main() {}
