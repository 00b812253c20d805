#[zocket::router]
trait Chat {
    #[serde(rename = "joinRoom")]
    async fn join(room: String);
}

fn main() {}
