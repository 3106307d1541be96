//! The native API (`/api/v1`) over real HTTP: RFC 7662 introspection, token CRUD with no escalation, the generated
//! OpenAPI document, and JSON errors for every caller mistake.

use crate::common::{TokenSpec, spawn_app};
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

#[tokio::test]
async fn introspection_describes_active_tokens_and_only_says_inactive_otherwise() {
    let app = spawn_app().await;
    app.create_account("gateway", "introspect list-accts").await;
    app.create_account("alice", "all").await;
    let gateway = app.simple_token("gateway", "gw", &["introspect"]).await;
    let plain = app.simple_token("gateway", "plain", &["list-accts"]).await;
    let alice = app
        .token(TokenSpec {
            account: "alice",
            name: "ci",
            privileges: &["list-accts", "passwd"],
            allowlist: "",
            expires: "2027-01-31",
        })
        .await;

    let url = app.url("/api/v1/introspect");
    let introspect = |bearer: String, token: String| {
        let url = url.clone();
        async move {
            let response = client().post(url).bearer_auth(bearer).form(&[("token", token)]).send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = introspect(gateway.clone(), alice.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], true);
    assert_eq!(body["username"], "alice");
    assert_eq!(body["token_name"], "ci");
    assert_eq!(body["scope"], "list-accts passwd");
    assert_eq!(body["iat"], app.clock_unix());
    assert!(body["exp"].as_i64().unwrap() > app.clock_unix());

    for inactive in ["tsr_garbage".to_owned(), app::domain::TokenSecret::generate().expose().to_owned()] {
        let (status, body) = introspect(gateway.clone(), inactive).await;
        assert_eq!((status, body), (200, json!({"active": false})));
    }
    app.sql("UPDATE accounts SET suspended = TRUE WHERE username = 'alice'").await;
    assert_eq!(introspect(gateway.clone(), alice.clone()).await.1, json!({"active": false}));

    // The caller needs `introspect`, and must say which token.
    let (status, body) = introspect(plain, alice.clone()).await;
    assert_eq!(status, 403);
    assert!(body["message"].as_str().unwrap().contains("“introspect”"));
    let response = client().post(app.url("/api/v1/introspect")).bearer_auth(&gateway).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "bad_request");
}

#[tokio::test]
async fn token_crud_mirrors_the_web_app() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let admin = app.simple_token("alice", "admin", &["all"]).await;

    let response = client()
        .post(app.url("/api/v1/tokens"))
        .bearer_auth(&admin)
        .json(&json!({"name": "ci", "expires": "2027-01-31", "allowlist": ["192.0.2.0/24"], "privileges": ["list-accts"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let issued: Value = response.json().await.unwrap();
    let ci_secret = issued["secret"].as_str().unwrap().to_owned();
    assert_eq!(issued["token"]["name"], "ci");
    assert_eq!(issued["token"]["allowlist"], json!(["192.0.2.0/24"]));

    let response =
        client().get(app.url("/api/v1/tokens?sort=name&descending=false")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    assert_eq!(page["total"], 2);
    assert_eq!(page["tokens"][0]["name"], "admin");
    assert_eq!(page["tokens"][1]["hint"].as_str().map(str::len), Some(8)); // the hint only
    assert!(!page.to_string().contains(&ci_secret));

    let response = client()
        .patch(app.url("/api/v1/tokens/ci"))
        .bearer_auth(&admin)
        .json(&json!({"name": "deploy", "privileges": ["list-accts", "passwd"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let token: Value = response.json().await.unwrap();
    assert_eq!(
        (token["name"].as_str(), token["privileges"].clone()),
        (Some("deploy"), json!(["list-accts", "passwd"]))
    );

    let response = client()
        .post(app.url("/api/v1/tokens/deploy/rotate"))
        .bearer_auth(&admin)
        .json(&json!({"grace_minutes": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let rotated: Value = response.json().await.unwrap();
    assert_ne!(rotated["secret"].as_str().unwrap(), ci_secret);

    let response = client().get(app.url("/api/v1/tokens/deploy")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let response = client().delete(app.url("/api/v1/tokens/deploy")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(response.status(), 204);
    let response = client().get(app.url("/api/v1/tokens/deploy")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "not_found");
}

#[tokio::test]
async fn no_escalation_through_the_native_api() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let limited = app
        .token(TokenSpec {
            account: "alice",
            name: "limited",
            privileges: &["manage-api-tokens", "list-accts"],
            allowlist: "127.0.0.1",
            expires: "2027-01-31",
        })
        .await;
    for (body, field) in [
        (json!({"name": "a", "privileges": ["passwd"]}), "privileges"),
        (json!({"name": "a", "privileges": ["all"]}), "privileges"),
        (json!({"name": "a", "privileges": ["list-accts"], "expires": "never"}), "expires"),
        (json!({"name": "a", "privileges": ["list-accts"], "allowlist": ["0.0.0.0/0"]}), "allowlist"),
    ] {
        let response = client().post(app.url("/api/v1/tokens")).bearer_auth(&limited).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 422, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!((error["error"].as_str(), error["field"].as_str()), (Some("invalid"), Some(field)), "{error}");
    }
    let response = client()
        .patch(app.url("/api/v1/tokens/limited"))
        .bearer_auth(&limited)
        .json(&json!({"privileges": ["kill-acct"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let response = client()
        .post(app.url("/api/v1/tokens/limited/rotate"))
        .bearer_auth(&limited)
        .json(&json!({"expires": "never"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);

    // Defaults through a token: its own expiry and allowlist.
    let response = client()
        .post(app.url("/api/v1/tokens"))
        .bearer_auth(&limited)
        .json(&json!({"name": "child", "privileges": ["list-accts"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let child: Value = response.json().await.unwrap();
    assert_eq!(child["token"]["allowlist"], json!(["127.0.0.1"]));
    assert_eq!(child["token"]["expires_at"], json!(app.token_row("limited").await.unwrap().expires_at));
}

#[tokio::test]
async fn caller_mistakes_are_json_4xx_never_5xx() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let admin = app.simple_token("alice", "admin", &["all"]).await;
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (client().post(app.url("/api/v1/tokens")).body("{}"), 415, "unsupported_media_type"),
        (
            client().post(app.url("/api/v1/tokens")).header("content-type", "application/json").body("{"),
            400,
            "bad_request",
        ),
        (client().post(app.url("/api/v1/tokens")).json(&json!({"name": "a"})), 400, "bad_request"),
        (
            client().post(app.url("/api/v1/tokens")).json(&json!({"name": "a", "privileges": [], "extra": 1})),
            400,
            "bad_request",
        ),
        (client().post(app.url("/api/v1/tokens")).json(&json!({"name": "a", "privileges": []})), 422, "invalid"),
        (
            client()
                .post(app.url("/api/v1/tokens"))
                .header("content-type", "application/json")
                .body(vec![b' '; 100 * 1024]),
            413,
            "payload_too_large",
        ),
        (client().get(app.url("/api/v1/tokens?per_page=7")), 422, "invalid"),
        (client().get(app.url("/api/v1/tokens?page=x")), 400, "bad_request"),
        (client().get(app.url("/api/v1/tokens?page=1&page=2")), 400, "bad_request"),
        (client().get(app.url("/api/v1/tokens/%ff")), 400, "bad_request"),
        (client().get(app.url("/api/v1/auth?privilege=a&privilege=b")), 400, "bad_request"),
        (client().get(app.url("/api/v1/nothing-here")), 404, "not_found"),
        (client().put(app.url("/api/v1/tokens")), 405, ""),
    ];
    for (request, status, code) in cases {
        let response = request.bearer_auth(&admin).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{code}");
        if !code.is_empty() {
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], code, "{body}");
        }
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_native_api() {
    let app = spawn_app().await;
    let response = client().get(app.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/introspect",
        "/api/v1/auth",
        "/api/v1/tokens",
        "/api/v1/tokens/{name}",
        "/api/v1/tokens/{name}/rotate",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    assert!(doc["components"]["schemas"].get("ApiToken").is_some());
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
}

#[tokio::test]
async fn health_checks_need_no_token() {
    let app = spawn_app().await;
    assert_eq!(client().get(app.url("/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(client().get(app.url("/readyz")).send().await.unwrap().status(), 200);
}
