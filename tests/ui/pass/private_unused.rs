//! A private router whose generated items are not all used compiles
//! without warnings.
#![deny(warnings)]

#[zocket::router(middleware = [stamp])]
trait Hidden {
    #[zocket(middleware)]
    async fn stamp() -> u64;
    async fn ping(#[zocket(from = stamp)] at: u64) -> u64;
    #[zocket(message)]
    async fn note(text: String);
    #[zocket(event)]
    fn tick(payload: u64);
}

fn main() {}
