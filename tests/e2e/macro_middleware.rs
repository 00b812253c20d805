//! Middleware declared in a router definition: values handed to handlers
//! as typed parameters, refusals, and the order relative to validation.

use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use zocket::{ClientId, Close, Connect, Ctx, RpcError};
use zocket_tests::{TestClient, serve_in_memory};

#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema, zocket::Headers)]
struct Headers {
    token: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
struct User {
    name: String,
}

#[derive(Clone, Copy, Debug)]
struct CallNumber(usize);

#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
struct Ban {
    who: String,
}

#[zocket::router(headers = Headers, namespace = "admin", middleware = [count])]
trait Admin {
    /// Numbers every call of the connection.
    #[zocket(middleware)]
    async fn count() -> CallNumber;
    /// The authenticated user, or `UNAUTHORIZED`.
    #[zocket(middleware)]
    async fn auth() -> Result<User, RpcError>;
    /// Refuses everyone but root.
    #[zocket(middleware)]
    async fn root_only() -> Result<(), RpcError>;

    async fn whoami(
        #[zocket(from = auth)] user: User,
        #[zocket(from = count)] n: CallNumber,
    ) -> String;
    #[zocket(uses = [root_only])]
    async fn ban(input: Ban, #[zocket(from = auth)] by: User) -> String;
    async fn open() -> usize;
}

struct App {
    calls: AtomicUsize,
}

impl Connect<Headers> for App {
    type Context = Option<String>;

    async fn on_connect(
        &self,
        headers: Arc<Headers>,
        _: ClientId,
    ) -> Result<Option<String>, Close> {
        Ok(headers.token.clone())
    }
}

impl AdminServer<Option<String>> for App {
    async fn count(&self, _ctx: &Ctx<Option<String>>) -> CallNumber {
        CallNumber(self.calls.fetch_add(1, Ordering::SeqCst) + 1)
    }

    async fn auth(&self, ctx: &Ctx<Option<String>>) -> Result<User, RpcError> {
        match ctx.context() {
            Some(token) => Ok(User {
                name: token.clone(),
            }),
            None => Err(RpcError::unauthorized("log in first")),
        }
    }

    async fn root_only(&self, ctx: &Ctx<Option<String>>) -> Result<(), RpcError> {
        match ctx.context().as_deref() {
            Some("root") => Ok(()),
            _ => Err(RpcError::forbidden("root only")),
        }
    }

    async fn whoami(&self, _ctx: Ctx<Option<String>>, user: User, n: CallNumber) -> String {
        format!("{} #{}", user.name, n.0)
    }

    async fn ban(&self, _ctx: Ctx<Option<String>>, input: Ban, by: User) -> String {
        format!("{} banned by {}", input.who, by.name)
    }

    async fn open(&self, _ctx: Ctx<Option<String>>) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn middleware_values_reach_handlers_as_typed_parameters() {
    let server = Admin::server(App {
        calls: AtomicUsize::new(0),
    })
    .build()
    .expect("valid");
    let (addr, _) = serve_in_memory(server);
    let mut anon = TestClient::connect(&format!("ws://{addr}/")).await;
    let mut ada = TestClient::connect(&format!("ws://{addr}/?token=ada")).await;
    let mut root = TestClient::connect(&format!("ws://{addr}/?token=root")).await;

    // The router-wide middleware runs for every call, the others only where used.
    assert_eq!(anon.call_ok("admin.open", json!(null)).await, json!(1));
    assert_eq!(
        ada.call_ok("admin.whoami", json!(null)).await,
        json!("ada #2")
    );
    let err = anon.call_err("admin.whoami", json!(null)).await;
    assert_eq!(
        (err["code"].as_str(), err["message"].as_str()),
        (Some("UNAUTHORIZED"), Some("log in first"))
    );

    // Middleware runs before the payload is validated.
    let err = ada.call_err("admin.ban", json!({"nobody": true})).await;
    assert_eq!(err["code"], "FORBIDDEN");
    let err = root.call_err("admin.ban", json!({"nobody": true})).await;
    assert_eq!(
        (err["code"].as_str(), err["path"].as_str()),
        (Some("VALIDATION"), Some("who"))
    );
    assert_eq!(
        root.call_ok("admin.ban", json!({"who": "eve"})).await,
        json!("eve banned by root")
    );
}
