#[derive(Clone)]
struct User;

#[zocket::router]
trait Admin {
    #[zocket(middleware)]
    async fn auth(token: String) -> Result<User, zocket::RpcError>;
    async fn whoami(#[zocket(from = auth)] user: User);
}

fn main() {}
