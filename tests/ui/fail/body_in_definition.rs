#[zocket::router]
trait Chat {
    async fn join(room: String) {
        let _ = room;
    }
}

fn main() {}
