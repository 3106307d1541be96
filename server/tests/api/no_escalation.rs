//! No escalation through a token (SPEC §2, issue 11 item 1): a token may rotate, edit or rename another token
//! only when that token's privileges, allowlist and expiry all lie within its own, on every API that acts on
//! tokens (native, UAPI, WHM). A token may always act on itself; a refusal is a 403 that says why, is audited,
//! and changes nothing.

use crate::common::{TestApp, TokenSpec, spawn_app};
use serde_json::{Value, json};

/// The account `alice` (all privileges) with a broad token and tokens beside a narrow calling one.
struct Tokens {
    app: TestApp,
    /// `all`, any address, never expires.
    root: String,
    /// manage-api-tokens + list-accts, 127.0.0.1 only, until 2027-01-31: the caller.
    narrow: String,
}

async fn setup() -> Tokens {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let root = app.simple_token("alice", "root", &["all"]).await;
    let spec =
        |name, privileges, allowlist, expires| TokenSpec { account: "alice", name, privileges, allowlist, expires };
    let narrow = app.token(spec("narrow", &["manage-api-tokens", "list-accts"], "127.0.0.1", "2027-01-31")).await;
    // Each reaches beyond `narrow` in exactly one way.
    app.token(spec("wider-ips", &["list-accts"], "", "2027-01-01")).await;
    app.token(spec("forever", &["list-accts"], "127.0.0.1", "never")).await;
    app.token(spec("later", &["list-accts"], "127.0.0.1", "2027-06-30")).await;
    app.token(spec("more-privileges", &["list-accts", "passwd"], "127.0.0.1", "2027-01-01")).await;
    // Within it in every way.
    app.token(spec("sibling", &["list-accts"], "127.0.0.1", "2027-01-01")).await;
    Tokens { app, root, narrow }
}

async fn json_call(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

impl Tokens {
    async fn rotate(&self, name: &str, body: Value) -> (u16, Value) {
        let url = self.app.url(&format!("/api/v1/tokens/{name}/rotate"));
        json_call(reqwest::Client::new().post(url).bearer_auth(&self.narrow).json(&body)).await
    }

    async fn patch(&self, name: &str, body: Value) -> (u16, Value) {
        let url = self.app.url(&format!("/api/v1/tokens/{name}"));
        json_call(reqwest::Client::new().patch(url).bearer_auth(&self.narrow).json(&body)).await
    }

    async fn uapi(&self, function: &str, query: &str) -> (u16, Value) {
        let response = self
            .app
            .get_with(&format!("/execute/Tokens/{function}?{query}"), &format!("cpanel alice:{}", self.narrow))
            .await;
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn whm(&self, query: &str) -> (u16, Value) {
        let response = self.app.get_with(&format!("/json-api/{query}"), &format!("whm alice:{}", self.narrow)).await;
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// Everything about a token that a refused change must leave alone.
    async fn row(&self, name: &str) -> (String, String, String, Option<chrono::DateTime<chrono::Utc>>, Option<String>) {
        let row = self.app.token_row(name).await.unwrap_or_else(|| panic!("token {name} is gone"));
        (row.secret_hash, row.privileges, row.allowlist, row.expires_at, row.previous_secret_hash)
    }

    async fn refused_events(&self, action: &str, target: &str) -> usize {
        self.app
            .audit_actions()
            .await
            .into_iter()
            .filter(|(a, t, outcome)| a == action && t.as_deref() == Some(target) && outcome == "refused")
            .count()
    }
}

#[tokio::test]
async fn a_narrow_token_cannot_rotate_a_broader_one_through_the_native_api() {
    let t = setup().await;
    let before = t.row("root").await;
    for body in [json!({}), json!({"grace_minutes": 60}), json!({"expires": "2027-01-01"})] {
        let (status, error) = t.rotate("root", body.clone()).await;
        assert_eq!(status, 403, "{body}: {error}");
        assert_eq!(error["error"], "forbidden");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains("“root”") && message.contains("“all”"), "{message}");
        assert!(error.get("secret").is_none() && error.get("token").is_none());
    }
    assert_eq!(t.row("root").await, before, "a refused rotation changes nothing");
    let still_works = t.app.get_with("/api/v1/tokens", &format!("Bearer {}", t.root)).await;
    assert_eq!(still_works.status(), 200, "the broad token's secret is unchanged");
    assert_eq!(t.refused_events("token.rotate", "root").await, 3, "each refusal is audited");

    for (name, reason) in [
        ("wider-ips", "addresses"),
        ("forever", "never expires"),
        ("later", "outlives"),
        ("more-privileges", "“passwd”"),
    ] {
        let before = t.row(name).await;
        let (status, error) = t.rotate(name, json!({})).await;
        assert_eq!(status, 403, "{name}: {error}");
        assert!(error["message"].as_str().unwrap().contains(reason), "{name}: {error}");
        assert_eq!(t.row(name).await, before);
    }
}

#[tokio::test]
async fn a_token_rotates_tokens_within_itself_and_itself() {
    let t = setup().await;
    let (status, issued) = t.rotate("sibling", json!({"expires": "2027-01-15"})).await;
    assert_eq!(status, 200, "{issued}");
    assert!(issued["secret"].as_str().unwrap().starts_with("tsr_"));

    // Its own rotation, even with `all` it could not grant (the owner holds fewer privileges than `all`).
    let (status, issued) = t.rotate("narrow", json!({"grace_minutes": 5})).await;
    assert_eq!(status, 200, "{issued}");
    assert_eq!(issued["token"]["name"], "narrow");
}

#[tokio::test]
async fn rotating_through_a_token_does_not_revive_an_expired_token() {
    let t = setup().await;
    let spec = TokenSpec {
        account: "alice",
        name: "old",
        privileges: &["list-accts"],
        allowlist: "127.0.0.1",
        expires: "2026-11-25",
    };
    t.app.token(spec).await;
    t.app.clock.advance(chrono::Duration::days(5));
    let before = t.row("old").await;
    let (status, error) = t.rotate("old", json!({"expires": "2027-01-01"})).await;
    assert_eq!(status, 403, "{error}");
    assert!(error["message"].as_str().unwrap().contains("has expired"), "{error}");
    assert_eq!(t.row("old").await, before);
    assert_eq!(t.refused_events("token.rotate", "old").await, 1);
}

#[tokio::test]
async fn a_narrow_token_cannot_rename_or_edit_a_broader_one_through_the_native_api() {
    let t = setup().await;
    let before = t.row("root").await;
    for body in [json!({"name": "mine"}), json!({"allowlist": ["127.0.0.1"]}), json!({"privileges": ["list-accts"]})] {
        let (status, error) = t.patch("root", body.clone()).await;
        assert_eq!(status, 403, "{body}: {error}");
        assert!(error["message"].as_str().unwrap().contains("reaches beyond"), "{error}");
    }
    assert_eq!(t.row("root").await, before);
    assert!(t.app.token_row("mine").await.is_none());
    assert_eq!(t.refused_events("token.rename", "root").await, 1);
    assert_eq!(t.refused_events("token.update", "root").await, 2);

    let (status, renamed) = t.patch("sibling", json!({"name": "sibling-2", "privileges": ["list-accts"]})).await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["name"], "sibling-2");
}

#[tokio::test]
async fn a_narrow_token_cannot_rename_a_broader_one_through_uapi() {
    let t = setup().await;
    let before = t.row("root").await;
    let (status, body) = t.uapi("rename", "name=root&new_name=mine").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["status"], 0);
    assert!(body["errors"][0].as_str().unwrap().contains("“all”"), "{body}");
    assert_eq!(t.row("root").await, before);
    assert!(t.app.token_row("mine").await.is_none());
    assert_eq!(t.refused_events("token.rename", "root").await, 1);

    let (status, body) = t.uapi("rename", "name=sibling&new_name=sibling-2").await;
    assert_eq!((status, &body["status"]), (200, &json!(1)), "{body}");
}

#[tokio::test]
async fn a_narrow_token_cannot_update_a_broader_one_through_whm() {
    let t = setup().await;
    let before = t.row("root").await;
    for query in [
        "api_token_update?api.version=1&token_name=root&new_name=mine",
        "api_token_update?api.version=1&token_name=root&acl-0=list-accts",
        "api_token_update?api.version=1&token_name=root&whitelist_ip=any",
        "api_token_update?api.version=1&token_name=forever&whitelist_ip-0=127.0.0.1",
    ] {
        let (status, body) = t.whm(query).await;
        assert_eq!(status, 403, "{query}: {body}");
        assert_eq!(body["metadata"]["result"], 0);
        assert!(body["metadata"]["reason"].as_str().unwrap().contains("reaches beyond"), "{body}");
    }
    assert_eq!(t.row("root").await, before);
    assert!(t.app.token_row("mine").await.is_none());

    let (status, body) =
        t.whm("api_token_update?api.version=1&token_name=sibling&new_name=sibling-2&acl-0=list-accts").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["name"], "sibling-2");
}

#[tokio::test]
async fn a_signed_in_person_keeps_every_right_over_their_tokens() {
    let t = setup().await;
    let client = t.app.client();
    assert_eq!(t.app.login(&client, "alice", crate::common::PASSWORD).await.status(), 200);
    let response = client
        .post(t.app.url("/rpc/rotate_token"))
        .form(&[("name", "root"), ("expires", "never"), ("grace_minutes", "0")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}
