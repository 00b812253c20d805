//! Middleware: refusing with an error reply, handing typed values to handlers.

use serde_json::json;
use std::sync::Arc;
use zocket::{ClientId, Ctx, Router, RpcError, Server};
use zocket_tests::{TestClient, serve_in_memory};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Headers {
    token: Option<String>,
}

struct Conn {
    token: Option<String>,
}

#[derive(Clone)]
struct User {
    name: String,
}

#[derive(Clone)]
struct AuditTrail(Vec<&'static str>);

fn router() -> Router<Conn> {
    let admin = Router::new()
        .middleware(|mut ctx: Ctx<Conn>| async move {
            let Some(token) = ctx.context().token.clone() else {
                return Err(RpcError::unauthorized("no token"));
            };
            ctx.insert(User { name: token });
            ctx.insert(AuditTrail(vec!["admin"]));
            Ok(ctx)
        })
        .call("whoami", |ctx: Ctx<Conn>, _: ()| async move {
            let user = ctx.require::<User>()?;
            let trail = ctx.require::<AuditTrail>()?;
            Ok::<_, RpcError>(json!({"name": user.name, "trail": trail.0}))
        })
        .call("ban", |_: Ctx<Conn>, _: ()| async move {
            Ok::<_, RpcError>("banned")
        })
        .route_middleware("ban", |mut ctx: Ctx<Conn>| async move {
            let user = ctx.require::<User>()?.name.clone();
            if user != "root" {
                return Err(RpcError::forbidden("root only"));
            }
            let mut trail = ctx
                .get::<AuditTrail>()
                .cloned()
                .expect("router middleware ran first");
            trail.0.push("ban");
            ctx.insert(trail);
            Ok(ctx)
        });
    Router::new()
        .call("public.missing", |ctx: Ctx<Conn>, _: ()| async move {
            // No middleware on this route hands over a `User`.
            assert!(ctx.get::<User>().is_none());
            ctx.require::<User>().map(|u| u.name.clone())
        })
        .nest("admin", admin)
}

async fn start() -> String {
    let server = Server::builder(router())
        .on_connect(|h: Arc<Headers>, _: ClientId| async move {
            Ok(Conn {
                token: h.token.clone(),
            })
        })
        .build()
        .expect("valid");
    let (addr, _) = serve_in_memory(server);
    format!("ws://{addr}/")
}

#[tokio::test]
async fn middleware_refuses_or_hands_values_to_handlers() {
    let url = start().await;
    let mut anon = TestClient::connect(&url).await;
    let err = anon.call_err("admin.whoami", json!(null)).await;
    assert_eq!(
        (err["code"].as_str(), err["message"].as_str()),
        (Some("UNAUTHORIZED"), Some("no token"))
    );
    // Refused messages without rpcId get `__error`.
    anon.send_json(json!({"type":"admin.ban"})).await;
    let frame = anon.next_frame().await;
    assert_eq!(
        (frame["type"].as_str(), frame["error"]["code"].as_str()),
        (Some("__error"), Some("UNAUTHORIZED"))
    );

    let mut ada = TestClient::connect(&format!("{url}?token=ada")).await;
    assert_eq!(
        ada.call_ok("admin.whoami", json!(null)).await,
        json!({"name":"ada","trail":["admin"]})
    );
    let err = ada.call_err("admin.ban", json!(null)).await;
    assert_eq!(err["code"], "FORBIDDEN");

    let mut root = TestClient::connect(&format!("{url}?token=root")).await;
    assert_eq!(
        root.call_ok("admin.ban", json!(null)).await,
        json!("banned")
    );

    // Asking for a value no middleware provides is a server bug: INTERNAL.
    let err = root.call_err("public.missing", json!(null)).await;
    assert_eq!(err["code"], "INTERNAL");
}

#[test]
fn route_middleware_for_an_unknown_route_is_a_startup_error() {
    let router = Router::<()>::new()
        .call("a", |_: Ctx<()>, _: ()| async { Ok::<_, RpcError>(()) })
        .route_middleware("b", |ctx: Ctx<()>| async { Ok(ctx) })
        .call("__x", |_: Ctx<()>, _: ()| async { Ok::<_, RpcError>(()) })
        .call("a", |_: Ctx<()>, _: ()| async { Ok::<_, RpcError>(()) });
    let err = Server::<zocket::NoHeaders, ()>::builder(router)
        .on_connect(|_, _| async { Ok(()) })
        .build()
        .err()
        .expect("invalid");
    let text = err.to_string();
    assert!(text.contains("no route `b`"), "{text}");
    assert!(text.contains("`__x`"), "{text}");
    assert!(text.contains("route `a` is defined twice"), "{text}");
}
