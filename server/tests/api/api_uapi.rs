//! The cPanel UAPI compatible API (`/execute/Tokens/*`) over real HTTP, driven the way existing clients drive it,
//! with the exact envelope of SPEC §4 and an error envelope for every caller mistake.

use crate::common::{TokenSpec, spawn_app};
use serde_json::{Value, json};

fn assert_envelope(body: &Value, status: i64) {
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 6, "{body}");
    for key in ["status", "errors", "messages", "warnings", "metadata", "data"] {
        assert!(body.get(key).is_some(), "{key} missing in {body}");
    }
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["messages"], Value::Null);
    assert_eq!(body["warnings"], Value::Null);
    assert_eq!(body["metadata"], json!({}));
    if status == 1 {
        assert_eq!(body["errors"], Value::Null);
    } else {
        assert!(body["errors"][0].is_string(), "{body}");
        assert_eq!(body["data"], Value::Null);
    }
}

async fn call(app: &crate::common::TestApp, auth: &str, function: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(app.url(&format!("/execute/Tokens/{function}")))
        .header("authorization", auth)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn an_existing_client_lists_creates_renames_and_revokes() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let secret = app.simple_token("alice", "deploy", &["all"]).await;
    let auth = format!("cpanel alice:{secret}");

    // Form-encoded POST, as cPanel's own clients send it.
    let (status, body) = call(&app, &auth, "list", &[]).await;
    assert_eq!(status, 200);
    assert_envelope(&body, 1);
    let listed = body["data"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], "deploy");
    assert_eq!(listed[0]["has_full_access"], 1);
    assert_eq!(listed[0]["features"], json!([]));
    assert_eq!(listed[0]["expires_at"], Value::Null);
    assert!(listed[0]["create_time"].as_i64().unwrap() > 1_700_000_000);

    let (status, body) =
        call(&app, &auth, "create_full_access", &[("name", "backup"), ("expires_at", "1800000000")]).await;
    assert_eq!(status, 200);
    assert_envelope(&body, 1);
    let new_secret = body["data"]["token"].as_str().unwrap().to_owned();
    assert!(new_secret.starts_with("tsr_"));
    assert_eq!(body["data"]["create_time"], app.clock_unix());
    assert_eq!(body["data"].as_object().unwrap().len(), 2);
    // The new token works at once, and expires at the end of its day in the server's zone.
    assert_eq!(app.get_with("/api/v1/auth", &format!("cpanel alice:{new_secret}")).await.status(), 200);
    let row = app.token_row("backup").await.unwrap();
    assert_eq!(
        row.expires_at.unwrap().with_timezone(&chrono_tz::Europe::Berlin).format("%F %T").to_string(),
        "2027-01-15 23:59:59"
    );

    // Also as a GET with the query string.
    let response = app.get_with("/execute/Tokens/rename?name=backup&new_name=nightly", &auth).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_envelope(&body, 1);
    assert_eq!(body["data"], Value::Null);

    let (status, body) = call(&app, &auth, "revoke", &[("name", "nightly")]).await;
    assert_eq!((status, &body["data"]), (200, &json!(1)));
    assert_eq!(app.get_with("/api/v1/auth", &format!("cpanel alice:{new_secret}")).await.status(), 401);
    // Revoking what does not exist still answers 1.
    let (status, body) = call(&app, &auth, "revoke", &[("name", "nightly")]).await;
    assert_eq!((status, &body["data"]), (200, &json!(1)));
}

#[tokio::test]
async fn caller_mistakes_get_the_uapi_error_envelope_with_a_4xx() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let secret = app.simple_token("alice", "deploy", &["all"]).await;
    let auth = format!("cpanel alice:{secret}");
    let client = reqwest::Client::new();

    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (client.get(app.url("/execute/Tokens/explode")), 404, "function"),
        (client.get(app.url("/execute/Email/list_pops")), 404, "Email"),
        (client.get(app.url("/execute/Tokens/rename?name=deploy")), 400, "“new_name” is required"),
        (client.get(app.url("/execute/Tokens/revoke?name=a&name=b")), 400, "more than once"),
        (client.get(app.url("/execute/Tokens/revoke?name=%zz")), 400, "URL-encoded"),
        (client.get(app.url("/execute/Tokens/revoke?name=%ff")), 400, "URL-encoded"),
        (client.get(app.url("/execute/Tokens/create_full_access?name=bad%20name")), 422, "name"),
        (client.get(app.url("/execute/Tokens/create_full_access?name=deploy")), 409, "already in use"),
        (client.get(app.url("/execute/Tokens/create_full_access?name=x&expires_at=soon")), 400, "Unix time"),
        (client.get(app.url("/execute/Tokens/rename?name=ghost&new_name=x")), 404, "does not exist"),
        (client.delete(app.url("/execute/Tokens/list")), 405, "GET or POST"),
        (
            client.post(app.url("/execute/Tokens/list")).header("content-type", "application/json").body("{}"),
            415,
            "form-urlencoded",
        ),
        (
            client
                .post(app.url("/execute/Tokens/list"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(vec![b'a'; 200 * 1024]),
            413,
            "larger",
        ),
    ];
    for (request, status, needle) in cases {
        let response = request.header("authorization", &auth).send().await.unwrap();
        let got = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(got, status, "{body}");
        assert_envelope(&body, 0);
        assert!(body["errors"][0].as_str().unwrap().contains(needle), "{needle}: {body}");
    }

    // Not authenticated: the same envelope.
    let response = client.get(app.url("/execute/Tokens/list")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_envelope(&response.json().await.unwrap(), 0);
}

#[tokio::test]
async fn a_token_cannot_create_a_token_beyond_itself() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let limited = app
        .token(TokenSpec {
            account: "alice",
            name: "limited",
            privileges: &["manage-api-tokens", "list-accts"],
            allowlist: "127.0.0.0/8",
            expires: "2027-01-31",
        })
        .await;
    let auth = format!("cpanel alice:{limited}");

    // "Full access" through a token is the token's own effective privileges, allowlist and expiry.
    let (status, body) = call(&app, &auth, "create_full_access", &[("name", "child")]).await;
    assert_eq!(status, 200, "{body}");
    let child = app.token_row("child").await.unwrap();
    assert_eq!(child.privileges, "list-accts manage-api-tokens");
    assert_eq!(child.allowlist, "127.0.0.0/8");
    assert_eq!(child.expires_at, app.token_row("limited").await.unwrap().expires_at);

    // Later than its own expiry: refused.
    let (status, body) =
        call(&app, &auth, "create_full_access", &[("name", "longer"), ("expires_at", "1900000000")]).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["errors"][0].as_str().unwrap().contains("cannot outlive"), "{body}");

    let (_, body) = call(&app, &auth, "list", &[]).await;
    let child = body["data"].as_array().unwrap().iter().find(|t| t["name"] == "child").unwrap().clone();
    assert_eq!(child["has_full_access"], 0);
    assert_eq!(child["features"], json!(["list-accts", "manage-api-tokens"]));
}
