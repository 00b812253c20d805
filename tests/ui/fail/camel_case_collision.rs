#[zocket::router]
trait Users {
    async fn get_profile(input: u32);
    #[allow(non_snake_case)]
    async fn getProfile(input: u32);
}

fn main() {}
