// With zocket's `client` feature on, a server-only output type (no
// `Deserialize`) is an error that names the feature.
#[derive(serde::Serialize, schemars::JsonSchema)]
struct Profile {
    name: String,
}

#[zocket::router]
trait Users {
    async fn profile() -> Profile;
}

fn main() {}
