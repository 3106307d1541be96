//! SPEC §3 over real HTTP, failure by failure, through `/api/v1/auth` (forward-auth) and the other APIs: the
//! header forms, the uniform 401, the 403s naming the privilege, client addresses and trusted proxies, live
//! account state, rotation grace, and the "last used" record.

use crate::common::{NowForTests, TokenSpec, spawn_app, spawn_app_with_proxies};
use chrono::Duration;
use serde_json::Value;

const UNIFORM: &str = "The API token is not valid: it is unknown, revoked or expired, or does not belong to this user.";

async fn error_message(response: reqwest::Response) -> String {
    let body: Value = response.json().await.expect("json error body");
    body["message"].as_str().expect("message").to_owned()
}

#[tokio::test]
async fn the_three_header_forms_are_accepted_and_name_the_caller() {
    let app = spawn_app().await;
    app.create_account("alice", "list-accts manage-api-tokens").await;
    let secret = app.simple_token("alice", "ci", &["list-accts"]).await;

    for authorization in [format!("Bearer {secret}"), format!("cpanel alice:{secret}"), format!("whm ALICE:{secret}")] {
        let response = app.get_with("/api/v1/auth?privilege=list-accts", &authorization).await;
        assert_eq!(response.status(), 200, "{}", authorization.split(' ').next().unwrap());
        assert_eq!(response.headers()["x-tessera-user"], "alice");
        assert_eq!(response.headers()["x-tessera-token"], "ci");
        assert_eq!(response.headers()["x-tessera-privileges"], "list-accts");
    }
    // No privilege asked: a valid token is enough.
    assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status(), 200);
}

#[tokio::test]
async fn malformed_headers_and_secrets_get_401_with_a_bearer_challenge() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let secret = app.simple_token("alice", "ci", &["all"]).await;
    let mut altered = secret.clone();
    let last = if altered.ends_with('A') { "B" } else { "A" };
    altered.replace_range(altered.len() - 1.., last);

    let client = reqwest::Client::new();
    let missing = client.get(app.url("/api/v1/auth")).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    assert!(missing.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    assert!(error_message(missing).await.contains("missing or malformed"));

    for junk in ["Basic YWxpY2U6cHc=", "Bearer", "cpanel alice", "cpanel :tsr_", "Bearer tsr_tooshort", "whm alice"] {
        let response = app.get_with("/api/v1/auth", junk).await;
        assert_eq!(response.status(), 401, "{junk}");
    }
    let response = app.get_with("/api/v1/auth", &format!("Bearer {altered}")).await;
    assert_eq!(response.status(), 401);
    assert!(error_message(response).await.contains("checksum"));

    // Not UTF-8, and two Authorization headers: refused, not a server error.
    let raw = reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap();
    let response = client.get(app.url("/api/v1/auth")).header("authorization", raw).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let response = client
        .get(app.url("/api/v1/auth"))
        .header("authorization", format!("Bearer {secret}"))
        .header("authorization", format!("Bearer {secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn unknown_wrong_user_revoked_expired_and_suspended_all_get_the_same_401() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    app.create_account("bob", "list-accts").await;
    let keeper = app.simple_token("alice", "keeper", &["manage-api-tokens"]).await;
    let doomed = app.simple_token("alice", "doomed", &["list-accts"]).await;
    let short = app
        .token(TokenSpec {
            account: "alice",
            name: "short",
            privileges: &["list-accts"],
            allowlist: "",
            expires: "2026-11-23",
        })
        .await;
    let unknown = app_secret_that_was_never_issued();

    let check = |authorization: String| {
        let app = &app;
        async move {
            let response = app.get_with("/api/v1/auth", &authorization).await;
            assert_eq!(response.status(), 401, "{}", &authorization[..10]);
            assert_eq!(error_message(response).await, UNIFORM);
        }
    };
    check(format!("Bearer {unknown}")).await;
    check(format!("cpanel bob:{doomed}")).await;

    // Revoked: refused by the very next request after the revoke call returns.
    assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {doomed}")).await.status(), 200);
    let revoke = app.get_with("/execute/Tokens/revoke?name=doomed", &format!("cpanel alice:{keeper}")).await;
    assert_eq!(revoke.status(), 200);
    check(format!("Bearer {doomed}")).await;

    // Expired: the token works until 23:59:59 of its date (Berlin), not a second longer.
    assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {short}")).await.status(), 200);
    app.clock.advance(Duration::days(2));
    check(format!("Bearer {short}")).await;

    // Suspended: every token of the account stops working, and works again after.
    app.sql("UPDATE accounts SET suspended = TRUE WHERE username = 'alice'").await;
    check(format!("Bearer {keeper}")).await;
    app.sql("UPDATE accounts SET suspended = FALSE WHERE username = 'alice'").await;
    assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {keeper}")).await.status(), 200);
}

fn app_secret_that_was_never_issued() -> String {
    app::domain::TokenSecret::generate().expose().to_owned()
}

#[tokio::test]
async fn renaming_the_account_keeps_tokens_working_under_the_new_name_only() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let secret = app.simple_token("alice", "ci", &["all"]).await;
    app.sql("UPDATE accounts SET username = 'alicia', username_key = 'alicia' WHERE username = 'alice'").await;
    assert_eq!(app.get_with("/api/v1/auth", &format!("cpanel alice:{secret}")).await.status(), 401);
    assert_eq!(app.get_with("/api/v1/auth", &format!("cpanel alicia:{secret}")).await.status(), 200);
}

#[tokio::test]
async fn a_missing_privilege_is_403_naming_it_and_is_audited() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let secret = app.simple_token("alice", "reader", &["list-accts"]).await;

    let response = app.get_with("/api/v1/auth?privilege=kill-acct", &format!("Bearer {secret}")).await;
    assert_eq!(response.status(), 403);
    assert!(error_message(response).await.contains("“kill-acct”"));
    // The token APIs need manage-api-tokens.
    let response = app.get_with("/execute/Tokens/list", &format!("cpanel alice:{secret}")).await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert!(body["errors"][0].as_str().unwrap().contains("“manage-api-tokens”"), "{body}");

    let audit = app.audit_actions().await;
    assert!(
        audit.iter().any(|(action, target, outcome)| action == "api.refused.privilege"
            && target.as_deref() == Some("kill-acct")
            && outcome == "refused"),
        "{audit:?}"
    );
}

#[tokio::test]
async fn effective_privileges_shrink_when_the_owner_loses_one() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let secret = app.simple_token("alice", "both", &["list-accts", "manage-api-tokens"]).await;
    let everything = app.simple_token("alice", "everything", &["all"]).await;

    let response = app.get_with("/api/v1/auth?privilege=list-accts", &format!("Bearer {secret}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-tessera-privileges"], "list-accts manage-api-tokens");

    app.sql("UPDATE accounts SET privileges = 'manage-api-tokens' WHERE username = 'alice'").await;
    let response = app.get_with("/api/v1/auth?privilege=list-accts", &format!("Bearer {secret}")).await;
    assert_eq!(response.status(), 403);
    let response = app.get_with("/api/v1/auth", &format!("Bearer {secret}")).await;
    assert_eq!(response.headers()["x-tessera-privileges"], "manage-api-tokens");
    // `all` on a token means the owner's current set, no more.
    let response = app.get_with("/api/v1/auth?privilege=list-accts", &format!("Bearer {everything}")).await;
    assert_eq!(response.status(), 403);
    let response = app.get_with("/api/v1/auth", &format!("Bearer {everything}")).await;
    assert_eq!(response.headers()["x-tessera-privileges"], "manage-api-tokens");
}

#[tokio::test]
async fn the_allowlist_is_checked_against_the_peer_and_spoofed_forwarding_headers_are_ignored() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let elsewhere = app
        .token(TokenSpec {
            account: "alice",
            name: "office",
            privileges: &["list-accts"],
            allowlist: "192.0.2.0/24",
            expires: "never",
        })
        .await;
    let local = app
        .token(TokenSpec {
            account: "alice",
            name: "local",
            privileges: &["list-accts"],
            allowlist: "127.0.0.1",
            expires: "never",
        })
        .await;

    let response = app.get_with("/api/v1/auth?privilege=list-accts", &format!("Bearer {elsewhere}")).await;
    assert_eq!(response.status(), 403);
    let message = error_message(response).await;
    assert!(message.contains("127.0.0.1") && message.contains("“list-accts”"), "{message}");
    assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {local}")).await.status(), 200);

    // The peer (127.0.0.1) is not a trusted proxy here: claiming an allowed address changes nothing.
    for (header, value) in [("x-forwarded-for", "192.0.2.7"), ("forwarded", "for=192.0.2.7")] {
        let response = reqwest::Client::new()
            .get(app.url("/api/v1/auth"))
            .header("authorization", format!("Bearer {elsewhere}"))
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{header}");
    }
    assert!(app.audit_actions().await.iter().any(|(action, _, _)| action == "api.refused.address"));
}

#[tokio::test]
async fn a_trusted_proxy_reports_the_client_address() {
    let app = spawn_app_with_proxies(vec![app::domain::IpRange::parse("127.0.0.0/8").unwrap()]).await;
    app.create_account("alice", "all").await;
    let office = app
        .token(TokenSpec {
            account: "alice",
            name: "office",
            privileges: &["list-accts"],
            allowlist: "192.0.2.0/24",
            expires: "never",
        })
        .await;
    let send = |forwarded_for: &'static str| {
        let app = &app;
        let office = office.clone();
        async move {
            reqwest::Client::new()
                .get(app.url("/api/v1/auth"))
                .header("authorization", format!("Bearer {office}"))
                .header("x-forwarded-for", forwarded_for)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(send("192.0.2.7").await, 200);
    assert_eq!(send("192.0.2.7, 127.0.0.5").await, 200);
    assert_eq!(send("198.51.100.1").await, 403);
    // A client cannot prepend an allowed address: the nearest untrusted hop counts.
    assert_eq!(send("192.0.2.7, 198.51.100.1").await, 403);
    assert_eq!(send("not-an-address").await, 400);
}

#[tokio::test]
async fn a_rotated_out_secret_works_only_during_its_grace_period() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let old = app.simple_token("alice", "ci", &["all"]).await;
    let caller = app::services::Actor::operator_for(app.account_row("alice").await);
    let new = app::services::tokens::rotate(&app.state, &caller, "ci", None, 10).await.unwrap().secret;

    assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {old}")).await.status(), 200);
    assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {new}")).await.status(), 200);
    app.clock.advance(Duration::minutes(11));
    assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {old}")).await.status(), 401);
    assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {new}")).await.status(), 200);
}

/// One write of many tokens' last uses (statements of several sizes), each token its own time and address, and
/// a note older than the stored time leaves it as it is.
#[tokio::test]
async fn a_write_of_many_last_uses_records_each_token_its_own_and_never_backwards() {
    use app::store::tokens::{LastUse, record_last_use};
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let names: Vec<String> = (0..27).map(|i| format!("t{i:02}")).collect();
    let mut ids = Vec::new();
    for name in &names {
        app.simple_token("alice", name, &["list-accts"]).await;
        ids.push(app.token_row(name).await.unwrap().id);
    }
    let t0 = app.clock.now_for_tests();
    let uses: Vec<LastUse> = ids
        .iter()
        .enumerate()
        .map(|(i, &token_id)| LastUse {
            token_id,
            at: t0 + Duration::seconds(i as i64),
            ip: format!("192.0.2.{i}").parse().unwrap(),
        })
        .collect();
    record_last_use(&app.state.db, &uses).await.unwrap();
    // An older note for every token (another instance flushing late) changes nothing.
    let late: Vec<LastUse> = ids
        .iter()
        .map(|&token_id| LastUse { token_id, at: t0 - Duration::minutes(5), ip: "198.51.100.1".parse().unwrap() })
        .collect();
    record_last_use(&app.state.db, &late).await.unwrap();
    for (i, name) in names.iter().enumerate() {
        let row = app.token_row(name).await.unwrap();
        let expected = (Some(t0 + Duration::seconds(i as i64)), Some(format!("192.0.2.{i}")));
        assert_eq!((row.last_used_at, row.last_used_ip), expected, "{name}");
    }
}

#[tokio::test]
async fn last_use_is_recorded_at_most_once_a_minute() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let secret = app.simple_token("alice", "ci", &["all"]).await;
    assert!(app.token_row("ci").await.unwrap().last_used_at.is_none());

    let first = app.clock.now_for_tests();
    assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status(), 200);
    let row = wait_for(&app, "ci", |row| row.last_used_at.is_some()).await;
    assert_eq!(row.last_used_at, Some(first));
    assert_eq!(row.last_used_ip.as_deref(), Some("127.0.0.1"));

    // Thirty seconds later: not written again.
    app.clock.advance(Duration::seconds(30));
    assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.token_row("ci").await.unwrap().last_used_at, Some(first));

    // Past the minute: written again.
    app.clock.advance(Duration::seconds(31));
    let later = app.clock.now_for_tests();
    assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status(), 200);
    let row = wait_for(&app, "ci", |row| row.last_used_at == Some(later)).await;
    assert_eq!(row.last_used_at, Some(later));

    // And the web app's list shows it.
    let caller = app::services::Actor::operator_for(app.account_row("alice").await);
    let view = app::services::tokens::get(&app.state, &caller, "ci").await.unwrap();
    assert_eq!((view.last_used_at, view.last_used_ip.as_deref()), (Some(later), Some("127.0.0.1")));
}

async fn wait_for(
    app: &crate::common::TestApp,
    name: &str,
    done: impl Fn(&app::store::tokens::Token) -> bool,
) -> app::store::tokens::Token {
    for _ in 0..60 {
        let row = app.token_row(name).await.expect("token");
        if done(&row) {
            return row;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.token_row(name).await.expect("token")
}

#[tokio::test]
async fn malformed_tokens_are_refused_without_touching_the_database() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let secret = app.simple_token("alice", "ci", &["all"]).await;
    let mut altered = secret.clone();
    let last = if altered.ends_with('A') { "B" } else { "A" };
    altered.replace_range(altered.len() - 1.., last);

    // With the tokens table gone, anything that looks a token up fails on our side (500)...
    app.sql("ALTER TABLE tokens RENAME TO tokens_elsewhere").await;
    assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status(), 500);
    // ...while junk and bad checksums are still refused as the caller's mistake: they never reached it.
    let response = app.get_with("/api/v1/auth", &format!("Bearer {altered}")).await;
    assert_eq!(response.status(), 401);
    assert!(error_message(response).await.contains("checksum"));
    assert_eq!(app.get_with("/api/v1/auth", "Bearer tsr_short").await.status(), 401);
    app.sql("ALTER TABLE tokens_elsewhere RENAME TO tokens").await;
    assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status(), 200);
}
