//! A router with no headers, no namespace and one route.
#![deny(warnings)]

#[zocket::router]
trait Math {
    async fn add(input: (i64, i64)) -> i64;
}

struct Calc;

impl zocket::Connect<zocket::NoHeaders> for Calc {
    type Context = ();

    async fn on_connect(&self, _: std::sync::Arc<zocket::NoHeaders>, _: zocket::ClientId) -> Result<(), zocket::Close> {
        Ok(())
    }
}

impl MathServer<()> for Calc {
    async fn add(&self, _ctx: zocket::Ctx<()>, (a, b): (i64, i64)) -> i64 {
        a + b
    }
}

fn main() {
    let _ = Math::server(Calc).build().expect("valid");
    assert!(Math::schema()["routes"]["add"].is_object());
}
