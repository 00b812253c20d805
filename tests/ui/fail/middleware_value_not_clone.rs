struct User;

#[zocket::router]
trait Admin {
    #[zocket(middleware)]
    async fn auth() -> Result<User, zocket::RpcError>;
    async fn whoami(#[zocket(from = auth)] user: User);
}

fn main() {}
