//! Single sign-on (issue 19) without a provider's help: what Tessera decides before it talks to one (the return
//! must carry this browser's state, each waiting sign-in is taken once, an ended one is refused), what a person
//! sees when the provider cannot be reached, and password sign-in turned off but for the break-glass account.
//! The whole flow against a real provider (`oidc-provider`) is in the Chromium journeys
//! (`end2end/tests/single_sign_on.spec.ts`).

use crate::common::{PASSWORD, SignInSetup, TestApp, spawn_app, spawn_app_signing_in};
use app::{
    error::AppError,
    services::{
        auth::PasswordSignIn,
        oidc::{PENDING_LIFETIME, SsoSettings},
        random::sha256_hex,
    },
    store::single_sign_on::{self, PendingSignIn},
};
use chrono::Duration;

/// Single sign-on with a provider nobody answers at (port 1 on loopback refuses at once).
async fn app_with_unreachable_provider() -> TestApp {
    let sso = SsoSettings {
        issuer: "http://127.0.0.1:1".into(),
        client_id: "tessera".into(),
        client_secret: Some("client-secret".into()),
        username_claim: "preferred_username".into(),
        create_accounts: None,
        display_name: "Example ID".into(),
    };
    spawn_app_signing_in(SignInSetup { sso: Some(sso), ..SignInSetup::default() }).await
}

/// The page Tessera moves the browser on to (its refresh target), and the answer's `Set-Cookie` values.
async fn moved_on_to(response: reqwest::Response) -> (String, Vec<String>) {
    assert_eq!(response.status(), 200, "a page of ours, never a 5xx");
    let cookies =
        response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>();
    let body = response.text().await.unwrap();
    let target = body.split("content=\"0;url=").nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default();
    (target.to_owned(), cookies)
}

async fn options(app: &TestApp, sso_error: Option<&str>) -> serde_json::Value {
    let form: Vec<(&str, &str)> = sso_error.map(|code| ("sso_error", code)).into_iter().collect();
    let response = app.client().post(app.url("/rpc/load_sign_in_options")).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn waiting(app: &TestApp, state: &str, expires_in: Duration) {
    let now = app.state.clock.now();
    let pending = PendingSignIn {
        id: sha256_hex(state),
        nonce: "nonce".into(),
        pkce_verifier: "verifier".into(),
        session_id: None,
        return_to: None,
        created_at: now,
        expires_at: now + expires_in,
    };
    single_sign_on::insert(&app.state.db, pending).await.unwrap();
}

async fn callback(app: &TestApp, cookie: Option<&str>, state: &str) -> reqwest::Response {
    let mut request = app.client().get(app.url(&format!("/auth/oidc/callback?code=the-code&state={state}")));
    if let Some(cookie) = cookie {
        request = request.header("cookie", format!("tessera_sso={cookie}"));
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn without_single_sign_on_its_pages_are_not_found_and_the_sign_in_page_offers_none() {
    let app = spawn_app().await;
    for path in ["/auth/oidc/start", "/auth/oidc/callback?code=a&state=b"] {
        assert_eq!(app.client().get(app.url(path)).send().await.unwrap().status(), 404, "{path}");
    }
    let offered = options(&app, Some("expired")).await;
    assert_eq!(offered["single_sign_on"], serde_json::Value::Null);
    assert_eq!(offered["password_for_emergency_only"], false);
}

#[tokio::test]
async fn an_unreachable_provider_sends_the_person_back_with_a_plain_message() {
    let app = app_with_unreachable_provider().await;
    let response = app.client().get(app.url("/auth/oidc/start")).send().await.unwrap();
    let (target, cookies) = moved_on_to(response).await;
    assert_eq!(target, "/login?sso=unavailable");
    assert!(cookies.is_empty(), "no sign-in was started: {cookies:?}");

    let offered = options(&app, Some("unavailable")).await;
    assert_eq!(offered["single_sign_on"], "Example ID");
    assert_eq!(offered["sso_error"], "Your identity provider could not be reached. Try again in a moment.");
    // A code the server did not write shows nothing.
    assert_eq!(options(&app, Some("<b>hi</b>")).await["sso_error"], serde_json::Value::Null);
}

#[tokio::test]
async fn a_return_without_this_browsers_state_signs_nobody_in() {
    let app = app_with_unreachable_provider().await;
    waiting(&app, "the-state", PENDING_LIFETIME).await;
    for cookie in [None, Some("another-state"), Some("")] {
        let (target, cookies) = moved_on_to(callback(&app, cookie, "the-state").await).await;
        assert_eq!(target, "/login?sso=expired", "cookie {cookie:?}");
        assert!(cookies.iter().any(|c| c.starts_with("tessera_sso=;") && c.contains("Max-Age=0")), "{cookies:?}");
    }
    // The real browser's return is still waiting: mismatched ones did not use it up.
    assert!(single_sign_on::take(&app.state.db, &sha256_hex("the-state")).await.unwrap().is_some());
}

#[tokio::test]
async fn a_waiting_sign_in_is_taken_once() {
    let app = app_with_unreachable_provider().await;
    waiting(&app, "the-state", PENDING_LIFETIME).await;
    // The first return goes on to the provider (unreachable here); the same return again finds nothing.
    let (first, _) = moved_on_to(callback(&app, Some("the-state"), "the-state").await).await;
    assert_eq!(first, "/login?sso=unavailable");
    let (again, _) = moved_on_to(callback(&app, Some("the-state"), "the-state").await).await;
    assert_eq!(again, "/login?sso=expired");
}

#[tokio::test]
async fn a_sign_in_that_waited_too_long_is_refused() {
    let app = app_with_unreachable_provider().await;
    waiting(&app, "old-state", Duration::seconds(30)).await;
    app.clock.advance(Duration::seconds(31));
    let (target, _) = moved_on_to(callback(&app, Some("old-state"), "old-state").await).await;
    assert_eq!(target, "/login?sso=expired");
}

#[tokio::test]
async fn with_password_sign_in_off_only_the_break_glass_account_uses_a_password() {
    let setup = SignInSetup { password_sign_in: PasswordSignIn::BreakGlassOnly(Some("root".into())), sso: None };
    let app = spawn_app_signing_in(setup).await;
    app.create_account("root", "all").await;
    app.create_account("alice", "manage-api-tokens").await;
    let offered = options(&app, None).await;
    assert_eq!(offered["password_for_emergency_only"], true);

    // Alice's right password and root's wrong one get the same answer: it does not tell which is the
    // break-glass account, nor whether alice's password was right.
    for (name, password) in [("alice", PASSWORD), ("root", "not-the-password")] {
        let client = app.client();
        let response = app.login(&client, name, password).await;
        assert_eq!(response.status(), 401, "{name}");
        let err: AppError = serde_json::from_str(&response.text().await.unwrap()).unwrap();
        assert_eq!(err, AppError::PasswordSignInOff, "{name}");
        assert_eq!(app.current_account(&client).await, None);
    }
    // The account name matches whatever its case.
    let client = app.client();
    assert!(app.login(&client, "ROOT", PASSWORD).await.status().is_success());
    assert_eq!(app.current_account(&client).await.as_deref(), Some("root"));
}

#[tokio::test]
async fn one_address_starts_at_most_thirty_sign_ins_a_minute() {
    let app = app_with_unreachable_provider().await;
    let start = || async { moved_on_to(app.client().get(app.url("/auth/oidc/start")).send().await.unwrap()).await.0 };
    for _ in 0..30 {
        assert_eq!(start().await, "/login?sso=unavailable");
    }
    assert_eq!(start().await, "/login?sso=too-many", "the 31st within the minute");
    // One more every two seconds after that (GCRA: 30 a minute, not 30 each new minute in one burst).
    app.clock.advance(Duration::seconds(2));
    assert_eq!(start().await, "/login?sso=unavailable");
    assert_eq!(start().await, "/login?sso=too-many");
    assert_eq!(
        options(&app, Some("too-many")).await["sso_error"],
        "Too many sign-ins were started from your address. Please wait a minute."
    );
}
