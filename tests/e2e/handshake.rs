//! The header schema, refusals before the upgrade, `on_connect`, `__ready`.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use zocket::{ClientId, Close, Ctx, Reject, Router, RpcError, Server};
use zocket_tests::{TestClient, first_close, serve};

#[derive(Debug, Deserialize, JsonSchema, PartialEq, Clone, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum Tier {
    Free,
    Pro,
}

fn default_lang() -> String {
    "en".into()
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Headers {
    #[schemars(length(min = 1, max = 8))]
    user: String,
    #[serde(default = "default_lang")]
    lang: String,
    age: Option<u8>,
    beta: Option<bool>,
    tier: Tier,
    auth_token: Option<String>,
}

struct Session {
    user: String,
    lang: String,
    age: Option<u8>,
    beta: Option<bool>,
    tier: Tier,
    token: Option<String>,
    id: ClientId,
}

fn server() -> Server<Headers, Session> {
    let router = Router::new().call("me", |ctx: Ctx<Session>, _: ()| async move {
        let s = ctx.context();
        assert_eq!(&s.id, ctx.client_id());
        Ok::<_, RpcError>(json!({
            "user": s.user, "lang": s.lang, "age": s.age, "beta": s.beta, "tier": s.tier, "token": s.token,
        }))
    });
    Server::builder(router)
        .on_before_connect(|h: Arc<Headers>| async move {
            match h.user.as_str() {
                "mallory" => Err(Reject::forbidden("banned")),
                "anon" => Err(Reject::unauthorized("log in first")),
                "teapot" => Err(Reject::new(
                    axum::http::StatusCode::IM_A_TEAPOT,
                    zocket::ErrorCode::new("TEAPOT"),
                    "short and stout",
                )),
                _ => Ok(()),
            }
        })
        .on_connect(|h: Arc<Headers>, id: ClientId| async move {
            if h.user == "late" {
                return Err(Close::new(4403, "no late joiners"));
            }
            if h.user == "boom" {
                panic!("on_connect failure");
            }
            Ok(Session {
                user: h.user.clone(),
                lang: h.lang.clone(),
                age: h.age,
                beta: h.beta,
                tier: h.tier.clone(),
                token: h.auth_token.clone(),
                id,
            })
        })
        .build()
        .expect("valid server")
}

#[tokio::test]
async fn typed_fields_come_from_query_and_headers_with_defaults() {
    let (addr, _) = serve(server()).await;
    let url =
        format!("ws://{addr}/?x-zocket-version=0.1.0&user=ada&age=36&beta=true&tier=pro&unknown=1");
    let mut client = TestClient::connect(&url).await;
    let me = client.call_ok("me", json!(null)).await;
    assert_eq!(
        me,
        json!({"user":"ada","lang":"en","age":36,"beta":true,"tier":"pro","token":null})
    );

    // An HTTP header wins over a query parameter; `auth-token` matches `authToken`.
    let url = format!("ws://{addr}/?user=query&tier=free&lang=fr");
    let mut client =
        TestClient::try_connect_request(&url, &[("user", "header"), ("auth-token", "s3cret")])
            .await
            .expect("accepted");
    let me = client.call_ok("me", json!(null)).await;
    assert_eq!(me["user"], "header");
    assert_eq!(me["lang"], "fr");
    assert_eq!(me["token"], "s3cret");
    assert_eq!(me["age"], json!(null));
}

#[tokio::test]
async fn invalid_headers_get_400_listing_every_issue() {
    let (addr, handle) = serve(server()).await;
    let refused = TestClient::try_connect(&format!(
        "ws://{addr}/?age=old&beta=maybe&tier=gold&user=waytoolongname"
    ))
    .await
    .err()
    .expect("refused");
    assert_eq!(refused.status, 400);
    let error = &refused.body["error"];
    assert_eq!(error["code"], "INVALID_HEADERS");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    let paths: Vec<&str> = error["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["age", "beta", "tier", "user"], "{error}");
    for issue in error["issues"].as_array().unwrap() {
        assert!(issue["message"].as_str().is_some_and(|m| !m.is_empty()));
    }

    let refused = TestClient::try_connect(&format!("ws://{addr}/"))
        .await
        .err()
        .expect("refused");
    assert_eq!(refused.status, 400);
    let issues = refused.body["error"]["issues"].as_array().unwrap().clone();
    assert!(
        issues.contains(&json!({"path":"user","message":"missing required field"})),
        "{issues:?}"
    );
    assert!(
        issues.contains(&json!({"path":"tier","message":"missing required field"})),
        "{issues:?}"
    );
    assert_eq!(handle.connection_count(), 0, "no socket was upgraded");
}

#[tokio::test]
async fn on_before_connect_refuses_with_its_status_before_the_upgrade() {
    let (addr, handle) = serve(server()).await;
    for (user, status, code, message) in [
        ("anon", 401, "UNAUTHORIZED", "log in first"),
        ("mallory", 403, "FORBIDDEN", "banned"),
        ("teapot", 418, "TEAPOT", "short and stout"),
    ] {
        let refused = TestClient::try_connect(&format!("ws://{addr}/?user={user}&tier=free"))
            .await
            .err()
            .expect("refused");
        assert_eq!(refused.status, status);
        assert_eq!(
            refused.body,
            json!({"error":{"code":code,"message":message}})
        );
    }
    assert_eq!(handle.connection_count(), 0);
}

#[tokio::test]
async fn a_failing_on_connect_closes_with_its_code() {
    let (addr, handle) = serve(server()).await;
    let (code, reason) = first_close(&format!("ws://{addr}/?user=late&tier=free"), &[]).await;
    assert_eq!((code, reason.as_str()), (4403, "no late joiners"));
    // A panicking on_connect closes with 1011 and leaks nothing.
    let (code, reason) = first_close(&format!("ws://{addr}/?user=boom&tier=free"), &[]).await;
    assert_eq!(code, 1011);
    assert!(!reason.contains("on_connect failure"));
    assert_eq!(handle.connection_count(), 0);
}

#[tokio::test]
async fn ready_is_first_and_ids_are_unguessable() {
    let (addr, _) = serve(server()).await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..20 {
        let client = TestClient::connect(&format!("ws://{addr}/?user=ada&tier=free")).await;
        let ready = &client.ready;
        assert_eq!(ready["protocolVersion"], 1);
        assert_eq!(ready["recovered"], false);
        for key in ["clientId", "sessionId"] {
            let id = ready[key].as_str().unwrap();
            assert_eq!(id.len(), 32, "{key} has 128 bits as hex");
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
            assert!(seen.insert(id.to_owned()), "{key} repeated");
        }
        client.close().await;
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Profile {
    age: u8,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code)]
struct NestedHeaders {
    user: String,
    profile: Profile,
    tags: Option<Vec<String>>,
}

#[test]
fn a_header_type_with_nested_fields_is_refused_at_build_time() {
    let built: Result<Server<NestedHeaders, ()>, _> = Server::builder(Router::new())
        .on_connect(|_: Arc<NestedHeaders>, _| async { Ok(()) })
        .build();
    let err = built.err().expect("not built").to_string();
    assert!(
        err.contains("header field `profile` is an object or an array"),
        "{err}"
    );
    assert!(err.contains("header field `tags`"), "{err}");
    assert!(!err.contains("`user`"), "{err}");
}

#[derive(Debug, Deserialize, JsonSchema)]
struct TokenHeaders {
    token: String,
}

#[tokio::test]
async fn a_verified_value_goes_from_before_the_upgrade_to_on_connect_and_is_checked_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let checks = Arc::new(AtomicUsize::new(0));
    let connects = Arc::new(AtomicUsize::new(0));
    let (c1, c2) = (checks.clone(), connects.clone());
    let router = Router::new().call("me", |ctx: Ctx<String>, _: ()| async move {
        Ok::<_, RpcError>(ctx.context().clone())
    });
    let server = Server::builder(router)
        .on_verified_connect(
            move |headers: Arc<TokenHeaders>| {
                let checks = c1.clone();
                async move {
                    checks.fetch_add(1, Ordering::SeqCst);
                    match headers.token.strip_prefix("signed:") {
                        Some(user) => Ok(user.to_owned()),
                        None => Err(Reject::unauthorized("bad token")),
                    }
                }
            },
            move |_headers, user: String, _id| {
                let connects = c2.clone();
                async move {
                    connects.fetch_add(1, Ordering::SeqCst);
                    Ok(format!("user {user}"))
                }
            },
        )
        .build()
        .expect("valid");
    let (addr, _) = serve(server).await;
    let mut ada = TestClient::connect(&format!("ws://{addr}/?token=signed:ada")).await;
    assert_eq!(ada.call_ok("me", json!(null)).await, "user ada");
    assert_eq!(
        (
            checks.load(Ordering::SeqCst),
            connects.load(Ordering::SeqCst)
        ),
        (1, 1),
        "the token was checked once, and its result reached on_connect"
    );
    let refused = TestClient::try_connect(&format!("ws://{addr}/?token=forged"))
        .await
        .err()
        .expect("refused");
    assert_eq!(refused.status, 401);
    assert_eq!(
        connects.load(Ordering::SeqCst),
        1,
        "no on_connect for a refusal"
    );
}

#[test]
fn on_before_connect_after_on_verified_connect_is_a_build_error() {
    let built: Result<Server<TokenHeaders, String>, _> = Server::builder(Router::new())
        .on_verified_connect(
            |_: Arc<TokenHeaders>| async { Ok(()) },
            |_, (), _| async { Ok(String::new()) },
        )
        .on_before_connect(|_: Arc<TokenHeaders>| async { Ok(()) })
        .build();
    let err = built.err().expect("not built").to_string();
    assert!(err.contains("after `on_verified_connect`"), "{err}");
}
