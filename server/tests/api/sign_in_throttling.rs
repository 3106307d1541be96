//! Sign-in throttling (issue 11 item 2): after 10 failed sign-ins in 15 minutes an account name is locked for
//! 15 minutes, whether or not the account exists, and the right password does not open it; an address with 10
//! failures waits (429, `Retry-After`). Locks and their ends are audited, an administrator can unlock, and the
//! counters live in the database (a restart or a second instance sees them).

use crate::common::{PASSWORD, TestApp, spawn_app_with_proxies};
use app::{
    domain::IpRange,
    services::{Actor, auth, password::Password, sign_in_limits},
};
use chrono::Duration;

/// A server behind a trusted proxy on loopback, so each attempt can come from its own client address.
async fn app_behind_proxy() -> TestApp {
    let app = spawn_app_with_proxies(vec![IpRange::parse("127.0.0.1").unwrap()]).await;
    app.create_account("alice", "manage-api-tokens").await;
    app
}

async fn sign_in_from(app: &TestApp, ip: &str, username: &str, password: &str) -> (u16, String, Option<String>) {
    let response = app
        .client()
        .post(app.url("/rpc/login"))
        .header("x-forwarded-for", ip)
        .form(&[("username", username), ("password", password)])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let body = response.text().await.unwrap();
    // A refusal is the typed error the web app shows; this is the text the person reads.
    let message = serde_json::from_str::<app::error::AppError>(&body).map_or(body, |err| err.to_string());
    (status, message, retry_after)
}

/// Ten wrong passwords for `username`, each from a different address.
async fn fail_ten_times(app: &TestApp, username: &str) {
    for i in 0..10 {
        let (status, _, _) = sign_in_from(app, &format!("198.51.100.{i}"), username, "wrong-password").await;
        assert_eq!(status, 401, "attempt {i}");
    }
}

fn actions(events: &[(String, Option<String>, String)], action: &str) -> Vec<String> {
    events.iter().filter(|(a, _, _)| a == action).map(|(_, target, _)| target.clone().unwrap_or_default()).collect()
}

#[tokio::test]
async fn ten_failures_lock_the_account_and_the_right_password_does_not_open_it() {
    let app = app_behind_proxy().await;
    fail_ten_times(&app, "alice").await;

    let (status, body, _) = sign_in_from(&app, "203.0.113.1", "alice", PASSWORD).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("locked for 15 more minute"), "{body}");
    let events = app.audit_actions().await;
    assert_eq!(actions(&events, "login.locked").len(), 1, "{events:?}");
    assert!(actions(&events, "login.locked")[0].starts_with("alice until "));

    // Nine more minutes: still locked. Fifteen: the lock has run out, its end is recorded, the password works.
    app.clock.advance(Duration::minutes(9));
    assert_eq!(sign_in_from(&app, "203.0.113.1", "alice", PASSWORD).await.0, 403);
    app.clock.advance(Duration::minutes(6));
    assert_eq!(sign_in_limits::sweep(&app.state).await.unwrap(), 1);
    assert_eq!(sign_in_limits::sweep(&app.state).await.unwrap(), 0, "an end is recorded once");
    assert_eq!(actions(&app.audit_actions().await, "login.unlocked"), ["alice (the lock ran out)"]);
    let (status, body, _) = sign_in_from(&app, "203.0.113.1", "alice", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_locked_name_that_no_account_has_gets_the_same_answer() {
    let app = app_behind_proxy().await;
    fail_ten_times(&app, "alice").await;
    fail_ten_times(&app, "nobody").await;
    let real = sign_in_from(&app, "203.0.113.1", "alice", PASSWORD).await;
    let unknown = sign_in_from(&app, "203.0.113.2", "nobody", PASSWORD).await;
    assert_eq!((real.0, &real.1), (unknown.0, &unknown.1));
}

#[tokio::test]
async fn an_address_with_ten_failures_waits_and_others_do_not() {
    let app = app_behind_proxy().await;
    for i in 0..10 {
        let (status, _, _) = sign_in_from(&app, "192.0.2.66", &format!("guess-{i}"), "wrong-password").await;
        assert_eq!(status, 401);
    }
    let (status, body, retry_after) = sign_in_from(&app, "192.0.2.66", "alice", PASSWORD).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("Too many failed sign-ins from your address"), "{body}");
    let retry_after: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");

    // Another address is not held up, and the first one may try again once its failures leave the window.
    assert_eq!(sign_in_from(&app, "192.0.2.67", "alice", PASSWORD).await.0, 200);
    app.clock.advance(Duration::seconds(i64::try_from(retry_after).unwrap()));
    assert_eq!(sign_in_from(&app, "192.0.2.66", "alice", PASSWORD).await.0, 200);
}

#[tokio::test]
async fn a_success_forgets_the_failures_before_it() {
    let app = app_behind_proxy().await;
    for i in 0..9 {
        sign_in_from(&app, &format!("198.51.100.{i}"), "alice", "wrong-password").await;
    }
    assert_eq!(sign_in_from(&app, "203.0.113.1", "alice", PASSWORD).await.0, 200);
    for i in 0..9 {
        sign_in_from(&app, &format!("198.51.100.{i}"), "alice", "wrong-password").await;
    }
    assert_eq!(sign_in_from(&app, "203.0.113.1", "alice", PASSWORD).await.0, 200, "9 + 9 is not 10 in a row");
}

#[tokio::test]
async fn locks_live_in_the_database_for_a_restart_or_another_instance() {
    let app = app_behind_proxy().await;
    fail_ten_times(&app, "alice").await;
    // A second instance (or this one after a restart): its own connection to the same database.
    let db = app::store::connect(&app.database_url).await.unwrap();
    let other = app::services::Core { db, ..app.state.core.clone() };
    let refused = auth::login(&other, "alice", Password::new(PASSWORD.into()), Some("203.0.113.9")).await;
    assert!(matches!(refused, Err(app::error::AppError::AccountLocked { .. })), "{:?}", refused.map(|_| ()));
}

// Multi-threaded: the CLI runs while the server serves from this runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_unlocks_early_and_it_is_audited() {
    let app = app_behind_proxy().await;
    fail_ten_times(&app, "alice").await;
    assert!(app::services::accounts::unlock(&app.state, &Actor::operator(), "ALICE").await.unwrap());
    assert!(!app::services::accounts::unlock(&app.state, &Actor::operator(), "alice").await.unwrap());
    assert_eq!(actions(&app.audit_actions().await, "login.unlocked"), ["alice"]);
    assert_eq!(sign_in_from(&app, "203.0.113.1", "alice", PASSWORD).await.0, 200);

    // The command line does the same.
    fail_ten_times(&app, "alice").await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["account", "unlock", "alice"])
        .env("DATABASE_URL", &app.database_url)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Unlocked alice: it can sign in again.\n");
    assert_eq!(sign_in_from(&app, "203.0.113.1", "alice", PASSWORD).await.0, 200);
}

#[tokio::test]
async fn the_web_app_records_the_client_a_trusted_proxy_names() {
    let app = app_behind_proxy().await;
    assert_eq!(sign_in_from(&app, "203.0.113.77", "alice", PASSWORD).await.0, 200);
    let event = app::store::audit::recent(&app.state.db, 1).await.unwrap().remove(0);
    assert_eq!((event.action.as_str(), event.client_ip.as_deref()), ("login", Some("203.0.113.77")));
}
