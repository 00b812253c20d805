#[derive(Clone)]
struct User;

#[zocket::router]
trait Admin {
    #[zocket(middleware)]
    async fn auth() -> Result<User, zocket::RpcError>;
    #[zocket(uses = [atuh])]
    async fn ban(user_id: u64);
    async fn whoami(#[zocket(from = session)] user: User) -> String;
    #[zocket(event)]
    fn banned(user_id: u64) -> bool;
}

fn main() {}
