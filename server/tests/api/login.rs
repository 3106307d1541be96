//! Signing in and out over real HTTP: the messages, the cookie, the session store and its timeouts.

use crate::common::{PASSWORD, spawn_app};
use app::store::entities::{account, audit_event, session};
use chrono::Duration;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

#[tokio::test]
async fn a_wrong_password_gets_401_with_the_generic_message_and_no_cookie() {
    let app = spawn_app().await;
    app.create_account("alice", "manage-api-tokens").await;
    let client = app.client();

    let response = app.login(&client, "alice", "wrong-password").await;
    assert_eq!(response.status(), 401);
    assert!(response.headers().get("set-cookie").is_none());
    let body = response.text().await.unwrap();
    assert!(body.contains("InvalidCredentials"), "{body}");
    assert_eq!(app::error::AppError::InvalidCredentials.to_string(), "Invalid username or password");
    assert_eq!(app.current_account(&client).await, None);
}

#[tokio::test]
async fn an_unknown_user_and_an_invalid_name_get_exactly_the_same_answer() {
    let app = spawn_app().await;
    app.create_account("alice", "manage-api-tokens").await;
    let client = app.client();

    let wrong_password = app.login(&client, "alice", "nope-nope").await;
    let unknown = app.login(&client, "mallory", "nope-nope").await;
    let invalid = app.login(&client, "not a name", "nope-nope").await;
    let (a, b, c) = (wrong_password.status(), unknown.status(), invalid.status());
    let bodies = (wrong_password.text().await.unwrap(), unknown.text().await.unwrap(), invalid.text().await.unwrap());
    assert_eq!(
        (a, b, c),
        (reqwest::StatusCode::UNAUTHORIZED, reqwest::StatusCode::UNAUTHORIZED, reqwest::StatusCode::UNAUTHORIZED)
    );
    assert_eq!(bodies.0, bodies.1);
    assert_eq!(bodies.1, bodies.2);
}

#[tokio::test]
async fn signing_in_sets_a_strict_http_only_cookie_and_opens_a_session() {
    let app = spawn_app().await;
    app.create_account("alice", "manage-api-tokens").await;
    let client = app.client();

    let response = app.login(&client, "ALICE", PASSWORD).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers().get("location").unwrap(), "/tokens");
    let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(cookie.starts_with("tessera_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP must not get a Secure cookie: {cookie}");
    assert_eq!(app.current_account(&client).await.as_deref(), Some("alice"));

    // Only the hash of the cookie value is stored.
    let value = cookie.trim_start_matches("tessera_session=").split(';').next().unwrap();
    let stored: Vec<_> = session::Entity::find().all(&app.state.db).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].id, value);
    assert_eq!(stored[0].id.len(), 64);
}

#[tokio::test]
async fn signing_out_ends_the_session_for_good() {
    let app = spawn_app().await;
    app.create_account("alice", "manage-api-tokens").await;
    let client = app.client();
    let response = app.login(&client, "alice", PASSWORD).await;
    let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_owned();

    let response = client.post(app.url("/rpc/logout")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("set-cookie").unwrap().to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(app.current_account(&client).await, None);

    // Replaying the old cookie does not bring the session back.
    let replay = reqwest::Client::new();
    let response = replay.post(app.url("/rpc/current_account")).header("cookie", cookie).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "null");
    assert_eq!(session::Entity::find().all(&app.state.db).await.unwrap().len(), 0);
}

#[tokio::test]
async fn an_idle_session_ends_after_the_idle_timeout() {
    let app = spawn_app().await;
    app.create_account("alice", "manage-api-tokens").await;
    let client = app.client();
    app.login(&client, "alice", PASSWORD).await;

    app.clock.advance(Duration::minutes(29));
    assert_eq!(app.current_account(&client).await.as_deref(), Some("alice"), "29 idle minutes are fine");
    app.clock.advance(Duration::minutes(30));
    assert_eq!(app.current_account(&client).await, None, "30 idle minutes end the session");
    assert_eq!(session::Entity::find().all(&app.state.db).await.unwrap().len(), 0);
}

#[tokio::test]
async fn an_active_session_still_ends_at_the_absolute_timeout() {
    let app = spawn_app().await;
    app.create_account("alice", "manage-api-tokens").await;
    let client = app.client();
    app.login(&client, "alice", PASSWORD).await;

    // Active every 20 minutes for 11 h 40 min: still signed in.
    for _ in 0..35 {
        app.clock.advance(Duration::minutes(20));
        assert_eq!(app.current_account(&client).await.as_deref(), Some("alice"));
    }
    app.clock.advance(Duration::minutes(20));
    assert_eq!(app.current_account(&client).await, None, "12 hours after sign-in the session ends");
}

#[tokio::test]
async fn a_suspended_account_cannot_sign_in() {
    let app = spawn_app().await;
    app.create_account("alice", "manage-api-tokens").await;
    let alice = account::Entity::find().filter(account::Column::UsernameKey.eq("alice")).one(&app.state.db).await;
    let mut alice: account::ActiveModel = alice.unwrap().unwrap().into();
    alice.suspended = Set(true);
    account::Entity::update(alice).exec(&app.state.db).await.unwrap();

    let client = app.client();
    let response = app.login(&client, "alice", PASSWORD).await;
    assert_eq!(response.status(), 403);
    assert!(response.headers().get("set-cookie").is_none());
    assert_eq!(app.current_account(&client).await, None);
}

#[tokio::test]
async fn sign_ins_are_audited_and_no_password_reaches_the_database() {
    let app = spawn_app().await;
    app.create_account("alice", "manage-api-tokens").await;
    let client = app.client();
    app.login(&client, "alice", "typo-password-123").await;
    app.login(&client, "hunter2-typed-as-name!", "x").await;
    app.login(&client, "alice", PASSWORD).await;

    let events = audit_event::Entity::find().all(&app.state.db).await.unwrap();
    let logins: Vec<_> =
        events.iter().filter(|e| e.action == "login").map(|e| (e.actor_name.as_str(), e.outcome.as_str())).collect();
    assert_eq!(logins, [("alice", "failure"), ("(invalid name)", "failure"), ("alice", "success")]);
    assert!(events.iter().filter(|e| e.action == "login").all(|e| e.client_ip.as_deref() == Some("127.0.0.1")));

    // Look for the plaintext anywhere in what the database holds.
    let stored = app.database_text().await;
    assert!(stored.contains("alice"), "the dump reads the accounts");
    for secret in [PASSWORD, "typo-password-123", "hunter2-typed-as-name!"] {
        assert!(!stored.contains(secret), "{secret} is in the database");
    }
}

#[tokio::test]
async fn pages_behind_login_redirect_to_the_login_page() {
    let app = spawn_app().await;
    let client = app.client();
    for path in ["/tokens", "/account", "/"] {
        let response = client.get(app.url(path)).header("accept", "text/html").send().await.unwrap();
        assert_eq!(response.status(), 302, "{path}");
        assert_eq!(response.headers().get("location").unwrap(), "/login", "{path}");
    }
}

#[tokio::test]
async fn the_signed_in_tokens_page_is_rendered_on_the_server() {
    let app = spawn_app().await;
    app.create_account("alice", "manage-api-tokens").await;
    let client = app.client();
    app.login(&client, "alice", PASSWORD).await;

    let response = client.get(app.url("/tokens")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("No API tokens yet"), "{html}");
    assert!(html.contains(">alice<"), "the account name is in the shell");
    let script = format!("{}/pkg/tessera.js", tessera_server::assets::root());
    assert!(script.starts_with("/assets/") && html.contains(&script), "the page loads the app from {script}: {html}");
}

#[tokio::test]
async fn a_signed_in_visit_to_the_login_page_goes_to_the_tokens_page() {
    let app = spawn_app().await;
    app.create_account("alice", "manage-api-tokens").await;
    let client = app.client();
    app.login(&client, "alice", PASSWORD).await;
    let response = client.get(app.url("/login")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers().get("location").unwrap(), "/tokens");
}
