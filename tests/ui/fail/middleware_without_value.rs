#[zocket::router]
trait Admin {
    #[zocket(middleware)]
    async fn root_only() -> Result<(), zocket::RpcError>;
    async fn ban(#[zocket(from = root_only)] ok: ());
}

fn main() {}
