//! Every feature of the router macro, in a crate that denies warnings.
#![deny(warnings, missing_docs)]

use std::sync::Arc;
use zocket::{ClientId, Close, Connection, Ctx, DisconnectReason, Reject, RpcError};

/// Headers.
#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema, zocket::Headers)]
pub struct Headers {
    /// A token.
    pub token: Option<String>,
    /// Fields of another header type, flattened.
    #[serde(flatten)]
    pub client: ClientInfo,
}

/// Header fields shared by several header types.
#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema, zocket::Headers)]
pub struct ClientInfo {
    /// A newtype over a header value.
    pub version: Option<Version>,
    /// An enum of unit variants.
    #[serde(default)]
    pub role: Role,
    /// Not a header: skipped.
    #[serde(skip)]
    pub seen: Vec<String>,
}

/// A version number.
#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema, zocket::HeaderValue)]
pub struct Version(pub u32);

/// A role, by its name.
#[derive(Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema, zocket::HeaderValue)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// May do anything.
    Admin,
    /// May look.
    #[default]
    Guest,
}

/// An input.
#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Profile {
    /// An id.
    pub id: u32,
}

/// An output.
#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct User {
    /// A name.
    pub name: String,
}

/// An event payload.
#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Joined {
    /// Who.
    pub who: String,
}

/// An application error.
pub enum UsersError {
    /// Not there.
    Missing,
}

impl From<UsersError> for RpcError {
    fn from(_: UsersError) -> Self {
        RpcError::new(zocket::ErrorCode::new("MISSING"), "no such user")
    }
}

#[zocket::router(headers = Headers, namespace = "users")]
/// The users API.
pub trait Users {
    /// A call with a typed error.
    async fn get_profile(&self, input: Profile) -> Result<User, UsersError>;
    /// A call that cannot fail.
    async fn count() -> u64;
    /// A call with no reply value.
    async fn touch(input: Profile);
    /// A message.
    #[zocket(message)]
    async fn typing(input: bool);
    /// A message that may fail.
    #[zocket(message, name = "ping")]
    async fn ping_server() -> Result<(), RpcError>;
    /// An event.
    #[zocket(event)]
    fn joined(payload: Joined);
    /// An event with a custom name.
    #[zocket(event, name = "left")]
    fn user_left(payload: String);
}

struct App;

impl zocket::Connect<Headers> for App {
    type Context = String;

    async fn on_before_connect(&self, headers: Arc<Headers>) -> Result<(), Reject> {
        match headers.token {
            Some(_) => Ok(()),
            None => Err(Reject::unauthorized("token")),
        }
    }

    async fn on_connect(&self, _headers: Arc<Headers>, id: ClientId) -> Result<String, Close> {
        Ok(id.to_string())
    }

    async fn on_disconnect(&self, _conn: Connection<String>, _reason: DisconnectReason) {}
}

impl UsersServer<String> for App {
    async fn get_profile(&self, ctx: Ctx<String>, input: Profile) -> Result<User, UsersError> {
        Users::events(&ctx).joined(&Joined { who: ctx.context().clone() }).broadcast().ok();
        if input.id == 0 {
            return Err(UsersError::Missing);
        }
        Ok(User { name: "ada".into() })
    }

    async fn count(&self, _ctx: Ctx<String>) -> u64 {
        1
    }

    async fn touch(&self, _ctx: Ctx<String>, _input: Profile) {}

    async fn typing(&self, ctx: Ctx<String>, _input: bool) {
        let handle = ctx.server();
        Users::events(&handle).user_left(&"bob".to_owned()).to(ctx.client_id()).ok();
    }

    async fn ping_server(&self, _ctx: Ctx<String>) -> Result<(), RpcError> {
        Ok(())
    }
}

/// The generated typed client: every route and event, typed.
#[allow(dead_code)]
async fn client() -> Result<(), Box<dyn std::error::Error>> {
    use futures_util::StreamExt;
    let client = UsersClient::connect("ws://127.0.0.1:1/", &Headers { token: None, client: ClientInfo { version: Some(Version(1)), role: Role::Guest, seen: Vec::new() } }).await?;
    let user: User = client.get_profile(&Profile { id: 1 }).await?;
    let _ = user.name;
    let _: u64 = client.count().await?;
    client.touch(&Profile { id: 2 }).await?;
    client.typing(&true).await?;
    client.ping_server().await?;
    let _: Option<Result<Joined, _>> = client.on_joined().next().await;
    let _: Option<Result<String, _>> = client.on_user_left().next().await;
    let _ = client.errors();
    client.close().await;
    Ok(())
}

fn main() {
    let server = Users::server(App).build().expect("valid");
    let _ = server.handle().emit(Users::JOINED, &Joined { who: "x".into() });
    let schema = Users::schema();
    let routes: Vec<&String> = schema["routes"].as_object().expect("routes").keys().collect();
    assert_eq!(routes, ["users.count", "users.getProfile", "users.ping", "users.touch", "users.typing"]);
    assert_eq!(schema["routes"]["users.typing"]["kind"], "message");
    assert_eq!(Users::USER_LEFT.name(), "users.left");
    let _router: zocket::Router<String> = Users::router(App);
}
