//! Passkeys (issue 19) through the web app's server functions, up to what needs an authenticator: the relying
//! party is the host people use (never an IP address), the options a browser gets, names, and answers that are
//! not passkeys, belong to no ceremony or come twice. Real ceremonies (Chromium's virtual authenticator) are in
//! `end2end/tests/passkeys.spec.ts`.

use crate::common::{PASSWORD, TestApp, spawn_app};
use app::error::AppError;

/// A server function called as the browser would on `host`.
async fn call(
    app: &TestApp,
    client: &reqwest::Client,
    host: &str,
    function: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let response = client
        .post(app.url(&format!("/rpc/{function}")))
        .header("host", host)
        .header("origin", format!("http://{host}"))
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn error_of(body: &str) -> AppError {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not an AppError: {body}"))
}

/// Alice, signed in on `host`.
async fn alice(app: &TestApp, host: &str) -> reqwest::Client {
    app.create_account("alice", "manage-api-tokens").await;
    let client = app.client();
    let (status, body) = call(app, &client, host, "login", &[("username", "alice"), ("password", PASSWORD)]).await;
    assert!(status < 400, "{status} {body}");
    client
}

fn localhost(app: &TestApp) -> String {
    format!("localhost:{}", app.base.rsplit(':').next().unwrap())
}

#[tokio::test]
async fn the_options_name_the_host_as_relying_party_and_hold_no_nulls() {
    let app = spawn_app().await;
    let host = localhost(&app);
    let client = alice(&app, &host).await;
    let (status, body) = call(&app, &client, &host, "start_passkey", &[("name", "  Work laptop ")]).await;
    assert_eq!(status, 200, "{body}");
    let challenge: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(challenge["handle"].as_str().unwrap().len(), 43);
    let options: serde_json::Value = serde_json::from_str(challenge["options"].as_str().unwrap()).unwrap();
    let public_key = &options["publicKey"];
    assert_eq!(public_key["rp"]["id"], "localhost");
    assert_eq!(public_key["user"]["name"], "alice");
    assert!(public_key["challenge"].as_str().unwrap().len() >= 43, "a 32-byte challenge, base64url");
    assert_eq!(public_key["authenticatorSelection"]["userVerification"], "required");
    assert!(!challenge["options"].as_str().unwrap().contains("null"), "no nulls: {options}");
}

#[tokio::test]
async fn an_ip_address_is_no_relying_party() {
    let app = spawn_app().await;
    let host = app.base.trim_start_matches("http://").to_owned();
    let client = alice(&app, &host).await;
    let (status, body) = call(&app, &client, &host, "start_passkey", &[("name", "Laptop")]).await;
    assert_eq!(status, 400, "{body}");
    assert!(error_of(&body).to_string().contains("Passkeys need Tessera to be reached by a host name"), "{body}");
}

#[tokio::test]
async fn a_name_is_required_and_bounded() {
    let app = spawn_app().await;
    let host = localhost(&app);
    let client = alice(&app, &host).await;
    for (name, message) in [("   ", "Give the passkey a name"), (&"x".repeat(51) as &str, "at most 50 characters")] {
        let (status, body) = call(&app, &client, &host, "start_passkey", &[("name", name)]).await;
        assert_eq!(status, 422, "{body}");
        assert!(error_of(&body).for_field("name").unwrap().contains(message), "{body}");
    }
}

#[tokio::test]
async fn an_answer_that_is_no_passkey_or_names_no_ceremony_adds_nothing() {
    let app = spawn_app().await;
    let host = localhost(&app);
    let client = alice(&app, &host).await;
    let (_, body) = call(&app, &client, &host, "start_passkey", &[("name", "Laptop")]).await;
    let handle = serde_json::from_str::<serde_json::Value>(&body).unwrap()["handle"].as_str().unwrap().to_owned();

    // Not a registration: refused, and the ceremony is used up.
    let (status, body) =
        call(&app, &client, &host, "finish_passkey", &[("handle", &handle), ("credential", "{}")]).await;
    assert_eq!(status, 422, "{body}");
    assert!(error_of(&body).for_field("passkey").unwrap().contains("not a passkey registration"), "{body}");
    let (status, body) =
        call(&app, &client, &host, "finish_passkey", &[("handle", &handle), ("credential", "{}")]).await;
    assert_eq!(status, 422, "{body}");
    assert!(error_of(&body).for_field("passkey").unwrap().contains("already used"), "{body}");
    // Nor a handle from nowhere.
    let (status, _) =
        call(&app, &client, &host, "finish_passkey", &[("handle", "made-up"), ("credential", "{}")]).await;
    assert_eq!(status, 422);

    let (_, body) = call(&app, &client, &host, "second_factor_status", &[]).await;
    let view: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(view["passkeys"], serde_json::json!([]));
    assert_eq!(view["recovery_codes_left"], 0);
}

#[tokio::test]
async fn another_account_cannot_finish_alices_ceremony() {
    let app = spawn_app().await;
    let host = localhost(&app);
    let client = alice(&app, &host).await;
    let (_, body) = call(&app, &client, &host, "start_passkey", &[("name", "Laptop")]).await;
    let handle = serde_json::from_str::<serde_json::Value>(&body).unwrap()["handle"].as_str().unwrap().to_owned();
    app.create_account("mallory", "manage-api-tokens").await;
    let other = app.client();
    call(&app, &other, &host, "login", &[("username", "mallory"), ("password", PASSWORD)]).await;
    let (status, body) =
        call(&app, &other, &host, "finish_passkey", &[("handle", &handle), ("credential", "{}")]).await;
    assert_eq!(status, 422, "{body}");
    assert!(error_of(&body).for_field("passkey").unwrap().contains("already used"), "{body}");
}

#[tokio::test]
async fn a_passkey_sign_in_needs_a_sign_in_waiting_for_its_second_factor() {
    let app = spawn_app().await;
    let host = localhost(&app);
    let client = app.client();
    for function in ["start_passkey_sign_in", "load_sign_in_step"] {
        let (status, body) = call(&app, &client, &host, function, &[]).await;
        assert_eq!(status, 401, "{function}: {body}");
        assert_eq!(error_of(&body), AppError::SignInExpired);
    }
    let (status, body) = call(&app, &client, &host, "passkey_sign_in", &[("handle", "x"), ("credential", "{}")]).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(app.current_account(&client).await, None);
}
