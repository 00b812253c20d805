#[derive(schemars::JsonSchema)]
struct Join {
    room: String,
}

#[zocket::router]
trait Chat {
    async fn join(input: Join);
}

fn main() {}
