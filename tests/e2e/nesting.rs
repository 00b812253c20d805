//! Router definitions composed: one nests another, whose routes and events
//! keep their own namespace, served by one implementation and reached
//! through one typed client.

use futures_util::StreamExt;
use std::sync::Arc;
use zocket::testing::TestServer;
use zocket::{ClientId, Close, Connect, Ctx, NoHeaders};
use zocket_tests::within;

#[zocket::router(namespace = "users")]
trait Users {
    async fn get_profile(id: u32) -> String;
    #[zocket(event)]
    fn renamed(payload: String);
}

#[zocket::router(namespace = "app")]
trait App {
    async fn version() -> u32;
    #[zocket(nest)]
    fn users() -> Users;
}

struct Backend;

impl Connect<NoHeaders> for Backend {
    type Context = ();

    async fn on_connect(&self, _: Arc<NoHeaders>, _: ClientId) -> Result<(), Close> {
        Ok(())
    }
}

impl UsersServer<()> for Backend {
    async fn get_profile(&self, ctx: Ctx<()>, id: u32) -> String {
        let name = format!("user{id}");
        Users::events(&ctx).renamed(&name).to(ctx.client_id()).ok();
        name
    }
}

impl AppServer<()> for Backend {
    async fn version(&self, _ctx: Ctx<()>) -> u32 {
        2
    }
}

#[tokio::test]
async fn a_nested_definition_is_served_described_and_called_through_its_parent() {
    let schema = App::schema();
    let routes: Vec<&String> = schema["routes"].as_object().unwrap().keys().collect();
    assert_eq!(routes, ["app.version", "users.getProfile"]);
    assert!(schema["events"]["users.renamed"].is_object());

    let server = App::server(Backend).build().expect("valid");
    let test = TestServer::new(server);
    let handle = test.handle();
    let routes: Vec<&str> = handle.routes().into_iter().map(|(name, _)| name).collect();
    assert_eq!(routes, ["app.version", "users.getProfile"]);

    let client = within("connect", test.connect(&NoHeaders {}))
        .await
        .map(AppClient::from_client)
        .expect("connected");
    assert_eq!(within("version", client.version()).await.expect("ok"), 2);
    let users = client.users();
    let mut renamed = users.on_renamed();
    assert_eq!(
        within("getProfile", users.get_profile(&7))
            .await
            .expect("ok"),
        "user7"
    );
    assert_eq!(
        within("the event", renamed.next())
            .await
            .expect("open")
            .expect("decoded"),
        "user7"
    );
    client.close().await;
}
