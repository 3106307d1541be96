//! Leaked tokens (issue 14): `POST /api/v1/leaks` in GitHub's secret scanning partner format revokes every live
//! token it names within the request, audits it with where it was found, and leaves its owner a notice; a second
//! report changes nothing; signatures are checked when a key is configured; reports are throttled per address.
//! Also `DELETE /api/v1/tokens/self`.

use crate::common::{TestApp, spawn_app, spawn_app_with};
use app::{services::leaks, state::WebSettings};
use base64::Engine;
use p256::{
    ecdsa::{DerSignature, SigningKey, signature::Signer},
    pkcs8::{EncodePublicKey, LineEnding},
};
use serde_json::{Value, json};

async fn report(app: &TestApp, body: &Value) -> reqwest::Response {
    reqwest::Client::new().post(app.url("/api/v1/leaks")).json(body).send().await.expect("report")
}

async fn verifies(app: &TestApp, secret: &str) -> u16 {
    app.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status().as_u16()
}

fn entry(token: &str, url: &str) -> Value {
    json!({"token": token, "type": "tessera_api_token", "url": url, "source": "content"})
}

#[tokio::test]
async fn a_reported_live_token_is_revoked_within_the_request_audited_and_shown_to_its_owner() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let leaked = app.simple_token("alice", "ci-deploy", &["list-accts"]).await;
    let kept = app.simple_token("alice", "kept", &["list-accts"]).await;
    assert_eq!(verifies(&app, &leaked).await, 200);

    let url = "https://github.com/example/repo/blob/main/.env";
    let response = report(&app, &json!([entry(&leaked, url)])).await;
    assert_eq!(response.status(), 200);
    let verdicts: Value = response.json().await.unwrap();
    assert_eq!(verdicts, json!([{"token_raw": leaked, "token_type": "tessera_api_token", "label": "true_positive"}]));
    // Revoked by the time the answer came, on every path; the other token is untouched.
    assert_eq!(verifies(&app, &leaked).await, 401);
    assert!(app.token_row("ci-deploy").await.is_none());
    assert_eq!(verifies(&app, &kept).await, 200);

    let events = app.audit_actions().await;
    assert!(
        events.iter().any(|(action, target, _)| action == "token.leaked" && target.as_deref() == Some("ci-deploy"))
    );
    let text = app.database_text().await;
    assert!(text.contains(&format!("found at {url} (content)")), "the event carries where it was found");
    assert!(!text.contains(&leaked), "the secret itself is stored nowhere");

    let alice = app.account_row("alice").await;
    let notices = leaks::notices(&app.state, alice.id).await.unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!((notices[0].token_name.as_str(), notices[0].url.as_deref()), ("ci-deploy", Some(url)));

    // Reported again (GitHub re-sends when it finds it elsewhere): still a true positive, nothing changes. (The
    // usage writer records the tokens' first addresses in the audit log in the background: settle it first.)
    app::services::usage::flush(&app.state).await.unwrap();
    let before = app.audit_actions().await.len();
    let again: Value = report(&app, &json!([entry(&leaked, "https://gist.github.com/x")])).await.json().await.unwrap();
    assert_eq!(again[0]["label"], "true_positive");
    assert_eq!(app.audit_actions().await.len(), before);
    assert_eq!(leaks::notices(&app.state, alice.id).await.unwrap().len(), 1);

    // Dismissed by its owner, the notice goes; another account cannot dismiss it.
    let bob_id = {
        app.create_account("bob", "manage-api-tokens").await;
        app.account_row("bob").await.id
    };
    assert!(leaks::dismiss(&app.state, bob_id, notices[0].id).await.is_err());
    leaks::dismiss(&app.state, alice.id, notices[0].id).await.unwrap();
    assert!(leaks::notices(&app.state, alice.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn every_entry_gets_a_verdict_in_order_and_the_answer_says_nothing_more_than_live_or_not() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let live = app.simple_token("alice", "live", &["list-accts"]).await;
    // Well formed with a valid checksum, but never issued: a forged or long-gone token.
    let unknown = app::domain::TokenSecret::generate().expose().to_owned();
    let mut mistyped = live.clone();
    mistyped.replace_range(5..6, if &live[5..6] == "a" { "b" } else { "a" });
    let body = json!([
        entry(&unknown, "https://example.com/1"),
        entry("not a token at all", "https://example.com/2"),
        entry(&mistyped, "https://example.com/3"),
        {"token": "", "extra": "ignored"},
        entry(&live, "https://example.com/4"),
    ]);
    let verdicts: Value = report(&app, &body).await.json().await.unwrap();
    let labels: Vec<&str> = verdicts.as_array().unwrap().iter().map(|v| v["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["false_positive", "false_positive", "false_positive", "false_positive", "true_positive"]);
    assert_eq!(verdicts[0]["token_raw"], unknown);
    assert_eq!(verdicts[2]["token_raw"], mistyped);
    assert_eq!(verifies(&app, &live).await, 401);

    // The whole report refused, and nothing changed: not JSON, not an array, an entry of another shape (named),
    // too many entries, another content type.
    let other = app.simple_token("alice", "other", &["list-accts"]).await;
    for (body, content_type, status, says) in [
        (reqwest::Body::from("{"), "application/json", 400, "JSON array"),
        (reqwest::Body::from(json!({"token": other}).to_string()), "application/json", 400, "JSON array"),
        (reqwest::Body::from(json!([entry(&other, "u"), 42]).to_string()), "application/json", 400, "Entry 2 "),
        (reqwest::Body::from(json!([{"url": "u"}]).to_string()), "application/json", 400, "Entry 1 "),
        (reqwest::Body::from(json!([{"token": 7}]).to_string()), "application/json", 400, "Entry 1 "),
        (
            reqwest::Body::from(json!(vec![entry(&other, "u"); 1001]).to_string()),
            "application/json",
            413,
            "at most 1000",
        ),
        (reqwest::Body::from(json!([entry(&other, "u")]).to_string()), "text/plain", 415, "JSON"),
    ] {
        let response = reqwest::Client::new()
            .post(app.url("/api/v1/leaks"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{says}");
        let error: Value = response.json().await.unwrap();
        assert!(error["message"].as_str().is_some_and(|m| m.contains(says)), "{error}");
    }
    assert_eq!(verifies(&app, &other).await, 200);
    // 1,000 entries are fine.
    let full: Value = report(&app, &json!(vec![entry(&other, "u"); 1000])).await.json().await.unwrap();
    assert_eq!(full.as_array().unwrap().len(), 1000);
    assert_eq!(verifies(&app, &other).await, 401);
}

#[tokio::test]
async fn a_rotated_tokens_old_secret_revokes_it_while_in_grace_and_is_unknown_after() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let admin = app.simple_token("alice", "admin", &["all"]).await;
    let old = app.simple_token("alice", "svc", &["list-accts"]).await;
    let rotate = |grace: u32| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let response = reqwest::Client::new()
                .post(app.url("/api/v1/tokens/svc/rotate"))
                .bearer_auth(admin)
                .json(&json!({"grace_minutes": grace}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_owned()
        }
    };
    // Past its grace period the old secret opens nothing: reporting it changes nothing.
    let new = rotate(0).await;
    let verdicts: Value = report(&app, &json!([entry(&old, "u")])).await.json().await.unwrap();
    assert_eq!(verdicts[0]["label"], "false_positive");
    assert_eq!(verifies(&app, &new).await, 200);
    // Within it, the old secret still works, so its leak revokes the token.
    let newer = rotate(60).await;
    assert_eq!(verifies(&app, &new).await, 200, "the previous secret works during the grace period");
    let verdicts: Value = report(&app, &json!([entry(&new, "u")])).await.json().await.unwrap();
    assert_eq!(verdicts[0]["label"], "true_positive");
    assert_eq!(verifies(&app, &newer).await, 401);
}

#[tokio::test]
async fn reports_from_one_address_are_throttled_with_retry_after() {
    let app = spawn_app().await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..25 {
        let response = report(&app, &json!([])).await;
        if response.status() == 429 {
            retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        }
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 20, "a burst of 20: {statuses:?}");
    assert_eq!(statuses[20..], [429; 5]);
    let wait: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=4).contains(&wait), "one report every 3 s: {wait}");
}

fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_slice(&[seed; 32]).unwrap()
}

async fn signed_report(app: &TestApp, body: &str, signature: Option<String>) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(app.url("/api/v1/leaks"))
        .header("content-type", "application/json")
        .header("github-public-key-identifier", "bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c");
    if let Some(signature) = signature {
        request = request.header("github-public-key-signature", signature);
    }
    request.body(body.to_owned()).send().await.unwrap()
}

fn sign(key: &SigningKey, body: &str) -> String {
    let signature: DerSignature = key.sign(body.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(signature.as_bytes())
}

#[tokio::test]
async fn with_a_key_configured_only_reports_signed_by_it_are_accepted() {
    let github = signing_key(7);
    let next_key = signing_key(9);
    // GitHub publishes its current and next key: both in one PEM file.
    let pem = [github.verifying_key(), next_key.verifying_key()]
        .iter()
        .map(|key| key.to_public_key_pem(LineEnding::LF).unwrap())
        .collect::<String>();
    let app = spawn_app_with(Vec::new(), WebSettings { leak_report_keys: Some(pem), ..WebSettings::default() }).await;
    app.create_account("alice", "all").await;
    let token = app.simple_token("alice", "leaky", &["list-accts"]).await;
    let body = json!([entry(&token, "https://github.com/x/y")]).to_string();

    for signature in [None, Some("bm90IGEgc2lnbmF0dXJl".to_owned()), Some(sign(&signing_key(8), &body))] {
        let response = signed_report(&app, &body, signature.clone()).await;
        assert_eq!(response.status(), 401, "{signature:?}");
        assert_eq!(verifies(&app, &token).await, 200, "an unsigned or wrongly signed report changes nothing");
    }
    // Signed over another body: refused.
    let other = json!([entry(&token, "https://elsewhere")]).to_string();
    assert_eq!(signed_report(&app, &body, Some(sign(&github, &other))).await.status(), 401);

    let response = signed_report(&app, &body, Some(sign(&next_key, &body))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()[0]["label"], "true_positive");
    assert_eq!(verifies(&app, &token).await, 401);
}

#[tokio::test]
async fn a_token_can_revoke_itself_whatever_its_privileges() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let narrow = app.simple_token("alice", "narrow", &["list-accts"]).await;
    let other = app.simple_token("alice", "other", &["list-accts"]).await;
    let client = reqwest::Client::new();
    // Without manage-api-tokens it cannot revoke another token...
    let response = client.delete(app.url("/api/v1/tokens/other")).bearer_auth(&narrow).send().await.unwrap();
    assert_eq!(response.status(), 403);
    // ...but it can end itself.
    let response = client.delete(app.url("/api/v1/tokens/self")).bearer_auth(&narrow).send().await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(verifies(&app, &narrow).await, 401);
    assert_eq!(verifies(&app, &other).await, 200);
    let response = client.delete(app.url("/api/v1/tokens/self")).bearer_auth(&narrow).send().await.unwrap();
    assert_eq!(response.status(), 401, "a revoked token cannot act at all");
    let events = app.audit_actions().await;
    assert!(events.iter().any(|(action, target, _)| action == "token.revoke" && target.as_deref() == Some("narrow")));
}
