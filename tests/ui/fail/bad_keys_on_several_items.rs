#[derive(Clone)]
struct User;

#[zocket::router]
trait Chat {
    #[zocket(nmae = "joinRoom")]
    async fn join(room: String);
    #[zocket(evnt)]
    fn joined(room: String);
    #[zocket(message, usses = [auth], name = "leave")]
    async fn leave(room: String);
    #[zocket(middlware)]
    async fn auth() -> Result<User, zocket::RpcError>;
    async fn kick(#[zocket(frm = auth)] nick: String, #[zocket(from = auth)] user: User);
}

fn main() {}
