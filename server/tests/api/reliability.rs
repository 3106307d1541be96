//! Reliability (issue 16): one request is one change, kept whole or not at all; paging never reaches the
//! database's integer limits; a panic in a handler is a 500 in the API's envelope, not a dropped connection; and
//! acknowledged writes survive `kill -9`.

use crate::common::{Backend, LoggedServer, PASSWORD, TestApp, backend, fresh_database_blocking, spawn_app};
use app::{
    error::AppError,
    services::{Actor, accounts, password::Password, privileges, tokens},
};
use serde_json::{Value, json};
use std::time::Duration;

/// Makes every audit insert fail, as a full disk or a broken table would at that moment.
async fn break_the_audit_log(app: &TestApp) {
    match backend() {
        Backend::Sqlite => {
            app.sql(
                "CREATE TRIGGER audit_fails BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'no space'); END",
            )
            .await
        }
        Backend::Postgres => {
            app.sql(
                "CREATE FUNCTION audit_fails() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION 'no space'; END $$",
            )
            .await;
            app.sql(
                "CREATE TRIGGER audit_fails BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_fails()",
            )
            .await;
        }
    }
}

async fn mend_the_audit_log(app: &TestApp) {
    match backend() {
        Backend::Sqlite => app.sql("DROP TRIGGER audit_fails").await,
        Backend::Postgres => app.sql("DROP TRIGGER audit_fails ON audit_events").await,
    }
}

#[tokio::test]
async fn a_change_whose_audit_event_cannot_be_written_leaves_nothing_behind() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    app.create_account("bob", "list-accts").await;
    let secret = app.simple_token("alice", "keep", &["list-accts"]).await;
    let alice = Actor::operator_for(app.account_row("alice").await);
    let operator = Actor::operator();
    let today = tokens::today(&app.state);
    let spec = |name: &str| {
        app::model::tokens::NewToken {
            name: name.into(),
            expires: "never".into(),
            allowlist: String::new(),
            privileges: vec!["list-accts".into()],
            rate_limit: String::new(),
        }
        .parse(today)
        .unwrap()
    };
    let events_before = app.audit_actions().await.len();
    break_the_audit_log(&app).await;
    let state = &app.state;

    let internal = |result: Result<(), AppError>, what: &str| assert_eq!(result, Err(AppError::Internal), "{what}");
    internal(tokens::create(state, &alice, spec("new")).await.map(drop), "create");
    internal(tokens::rename(state, &alice, "keep", "renamed").await.map(drop), "rename");
    let only_manage = ["manage-api-tokens".to_owned()];
    internal(tokens::update(state, &alice, "keep", None, Some(&only_manage)).await.map(drop), "update");
    let both =
        tokens::TokenEdit { name: Some("renamed"), allowlist: None, privileges: Some(&only_manage), rate_limit: None };
    internal(tokens::edit(state, &alice, "keep", both).await.map(drop), "rename and update");
    internal(tokens::rotate(state, &alice, "keep", None, 0).await.map(drop), "rotate");
    internal(tokens::revoke(state, &alice, &["keep".to_owned()]).await.map(drop), "revoke");
    internal(tokens::revoke_all(state, &alice).await.map(drop), "revoke all");
    let name = crate::common::account_name("carol");
    let password = || Password::new(PASSWORD.into());
    internal(accounts::create(state, &operator, &name, password(), &["list-accts".into()]).await.map(drop), "account");
    internal(accounts::set_suspended(state, &operator, "bob", true).await.map(drop), "suspend");
    internal(
        accounts::rename(state, &operator, "bob", &crate::common::account_name("robert")).await.map(drop),
        "rename",
    );
    internal(accounts::set_privileges(state, &operator, "bob", &["passwd".into()]).await.map(drop), "privileges");
    internal(
        accounts::reset_password(state, &operator, "bob", Password::new("another-password-9".into())).await,
        "passwd",
    );
    internal(accounts::delete(state, &operator, "bob").await.map(drop), "delete account");
    internal(privileges::add(state, &operator, "billing:read", "Billing", false).await.map(drop), "add privilege");

    // Nothing of any of them happened.
    let token = app.token_row("keep").await.expect("still there, under its old name");
    assert_eq!(token.privileges, "list-accts");
    assert!(app.token_row("new").await.is_none() && app.token_row("renamed").await.is_none());
    assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status(), 200, "the old secret works");
    assert!(app.account_row_opt("carol").await.is_none());
    let bob = app.account_row("bob").await;
    assert!(!bob.suspended);
    assert_eq!(bob.privileges, "list-accts");
    // Counted while the log still refuses inserts: once mended, the usage writer records the verification above
    // (a first address) in the background.
    assert_eq!(app.audit_actions().await.len(), events_before);
    mend_the_audit_log(&app).await;
    assert!(app.login(&app.client(), "bob", PASSWORD).await.status().is_success(), "bob's password is unchanged");
    assert!(privileges::catalog(state).await.unwrap().get("billing:read").is_none());

    // And with the log mended, each works, with its event.
    tokens::edit(
        state,
        &alice,
        "keep",
        tokens::TokenEdit { name: Some("renamed"), allowlist: None, privileges: Some(&only_manage), rate_limit: None },
    )
    .await
    .unwrap();
    let actions: Vec<String> = app.audit_actions().await.into_iter().map(|(action, ..)| action).collect();
    assert!(
        actions.contains(&"token.rename".to_owned()) && actions.contains(&"token.update".to_owned()),
        "{actions:?}"
    );
}

#[tokio::test]
async fn an_edit_refused_in_its_second_part_leaves_the_first_undone_on_every_api() {
    let app = spawn_app().await;
    app.create_account("alice", "manage-api-tokens list-accts").await;
    let admin = app.simple_token("alice", "admin", &["manage-api-tokens", "list-accts"]).await;
    app.simple_token("alice", "ci", &["list-accts"]).await;

    // WHM: a rename with a privilege alice does not hold.
    let (status, body) = app
        .whm(&format!("whm alice:{admin}"), "api_token_update?api.version=1&token_name=ci&new_name=ci2&acl=kill-acct")
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["metadata"]["result"], 0, "{body}");
    assert!(app.token_row("ci").await.is_some(), "the rename was not kept");
    assert!(app.token_row("ci2").await.is_none());

    // Native API: the same in one PATCH.
    let response = reqwest::Client::new()
        .patch(app.url("/api/v1/tokens/ci"))
        .bearer_auth(&admin)
        .json(&json!({"name": "ci3", "privileges": ["kill-acct"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert!(app.token_row("ci").await.is_some() && app.token_row("ci3").await.is_none());
    let actions: Vec<String> = app.audit_actions().await.into_iter().map(|(action, ..)| action).collect();
    assert!(!actions.contains(&"token.rename".to_owned()), "{actions:?}");

    // Both parts valid: both done, in one answer.
    let response = reqwest::Client::new()
        .patch(app.url("/api/v1/tokens/ci"))
        .bearer_auth(&admin)
        .json(&json!({"name": "ci4", "allowlist": ["10.0.0.0/8"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!((body["name"].as_str(), body["allowlist"][0].as_str()), (Some("ci4"), Some("10.0.0.0/8")));
}

#[tokio::test]
async fn a_page_past_the_last_possible_one_is_a_clear_error_everywhere_never_a_dropped_connection() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let admin = app.simple_token("alice", "admin", &["all"]).await;
    for page in ["9223372036854775808", "9223372036854775807", "1000001"] {
        let response = app.get_with(&format!("/api/v1/tokens?page={page}"), &format!("Bearer {admin}")).await;
        assert_eq!(response.status(), 422, "page {page}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["field"], "page");
        assert!(body["message"].as_str().unwrap().contains("from 1 to 1000000"), "{body}");
    }
    assert_eq!(app.get_with("/api/v1/tokens?page=1000000", &format!("Bearer {admin}")).await.status(), 200);

    // The web app's lists: the page answers (with the list's error), instead of never answering.
    let client = reqwest::Client::builder().cookie_store(true).timeout(Duration::from_secs(20)).build().unwrap();
    assert!(app.login(&client, "alice", PASSWORD).await.status().is_success());
    for path in
        ["/tokens?page=9223372036854775808", "/accounts?page=9223372036854775808", "/audit?page=9223372036854775808"]
    {
        let response = client.get(app.url(path)).header("accept", "text/html").send().await.expect(path);
        assert!(response.status().is_success(), "{path}: {}", response.status());
        let html = response.text().await.unwrap();
        assert!(html.contains("</html>"), "{path}: the page is complete");
    }
}

/// Starts the server on `url`, waits for it, signs in as admin: the client.
async fn started(server: &LoggedServer) -> reqwest::Client {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    for _ in 0..100 {
        if client.get(format!("{}/healthz", server.base)).send().await.is_ok() {
            return client;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not come back: {}", server.log());
}

#[test]
fn acknowledged_writes_survive_kill_dash_nine_twenty_times_in_a_row() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_blocking(dir.path());
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(args)
            .env("DATABASE_URL", &url)
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };
    assert!(cli(&["account", "create", "alice", "--privileges", "manage-api-tokens,list-accts"]).status.success());
    let out = cli(&[
        "token",
        "create",
        "--account",
        "alice",
        "--name",
        "writer",
        "--expires",
        "never",
        "--privilege",
        "manage-api-tokens",
        "--privilege",
        "list-accts",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let writer = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut created: Vec<(String, String)> = Vec::new(); // acknowledged: (name, secret)
    let mut revoked: Vec<String> = Vec::new(); // acknowledged revocations: their secrets
    let mut accounts_made: Vec<String> = Vec::new();
    for round in 0..20 {
        let log_dir = tempfile::tempdir().unwrap();
        let mut server = LoggedServer::spawn(&url, log_dir.path(), &[]);
        runtime.block_on(async {
            let client = started(&server).await;
            // Everything acknowledged before this round's kill is there, and every revoked token stays refused.
            check(&client, &server.base, &writer, &created, &revoked).await;
            // Concurrent writes: creates, then revokes of half of them, and accounts from the command line.
            let base = server.base.clone();
            let writes = (0..6).map(|i| {
                let (client, base, writer) = (client.clone(), base.clone(), writer.clone());
                async move {
                    let name = format!("r{round}-{i}");
                    let body = json!({"name": name, "expires": "never", "privileges": ["list-accts"]});
                    let response =
                        client.post(format!("{base}/api/v1/tokens")).bearer_auth(&writer).json(&body).send().await;
                    match response {
                        Ok(r) if r.status() == 201 => {
                            let issued: Value = r.json().await.unwrap_or_default();
                            issued["secret"].as_str().map(|secret| (name, secret.to_owned()))
                        }
                        _ => None,
                    }
                }
            });
            let made: Vec<(String, String)> =
                futures_util::future::join_all(writes).await.into_iter().flatten().collect();
            for (name, secret) in &made {
                if name.ends_with('0') || name.ends_with('2') {
                    let url = format!("{base}/api/v1/tokens/{name}");
                    if let Ok(r) = client.delete(url).bearer_auth(&writer).send().await
                        && r.status() == 204
                    {
                        revoked.push(secret.clone());
                        continue;
                    }
                }
                created.push((name.clone(), secret.clone()));
            }
        });
        let account = format!("acct{round}");
        if cli(&["account", "create", &account, "--privileges", "list-accts"]).status.success() {
            accounts_made.push(account);
        }
        // More writes in flight, then the kill at a moment that varies from round to round.
        let in_flight = {
            let (base, writer) = (server.base.clone(), writer.clone());
            runtime.spawn(async move {
                let client = reqwest::Client::new();
                for i in 0..50 {
                    let body =
                        json!({"name": format!("f{round}-{i}"), "expires": "never", "privileges": ["list-accts"]});
                    let _ = client.post(format!("{base}/api/v1/tokens")).bearer_auth(&writer).json(&body).send().await;
                }
            })
        };
        std::thread::sleep(Duration::from_millis(5 + (round as u64 * 37) % 120));
        server.kill();
        let _ = runtime.block_on(in_flight);
    }
    // The last restart: the database is whole, and everything acknowledged is there.
    let log_dir = tempfile::tempdir().unwrap();
    let server = LoggedServer::spawn(&url, log_dir.path(), &[]);
    runtime.block_on(async {
        let client = started(&server).await;
        check(&client, &server.base, &writer, &created, &revoked).await;
        let core = crate::common::state_on(&url).await;
        if backend() == Backend::Sqlite {
            use sea_orm::ConnectionTrait;
            let row = core
                .db
                .query_one_raw(sea_orm::Statement::from_string(
                    core.db.get_database_backend(),
                    "PRAGMA integrity_check",
                ))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(row.try_get_by_index::<String>(0).unwrap(), "ok");
        }
        for account in &accounts_made {
            assert!(
                app::store::accounts::find_by_name(&core.db, account).await.unwrap().is_some(),
                "{account} is gone"
            );
        }
        // Nothing half there: every token has its creation in the audit log, and every creation in the log whose
        // token was not revoked has its token.
        let events = app::store::audit::recent(&core.db, 100_000).await.unwrap();
        let alice = app::store::accounts::find_by_name(&core.db, "alice").await.unwrap().unwrap();
        let (rows, _) = app::store::tokens::page(
            &core.db,
            alice.id,
            Default::default(),
            app::domain::TokenSort::Name,
            false,
            0,
            100_000,
        )
        .await
        .unwrap();
        for token in &rows {
            assert!(
                events.iter().any(|e| e.action == "token.create" && e.target.as_deref() == Some(token.name.as_str()))
                    || token.name == "writer",
                "{} exists without its audit event",
                token.name
            );
        }
        for event in events.iter().filter(|e| e.action == "token.create") {
            let name = event.target.as_deref().unwrap_or_default();
            let revoked_later = events.iter().any(|e| e.action == "token.revoke" && e.target.as_deref() == Some(name));
            assert!(
                revoked_later || rows.iter().any(|t| t.name == name),
                "{name} was logged as created but is not there"
            );
        }
        assert!(created.len() >= 40, "too few acknowledged writes to mean anything: {}", created.len());
    });
}

async fn check(client: &reqwest::Client, base: &str, writer: &str, created: &[(String, String)], revoked: &[String]) {
    let response = client.get(format!("{base}/api/v1/tokens?per_page=100")).bearer_auth(writer).send().await.unwrap();
    assert_eq!(response.status(), 200);
    for (name, secret) in created {
        let status = client.get(format!("{base}/api/v1/auth")).bearer_auth(secret).send().await.unwrap().status();
        assert_eq!(status, 200, "the acknowledged token {name} does not work after a kill");
    }
    for secret in revoked {
        let status = client.get(format!("{base}/api/v1/auth")).bearer_auth(secret).send().await.unwrap().status();
        assert_eq!(status, 401, "a token revoked before a kill works again");
    }
}
