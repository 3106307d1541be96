//! Sessions, cookies and cross-site requests (issue 11 item 4): state changes only from Tessera's own origin
//! (the sign-in included), a `__Host-` cookie over HTTPS that a planted cookie cannot beat, the current password
//! for one's own change even with `passwd`, and no common password or the account's own name.

use crate::common::{PASSWORD, TestApp, spawn_app, spawn_app_with};
use app::state::WebSettings;
use serde_json::Value;

async fn sign_in_with(app: &TestApp, client: &reqwest::Client, headers: &[(&str, &str)]) -> u16 {
    let mut request = client.post(app.url("/rpc/login")).form(&[("username", "alice"), ("password", PASSWORD)]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn rpc(client: &reqwest::Client, app: &TestApp, function: &str, form: &[(&str, &str)]) -> (u16, String) {
    let response = client.post(app.url(&format!("/rpc/{function}"))).form(form).send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    let message = serde_json::from_str::<app::error::AppError>(&body).map_or(body, |err| err.to_string());
    (status, message)
}

/// The form of a server-function call creating the token `planted`.
const PLANTED_TOKEN: [(&str, &str); 4] = [
    ("token[name]", "planted"),
    ("token[expires]", "never"),
    ("token[allowlist]", ""),
    ("token[privileges][0]", "manage-api-tokens"),
];

#[tokio::test]
async fn a_sign_in_from_another_site_is_refused_and_from_this_one_accepted() {
    let app = spawn_app().await;
    app.create_account("alice", "manage-api-tokens").await;
    let own_origin = app.base.clone();

    for cross_site in [
        vec![("origin", "http://evil.example")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
    ] {
        let client = app.client();
        assert_eq!(sign_in_with(&app, &client, &cross_site).await, 403, "{cross_site:?}");
        assert_eq!(app.current_account(&client).await, None, "no session from {cross_site:?}");
    }
    let client = app.client();
    assert_eq!(sign_in_with(&app, &client, &[("origin", &own_origin), ("sec-fetch-site", "same-origin")]).await, 200);
    assert_eq!(app.current_account(&client).await.as_deref(), Some("alice"));

    // A signed-in person's server functions are refused from another site too, and change nothing.
    let response = client
        .post(app.url("/rpc/create_token"))
        .header("origin", "http://evil.example")
        .form(&PLANTED_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let error: app::error::AppError = response.json().await.unwrap();
    assert_eq!(error, app::error::AppError::CrossSite);
    assert!(app.token_row("planted").await.is_none());
    // The same request from Tessera's own page goes through.
    let response = client
        .post(app.url("/rpc/create_token"))
        .header("origin", &own_origin)
        .form(&PLANTED_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(app.token_row("planted").await.is_some());
}

#[tokio::test]
async fn with_a_public_url_only_its_origin_is_accepted() {
    let web = WebSettings { public_origin: Some("https://tessera.example.com".into()), ..WebSettings::default() };
    let app = spawn_app_with(Vec::new(), web).await;
    app.create_account("alice", "manage-api-tokens").await;
    let own_host = app.base.clone();
    assert_eq!(sign_in_with(&app, &app.client(), &[("origin", &own_host)]).await, 403);
    assert_eq!(sign_in_with(&app, &app.client(), &[("origin", "https://tessera.example.com")]).await, 200);
}

#[tokio::test]
async fn over_https_the_cookie_is_host_prefixed_and_a_planted_one_does_not_win() {
    let web = WebSettings { secure_cookie: true, ..WebSettings::default() };
    let app = spawn_app_with(Vec::new(), web).await;
    app.create_account("alice", "manage-api-tokens").await;
    app.create_account("mallory", "manage-api-tokens").await;

    // Mallory's own valid session: the cookie an attacker would plant in alice's browser.
    let mallory = reqwest::Client::new();
    let response = mallory
        .post(app.url("/rpc/login"))
        .form(&[("username", "mallory"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let planted = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    assert!(planted.starts_with("__Host-tessera_session="), "{planted}");
    app.clock.advance(chrono::Duration::seconds(30));

    let response = reqwest::Client::new()
        .post(app.url("/rpc/login"))
        .form(&[("username", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set_cookie.starts_with("__Host-tessera_session="), "{set_cookie}");
    assert!(set_cookie.contains("; Path=/") && set_cookie.contains("; Secure") && !set_cookie.contains("Domain"));
    let issued = set_cookie.split(';').next().unwrap().to_owned();

    // Who the web app sees signed in with exactly this `Cookie` header.
    let who = |cookie: String| async {
        let response = reqwest::Client::new().post(app.url("/rpc/current_account")).header("cookie", cookie);
        response.send().await.unwrap().json::<Value>().await.unwrap()
    };
    // The browser sends the planted (older) cookie first, as it would for a longer path.
    assert_eq!(who(format!("{planted}; {issued}")).await["username"], "alice");
    // The plain-HTTP name is not read at all over HTTPS.
    let value = issued.split_once('=').unwrap().1;
    assert_eq!(who(format!("tessera_session={value}")).await, Value::Null);
}

#[tokio::test]
async fn ones_own_password_changes_only_with_the_current_one_even_with_passwd() {
    let app = spawn_app().await;
    app.create_account("root", "all").await;
    app.create_account("bob", "manage-api-tokens").await;
    let client = app.client();
    assert_eq!(app.login(&client, "root", PASSWORD).await.status(), 200);

    let (status, message) =
        rpc(&client, &app, "reset_account_password", &[("name", "root"), ("password", "a-brand-new-one-9")]).await;
    assert_eq!(status, 422, "{message}");
    assert!(message.contains("current password"), "{message}");
    // Through a token holding `passwd` as well.
    let token = app.simple_token("root", "script", &["all"]).await;
    let response = reqwest::Client::new()
        .post(app.url("/json-api/passwd"))
        .header("authorization", format!("whm root:{token}"))
        .form(&[("api.version", "1"), ("user", "root"), ("password", "a-brand-new-one-9")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(app.login(&app.client(), "root", PASSWORD).await.status(), 200, "the password did not change");

    // Someone else's: no current password needed.
    let (status, message) =
        rpc(&client, &app, "reset_account_password", &[("name", "bob"), ("password", "a-brand-new-one-9")]).await;
    assert_eq!(status, 200, "{message}");
    assert_eq!(app.login(&app.client(), "bob", "a-brand-new-one-9").await.status(), 200);
}

#[tokio::test]
async fn common_passwords_and_the_account_name_are_refused_with_a_clear_message() {
    let app = spawn_app().await;
    app.create_account("root", "all").await;
    let client = app.client();
    assert_eq!(app.login(&client, "root", PASSWORD).await.status(), 200);
    for (name, password, expected) in [
        ("carol", "Password1", "most commonly used"),
        ("carol", "BASEBALL", "most commonly used"),
        ("carol", "iloveyou2", "most commonly used"),
        ("carol-smith", "Carol-Smith", "the account's name"),
    ] {
        let (status, message) = rpc(
            &client,
            &app,
            "create_account",
            &[("name", name), ("password", password), ("privileges[0]", "list-accts")],
        )
        .await;
        assert_eq!(status, 422, "{password}: {message}");
        assert!(message.contains(expected), "{password}: {message}");
    }
    assert!(app.account_row_opt("carol").await.is_none());
    let (status, message) =
        rpc(&client, &app, "change_password", &[("current_password", PASSWORD), ("new_password", "qwertyuiop")]).await;
    assert_eq!(status, 422, "{message}");
    assert!(message.contains("most commonly used"), "{message}");
}
