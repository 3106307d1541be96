//! The WHM API 1 compatible API (`/json-api/api_token_*`) over real HTTP, the way existing clients call it:
//! `api.version=1`, repeated `acl-N` / `whitelist_ip-N` / `token_name-N` parameters, WHM's exact envelope.

use crate::common::spawn_app;
use serde_json::{Value, json};

fn assert_metadata(body: &Value, command: &str, result: i64) {
    assert_eq!(body["metadata"]["command"], command, "{body}");
    assert_eq!(body["metadata"]["result"], result, "{body}");
    assert_eq!(body["metadata"]["version"], 1, "{body}");
    if result == 1 {
        assert_eq!(body["metadata"]["reason"], "OK");
    } else {
        assert!(body["metadata"]["reason"].is_string());
    }
}

#[tokio::test]
async fn an_existing_client_creates_lists_updates_and_revokes() {
    let app = spawn_app().await;
    app.create_account("root", "all").await;
    let secret = app.simple_token("root", "automation", &["all"]).await;
    let auth = format!("whm root:{secret}");

    let (status, body) = app.whm(
        &auth,
        "api_token_create?api.version=1&token_name=x&acl-0=list-accts&acl-1=create-acct&whitelist_ip-0=192.0.2.0/24",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_metadata(&body, "api_token_create", 1);
    let data = &body["data"];
    assert_eq!(data["name"], "x");
    assert_eq!(data["acls"], json!(["create-acct", "list-accts"]));
    assert_eq!(data["whitelist_ips"], json!(["192.0.2.0/24"]));
    assert_eq!(data["expires_at"], Value::Null);
    assert_eq!(data["create_time"], app.clock_unix());
    let x_secret = data["token"].as_str().unwrap().to_owned();
    assert!(x_secret.starts_with("tsr_"));

    // No acl at all: every privilege the caller may grant.
    let (status, body) = app.whm(&auth, "api_token_create?api.version=1&token_name=full&expires_at=1800000000").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["acls"], json!(["all"]));
    assert!(body["data"]["expires_at"].as_i64().unwrap() >= 1_800_000_000);
    assert_eq!(body["data"]["whitelist_ips"], Value::Null);

    let (status, body) = app.whm(&auth, "api_token_list?api.version=1").await;
    assert_eq!(status, 200);
    assert_metadata(&body, "api_token_list", 1);
    let x = &body["data"]["tokens"]["x"];
    assert_eq!(x["name"], "x");
    assert_eq!(x["acls"]["list-accts"], 1);
    assert_eq!(x["acls"]["kill-acct"], 0);
    // Every acl the owner could grant is listed.
    assert_eq!(x["acls"].as_object().unwrap().len(), app::domain::BUILTIN_PRIVILEGES.len());
    assert_eq!(x["whitelist_ips"], json!(["192.0.2.0/24"]));
    assert_eq!(body["data"]["tokens"]["automation"]["acls"]["kill-acct"], 1);

    let (status, body) = app
        .whm(&auth, "api_token_update?api.version=1&token_name=x&new_name=y&acl-0=list-accts&whitelist_ip=any")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["name"], "y");
    assert_eq!(body["data"]["acls"], json!(["list-accts"]));
    assert_eq!(body["data"]["whitelist_ips"], Value::Null);

    let (status, body) = app.whm(&auth, "api_token_update?api.version=1&token_name=y&expires_at=1800000000").await;
    assert_eq!(status, 400);
    assert_metadata(&body, "api_token_update", 0);
    assert!(body["metadata"]["reason"].as_str().unwrap().contains("rotate"), "{body}");

    let (status, body) = app.whm(&auth, &format!("api_token_get_details?api.version=1&token={x_secret}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["name"], "y");
    assert!(body["data"].get("token").is_none());

    let (status, body) = app.whm(&auth, "api_token_revoke?api.version=1&token_name-1=y&token_name-2=full").await;
    assert_eq!(status, 200, "{body}");
    assert_metadata(&body, "api_token_revoke", 1);
    assert!(app.token_row("y").await.is_none() && app.token_row("full").await.is_none());
    assert_eq!(app.get_with("/api/v1/auth", &format!("whm root:{x_secret}")).await.status(), 401);
    let (status, _) = app.whm(&auth, &format!("api_token_get_details?api.version=1&token={x_secret}")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn caller_mistakes_get_the_whm_error_envelope_with_a_4xx() {
    let app = spawn_app().await;
    app.create_account("root", "all").await;
    let secret = app.simple_token("root", "automation", &["all"]).await;
    let auth = format!("whm root:{secret}");

    for (query, status, command, needle) in [
        ("api_token_list", 400, "api_token_list", "api.version=1"),
        ("api_token_list?api.version=0", 400, "api_token_list", "api.version=1"),
        ("api_token_create?api.version=1", 400, "api_token_create", "token_name"),
        ("api_token_create?api.version=1&token_name=a&token_name=b", 400, "api_token_create", "more than once"),
        ("api_token_create?api.version=1&token_name=a&acl-0=x&acl-0=y", 400, "api_token_create", "more than once"),
        ("api_token_create?api.version=1&token_name=a&acl-0=root", 422, "api_token_create", "not a known"),
        (
            "api_token_create?api.version=1&token_name=a&whitelist_ip-0=10.0.0.7/24",
            422,
            "api_token_create",
            "10.0.0.0/24",
        ),
        ("api_token_revoke?api.version=1", 400, "api_token_revoke", "token_name"),
        ("api_token_get_details?api.version=1&token=tsr_nope", 404, "api_token_get_details", "not recognised"),
        ("api_token_update?api.version=1&token_name=ghost&new_name=x", 404, "api_token_update", "does not exist"),
        ("explode?api.version=1", 404, "explode", "Unknown"),
    ] {
        let (got, body) = app.whm(&auth, query).await;
        assert_eq!(got, status, "{query}: {body}");
        assert_metadata(&body, command, 0);
        assert!(body["metadata"]["reason"].as_str().unwrap().contains(needle), "{query}: {body}");
        assert!(body.get("data").is_none());
    }

    let response = reqwest::Client::new().get(app.url("/json-api/api_token_list?api.version=1")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_metadata(&body, "api_token_list", 0);
}

#[tokio::test]
async fn no_escalation_through_whm() {
    let app = spawn_app().await;
    app.create_account("reseller", "all").await;
    let limited = app
        .token(crate::common::TokenSpec {
            account: "reseller",
            name: "limited",
            privileges: &["manage-api-tokens", "list-accts"],
            allowlist: "127.0.0.1, 192.0.2.0/24",
            expires: "2027-01-31",
        })
        .await;
    let auth = format!("whm reseller:{limited}");

    for (query, needle) in [
        ("api_token_create?api.version=1&token_name=a&acl-0=kill-acct", "“kill-acct”"),
        ("api_token_create?api.version=1&token_name=a&acl-0=all", "“all”"),
        ("api_token_create?api.version=1&token_name=a&acl-0=list-accts&whitelist_ip-0=198.51.100.1", "within"),
        ("api_token_create?api.version=1&token_name=a&acl-0=list-accts&expires_at=1900000000", "outlive"),
        ("api_token_update?api.version=1&token_name=limited&acl-0=kill-acct", "“kill-acct”"),
        ("api_token_update?api.version=1&token_name=limited&whitelist_ip-0=0.0.0.0/0", "within"),
    ] {
        let (status, body) = app.whm(&auth, query).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert!(body["metadata"]["reason"].as_str().unwrap().contains(needle), "{query}: {body}");
    }
    // Within its limits it works; an allowlist left out is inherited.
    let (status, body) = app.whm(&auth, "api_token_create?api.version=1&token_name=a&acl-0=list-accts").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["whitelist_ips"], json!(["127.0.0.1", "192.0.2.0/24"]));
}

#[tokio::test]
async fn secrets_are_refused_in_urls_and_taken_from_post_bodies() {
    let app = spawn_app().await;
    app.create_account("root", "all").await;
    app.create_account("partner", "list-accts").await;
    let secret = app.simple_token("root", "automation", &["all"]).await;
    let auth = format!("whm root:{secret}");
    let client = reqwest::Client::new();
    for (method, url) in [
        ("GET", "/json-api/passwd?api.version=1&user=partner&password=brand-new-password-9".to_owned()),
        ("POST", "/json-api/passwd?api.version=1&user=partner&password=brand-new-password-9".to_owned()),
        ("GET", format!("/json-api/api_token_get_details?api.version=1&token={secret}")),
        ("GET", "/json-api/createacct?api.version=1&username=newbie&password=brand-new-password-9".to_owned()),
    ] {
        let request = match method {
            "GET" => client.get(app.url(&url)),
            _ => client.post(app.url(&url)),
        };
        let response = request.header("authorization", &auth).send().await.unwrap();
        assert_eq!(response.status(), 400, "{method} {url}");
        let body: Value = response.json().await.unwrap();
        assert!(body["metadata"]["reason"].as_str().unwrap().contains("POST body"), "{body}");
    }
    assert!(app.account_row_opt("newbie").await.is_none());
    // Native introspection: the token to look at goes in the body too.
    let response =
        client.post(app.url(&format!("/api/v1/introspect?token={secret}"))).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(response.status(), 400);

    let response = client
        .post(app.url("/json-api/passwd"))
        .header("authorization", &auth)
        .form(&[("api.version", "1"), ("user", "partner"), ("password", "brand-new-password-9")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}
