//! A stream names the type of its items, and is one kind of item only.

#[zocket::router]
trait Jobs {
    #[zocket(stream)]
    async fn tail(from: u64);
    #[zocket(stream)]
    async fn nothing(from: u64) -> ();
    #[zocket(stream, message)]
    async fn both(from: u64) -> u64;
    #[zocket(stream)]
    fn not_async(from: u64) -> u64;
}

fn main() {}
