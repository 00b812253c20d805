// `when_full` takes one of its four values and belongs on events; `uses`
// belongs on calls and messages.
#[zocket::router]
trait Board {
    #[zocket(event, when_full = "lastest")]
    fn cursor(payload: (f32, f32));
    #[zocket(when_full = "drop")]
    async fn save(input: String);
    #[zocket(event, uses = [auth])]
    fn saved(payload: String);
    #[zocket(event, when_full = 3)]
    fn moved(payload: u32);
}

fn main() {}
