//! Second factors (issue 19) through the web app's server functions: an authenticator app is set up with one
//! code, after which signing in needs the password and then a current code (each code once) or an unused
//! recovery code; wrong codes count toward the sign-in lock; removing the app or making new codes asks for the
//! password. Codes come from `totp-rs`, a TOTP implementation we did not write, at the server's (test) clock.

use crate::common::{PASSWORD, TestApp, spawn_app, spawn_app_with_proxies};
use app::{domain::IpRange, error::AppError, services::Actor};
use chrono::Duration;
use totp_rs::{Builder, Secret};

async fn call(app: &TestApp, client: &reqwest::Client, function: &str, form: &[(&str, &str)]) -> (u16, String) {
    let response = client.post(app.url(&format!("/rpc/{function}"))).form(form).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn error_of(body: &str) -> AppError {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not an AppError: {body}"))
}

/// The reference generator's code for `secret` (base32) at the app's clock, `offset` seconds away.
fn code(app: &TestApp, secret: &str, offset: i64) -> String {
    let totp = Builder::new().with_secret(Secret::try_from_base32(secret).unwrap()).build().unwrap();
    totp.generate(u64::try_from(app.clock_unix() + offset).unwrap()).to_string()
}

/// Signs alice in with her password only, sets up an authenticator app and confirms it: the secret and the
/// recovery codes.
async fn alice_with_an_app(app: &TestApp) -> (String, Vec<String>) {
    app.create_account("alice", "manage-api-tokens").await;
    let client = app.client();
    assert!(app.login(&client, "alice", PASSWORD).await.status().is_success());
    let (status, body) = call(app, &client, "start_totp", &[]).await;
    assert_eq!(status, 200, "{body}");
    let setup: serde_json::Value = serde_json::from_str(&body).unwrap();
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let uri = setup["uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Tessera:alice?secret=") && uri.contains("issuer=Tessera"), "{uri}");
    assert!(setup["qr_svg"].as_str().unwrap().starts_with("<svg"), "the QR code is an SVG");

    // A wrong code does not turn it on.
    let wrong = if code(app, &secret, 0) == "000000" { "111111" } else { "000000" };
    let (status, body) = call(app, &client, "confirm_totp", &[("code", wrong)]).await;
    assert_eq!((status, error_of(&body).for_field("code").is_some()), (422, true), "{body}");
    let (status, body) = call(app, &client, "second_factor_status", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["totp"], false);

    let (status, body) = call(app, &client, "confirm_totp", &[("code", &code(app, &secret, 0))]).await;
    assert_eq!(status, 200, "{body}");
    let codes: Vec<String> = serde_json::from_str(&body).unwrap();
    assert_eq!(codes.len(), 10);
    let mut distinct = codes.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 10, "{codes:?}");
    let (_, body) = call(app, &client, "second_factor_status", &[]).await;
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((status["totp"].as_bool(), status["recovery_codes_left"].as_u64()), (Some(true), Some(10)));
    // The confirming code was used: the next sign-in needs a later one.
    app.clock.advance(Duration::seconds(30));
    (secret, codes)
}

/// A new browser that typed alice's password: signed in or not, as the answer says.
async fn password_step(app: &TestApp) -> reqwest::Client {
    let client = app.client();
    let response = app.login(&client, "alice", PASSWORD).await;
    assert!(response.status().is_success() || response.status().is_redirection(), "{}", response.status());
    client
}

#[tokio::test]
async fn with_an_authenticator_app_the_password_alone_does_not_sign_in_and_each_code_works_once() {
    let app = spawn_app().await;
    let (secret, _) = alice_with_an_app(&app).await;

    let client = password_step(&app).await;
    assert_eq!(app.current_account(&client).await, None, "no session before the second factor");
    let wrong = if code(&app, &secret, 0) == "123456" { "654321" } else { "123456" };
    let (status, body) = call(&app, &client, "second_factor", &[("code", wrong)]).await;
    assert_eq!((status, error_of(&body)), (401, AppError::InvalidCode));
    assert_eq!(app.current_account(&client).await, None);

    let current = code(&app, &secret, 0);
    let (status, body) = call(&app, &client, "second_factor", &[("code", &current)]).await;
    assert!(status == 200 || status == 302, "{status} {body}");
    assert_eq!(app.current_account(&client).await.as_deref(), Some("alice"));

    // The same code again, in another browser within its 30 seconds: refused (no replay).
    let other = password_step(&app).await;
    let (status, body) = call(&app, &other, "second_factor", &[("code", &current)]).await;
    assert_eq!((status, error_of(&body)), (401, AppError::InvalidCode));
    // Thirty seconds on, the app's next code works; a code 30 s early or late is accepted (clock skew).
    app.clock.advance(Duration::seconds(30));
    let (status, _) = call(&app, &other, "second_factor", &[("code", &code(&app, &secret, 30))]).await;
    assert!(status == 200 || status == 302);
    assert_eq!(app.current_account(&other).await.as_deref(), Some("alice"));

    let events = app.audit_actions().await;
    let logins: Vec<_> = events.iter().filter(|(action, ..)| action == "login").collect();
    assert!(
        logins
            .iter()
            .any(|(_, target, outcome)| target.as_deref() == Some("authenticator app") && outcome == "success"),
        "{events:?}"
    );
    assert!(
        logins.iter().any(|(_, target, outcome)| target.as_deref() == Some("second factor") && outcome == "failure")
    );
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_and_new_codes_replace_the_old() {
    let app = spawn_app().await;
    let (_, codes) = alice_with_an_app(&app).await;

    let client = password_step(&app).await;
    // Typed in capitals with spaces, as people copy them: still the code.
    let typed = codes[0].to_uppercase().replace('-', " - ");
    let (status, body) = call(&app, &client, "second_factor", &[("code", &typed)]).await;
    assert!(status == 200 || status == 302, "{status} {body}");
    assert_eq!(app.current_account(&client).await.as_deref(), Some("alice"));
    let (_, body) = call(&app, &client, "second_factor_status", &[]).await;
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["recovery_codes_left"], 9);

    let again = password_step(&app).await;
    let (status, body) = call(&app, &again, "second_factor", &[("code", &codes[0])]).await;
    assert_eq!((status, error_of(&body)), (401, AppError::InvalidCode), "a used recovery code");

    // New codes need the password; then the old ones stop working and the new ones work.
    let (status, body) = call(&app, &client, "regenerate_recovery_codes", &[("password", "not-the-password")]).await;
    assert_eq!((status, error_of(&body).for_field("password").is_some()), (422, true), "{body}");
    let (status, body) = call(&app, &client, "regenerate_recovery_codes", &[("password", PASSWORD)]).await;
    assert_eq!(status, 200, "{body}");
    let fresh: Vec<String> = serde_json::from_str(&body).unwrap();
    assert!(fresh.iter().all(|code| !codes.contains(code)));
    let (status, _) = call(&app, &again, "second_factor", &[("code", &codes[1])]).await;
    assert_eq!(status, 401, "an old code after regenerating");
    let (status, _) = call(&app, &again, "second_factor", &[("code", &fresh[3])]).await;
    assert!(status == 200 || status == 302);

    // Only hashes are stored.
    let stored = app.database_text().await;
    assert!(
        fresh
            .iter()
            .chain(&codes)
            .all(|code| !stored.contains(code.as_str()) && !stored.contains(&code.replace('-', "")))
    );
}

/// A browser behind the trusted proxy (loopback), for the client address `ip`.
fn from_address(ip: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", ip.parse().unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

#[tokio::test]
async fn wrong_codes_count_toward_the_sign_in_lock_and_a_waiting_sign_in_ends_after_five_minutes() {
    let app = spawn_app_with_proxies(vec![IpRange::parse("127.0.0.1").unwrap()]).await;
    let (secret, _) = alice_with_an_app(&app).await;

    let client = password_step(&app).await;
    app.clock.advance(Duration::minutes(5));
    let (status, body) = call(&app, &client, "second_factor", &[("code", &code(&app, &secret, 0))]).await;
    assert_eq!((status, error_of(&body)), (401, AppError::SignInExpired));
    // Without the cookie at all: the same.
    let (status, body) = call(&app, &app.client(), "second_factor", &[("code", "123456")]).await;
    assert_eq!((status, error_of(&body)), (401, AppError::SignInExpired));

    // Malformed input is a plain 422 and not a guess.
    let client = password_step(&app).await;
    let (status, body) = call(&app, &client, "second_factor", &[("code", "12")]).await;
    assert_eq!((status, error_of(&body).for_field("code").is_some()), (422, true), "{body}");

    // Ten wrong codes (however many passwords are typed in between) lock the name like ten wrong passwords; each
    // from its own address here, so the address limit (which also counts them) does not answer first.
    let right = code(&app, &secret, 0);
    for i in 0..10 {
        let client = from_address(&format!("198.51.100.{i}"));
        app.login(&client, "alice", PASSWORD).await;
        let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1 + i) % 1_000_000);
        let (status, body) = call(&app, &client, "second_factor", &[("code", &wrong)]).await;
        assert_eq!(status, 401, "attempt {i}: {body}");
    }
    let response = app.login(&from_address("203.0.113.1"), "alice", PASSWORD).await;
    assert_eq!(response.status(), 403, "locked: the right password is refused");
    let refused = error_of(&response.text().await.unwrap());
    assert!(matches!(refused, AppError::AccountLocked { .. }), "{refused:?}");
}

#[tokio::test]
async fn removing_the_app_needs_the_password_and_then_the_password_alone_signs_in() {
    let app = spawn_app().await;
    let (secret, _) = alice_with_an_app(&app).await;
    let client = password_step(&app).await;
    call(&app, &client, "second_factor", &[("code", &code(&app, &secret, 0))]).await;
    assert_eq!(app.current_account(&client).await.as_deref(), Some("alice"));

    let (status, body) = call(&app, &client, "start_totp", &[]).await;
    assert_eq!(status, 409, "a second app while one is set up: {body}");
    let (status, body) = call(&app, &client, "remove_totp", &[("password", "wrong-password")]).await;
    assert_eq!((status, error_of(&body).for_field("password").is_some()), (422, true));
    let (status, body) = call(&app, &client, "remove_totp", &[("password", PASSWORD)]).await;
    assert_eq!(status, 200, "{body}");
    let events = app.audit_actions().await;
    for action in ["account.second_factor.enrol", "account.second_factor.remove"] {
        assert!(events.iter().any(|(a, ..)| a == action), "{action}: {events:?}");
    }

    let signed_out = app.client();
    app.login(&signed_out, "alice", PASSWORD).await;
    assert_eq!(app.current_account(&signed_out).await.as_deref(), Some("alice"));
}

#[tokio::test]
async fn second_factors_are_managed_only_when_signed_in() {
    let app = spawn_app().await;
    app.create_account("alice", "manage-api-tokens").await;
    for function in ["second_factor_status", "start_totp", "confirm_totp", "remove_totp", "regenerate_recovery_codes"] {
        let (status, body) = call(&app, &app.client(), function, &[("code", "123456"), ("password", PASSWORD)]).await;
        assert_eq!((status, error_of(&body)), (401, AppError::Unauthenticated), "{function}");
    }
}

// Multi-threaded: the CLI runs while the server serves from this runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_resets_the_factors_of_someone_who_lost_them_from_the_cli() {
    let app = spawn_app().await;
    alice_with_an_app(&app).await;
    app.create_account("helpdesk", "list-accts").await;
    let helpdesk = app.account_row("helpdesk").await;
    let refused = app::services::second_factor::reset(&app.state, &Actor::session(helpdesk, None), "alice").await;
    assert_eq!(refused, Err(AppError::Forbidden("edit-account".into())), "without the privilege to edit accounts");

    let reset = |name: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["account", "reset-2fa", name])
            .env("DATABASE_URL", &app.database_url)
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };
    let out = reset("alice");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Removed the second factors of alice: the password alone signs in until new ones are set up.\n"
    );
    assert_eq!(String::from_utf8_lossy(&reset("alice").stdout), "alice has no second factor.\n");
    let events = app.audit_actions().await;
    assert_eq!(events.iter().filter(|(action, ..)| action == "account.second_factor.reset").count(), 1, "{events:?}");

    let client = app.client();
    app.login(&client, "alice", PASSWORD).await;
    assert_eq!(app.current_account(&client).await.as_deref(), Some("alice"), "the password alone signs in");
}

// Multi-threaded, so the two sign-ins really overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sign_ins_racing_with_the_same_code_let_one_in() {
    let app = spawn_app().await;
    let (secret, _) = alice_with_an_app(&app).await;
    let current = code(&app, &secret, 0);
    for round in 0..5 {
        let (first, second) = (password_step(&app).await, password_step(&app).await);
        let form = [("code", current.as_str())];
        let (a, b) =
            tokio::join!(call(&app, &first, "second_factor", &form), call(&app, &second, "second_factor", &form));
        let signed_in = 2 - [a.0, b.0].iter().filter(|status| **status == 401).count();
        let expected = usize::from(round == 0);
        assert_eq!(signed_in, expected, "round {round}: {a:?} {b:?}");
    }
}

#[tokio::test]
async fn an_administrator_sees_the_second_factor_and_removes_it_from_the_web_app() {
    let app = spawn_app().await;
    alice_with_an_app(&app).await;
    app.create_account("boss", "all").await;
    let admin = app.client();
    app.login(&admin, "boss", PASSWORD).await;
    let editor = |admin: reqwest::Client| {
        let app = &app;
        async move {
            let (status, body) = call(app, &admin, "account_editor", &[("name", "alice")]).await;
            assert_eq!(status, 200, "{body}");
            serde_json::from_str::<serde_json::Value>(&body).unwrap()["account"]["second_factor"].as_bool()
        }
    };
    assert_eq!(editor(admin.clone()).await, Some(true));
    let (status, body) = call(&app, &admin, "reset_second_factors", &[("name", "alice")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(editor(admin.clone()).await, Some(false));
    let events = app.audit_actions().await;
    assert!(
        events
            .iter()
            .any(|(action, target, _)| action == "account.second_factor.reset" && target.as_deref() == Some("alice"))
    );
}

#[tokio::test]
async fn the_policy_holds_covered_accounts_to_setting_up_a_second_factor_and_api_tokens_keep_working() {
    let app = spawn_app().await;
    app.create_account("boss", "all").await;
    app.create_account("bob", "manage-api-tokens").await;
    let token = app.simple_token("bob", "deploy", &["manage-api-tokens"]).await;
    let admin = app.client();
    app.login(&admin, "boss", PASSWORD).await;
    let set = |required: &'static str, privileges: &'static str| {
        let (app, admin) = (&app, admin.clone());
        async move {
            call(app, &admin, "set_second_factor_policy", &[("required", required), ("privileges", privileges)]).await
        }
    };

    // Bad input is a 422 naming the field, and changes nothing; only holders of `all` set it.
    for (required, privileges, field) in
        [("sometimes", "", "required"), ("holding", "", "privileges"), ("holding", "no-such-privilege", "privileges")]
    {
        let (status, body) = set(required, privileges).await;
        assert_eq!(
            (status, error_of(&body).for_field(field).is_some()),
            (422, true),
            "{required} {privileges}: {body}"
        );
    }
    let bob = app.client();
    app.login(&bob, "bob", PASSWORD).await;
    let (status, body) =
        call(&app, &bob, "set_second_factor_policy", &[("required", "everyone"), ("privileges", "")]).await;
    assert_eq!((status, error_of(&body)), (403, AppError::Forbidden("all".into())));

    // Holders of `all` only: bob is not covered.
    let (status, body) = set("holding", "all").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(call(&app, &bob, "token_form_options", &[]).await.0, 200);
    // The administrator is covered, has no second factor, and is held to setting one up, even this policy page.
    let (status, body) = call(&app, &admin, "second_factor_policy", &[]).await;
    assert_eq!((status, error_of(&body)), (403, AppError::SecondFactorRequired));

    // Everyone (by the operator: the administrator, held now, cannot change it in the app).
    app::services::second_factor::set_policy(&app.state, &Actor::operator(), "everyone", "").await.unwrap();
    let (status, body) = call(&app, &bob, "token_form_options", &[]).await;
    assert_eq!((status, error_of(&body)), (403, AppError::SecondFactorRequired), "held from the next request on");
    let (status, body) = call(&app, &bob, "current_account", &[]).await;
    assert_eq!(status, 200);
    let view: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((view["username"].as_str(), view["must_enrol"].as_bool()), (Some("bob"), Some(true)));
    // API tokens are not affected.
    let response = app.get_with("/api/v1/auth?privilege=manage-api-tokens", &format!("Bearer {token}")).await;
    assert_eq!(response.status(), 200);

    // Setting up the app is allowed, and afterwards everything is.
    let (status, body) = call(&app, &bob, "start_totp", &[]).await;
    assert_eq!(status, 200, "{body}");
    let secret = serde_json::from_str::<serde_json::Value>(&body).unwrap()["secret"].as_str().unwrap().to_owned();
    let (status, body) = call(&app, &bob, "confirm_totp", &[("code", &code(&app, &secret, 0))]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(call(&app, &bob, "token_form_options", &[]).await.0, 200);
    let (_, body) = call(&app, &bob, "current_account", &[]).await;
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["must_enrol"], false);

    let events = app.audit_actions().await;
    assert_eq!(
        events
            .iter()
            .filter(|(action, ..)| action == "policy.second_factor")
            .map(|(_, target, _)| target.clone())
            .collect::<Vec<_>>(),
        [Some("everyone".to_owned()), Some("holding:all".to_owned())],
        "only the accepted changes are recorded (newest first)"
    );
}

/// Creates a token through the web app's server function, as the create form does.
async fn create_in_web_app(app: &TestApp, client: &reqwest::Client, name: &str, privilege: &str) -> (u16, String) {
    let form = [
        ("token[name]", name),
        ("token[expires]", "never"),
        ("token[allowlist]", ""),
        ("token[privileges][0]", privilege),
    ];
    call(app, client, "create_token", &form).await
}

#[tokio::test]
async fn a_dangerous_privilege_long_after_signing_in_asks_for_the_password_or_a_code_again() {
    let app = spawn_app().await;
    let (secret, _) = alice_with_an_app(&app).await;
    app.sql("UPDATE accounts SET privileges = 'all' WHERE username = 'alice'").await;
    let client = password_step(&app).await;
    call(&app, &client, "second_factor", &[("code", &code(&app, &secret, 0))]).await;
    assert_eq!(app.current_account(&client).await.as_deref(), Some("alice"));

    // Just signed in: a dangerous privilege (manage-api-tokens) is given at once.
    let (status, body) = create_in_web_app(&app, &client, "fresh", "manage-api-tokens").await;
    assert_eq!(status, 200, "{body}");

    // Eleven minutes on: it asks again, and nothing is created; a harmless privilege does not ask.
    app.clock.advance(Duration::minutes(11));
    let (status, body) = create_in_web_app(&app, &client, "later", "manage-api-tokens").await;
    assert_eq!((status, error_of(&body)), (403, AppError::ConfirmationRequired));
    assert!(app.token_row("later").await.is_none());
    assert_eq!(create_in_web_app(&app, &client, "harmless", "list-accts").await.0, 200);
    // Editing only the allowlist of a token that already holds it does not ask either.
    let (status, body) = call(
        &app,
        &client,
        "update_token",
        &[("name", "fresh"), ("allowlist", "192.0.2.0/24"), ("privileges[0]", "manage-api-tokens")],
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // A wrong password is refused next to the field (and counts as a failed sign-in); the right one confirms.
    let (status, body) = call(&app, &client, "confirm_identity", &[("proof", "not-the-password")]).await;
    assert_eq!((status, error_of(&body).for_field("confirmation").is_some()), (422, true), "{body}");
    let (status, body) = call(&app, &client, "confirm_identity", &[("proof", PASSWORD)]).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = create_in_web_app(&app, &client, "later", "manage-api-tokens").await;
    assert_eq!(status, 200, "{body}");

    // Later again: a code from the authenticator app confirms too.
    app.clock.advance(Duration::minutes(11));
    assert_eq!(create_in_web_app(&app, &client, "third", "all").await.0, 403);
    let (status, body) = call(&app, &client, "confirm_identity", &[("proof", &code(&app, &secret, 0))]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(create_in_web_app(&app, &client, "third", "all").await.0, 200);

    let events = app.audit_actions().await;
    let confirmations: Vec<_> = events
        .iter()
        .filter(|(action, ..)| action == "session.confirm")
        .map(|(_, _, outcome)| outcome.as_str())
        .collect();
    assert_eq!(confirmations, ["success", "success", "failure"], "newest first");
}
