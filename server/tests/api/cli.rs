//! The `tessera account` command line, run as the real binary: output, exit codes, and use beside a running
//! server on the same database.

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

fn tessera(database_url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tessera");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("tessera output")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn temp_db() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::common::fresh_database_blocking(dir.path());
    (dir, url)
}

#[test]
fn create_with_password_from_stdin_then_list_as_json() {
    let (_dir, db) = temp_db();
    let out = tessera(
        &db,
        &["account", "create", "reseller-1", "--privileges", "manage-api-tokens,list-accts", "--password-stdin"],
        Some("s3cret-password\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Created account reseller-1.\n");
    // Nothing else: no warning either, such as SQLite refusing the allocator `main` gives it.
    assert_eq!(text(&out.stderr), "");

    let out = tessera(&db, &["account", "list", "--json"], None);
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["name"], "reseller-1");
    assert_eq!(list[0]["privileges"], serde_json::json!(["list-accts", "manage-api-tokens"]));
    assert_eq!(list[0]["suspended"], false);

    let out = tessera(&db, &["account", "list"], None);
    let table = text(&out.stdout);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(table.contains("reseller-1") && table.contains("active") && table.contains("list-accts,manage-api-tokens"));
}

#[test]
fn without_password_stdin_a_password_is_generated_and_shown_once() {
    let (_dir, db) = temp_db();
    let out = tessera(&db, &["account", "create", "bob", "--privileges", "all"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let password = stdout.lines().find_map(|l| l.strip_prefix("Password (shown only once): ")).unwrap();
    assert_eq!(password.len(), 20);
    assert!(!text(&out.stderr).contains(password), "the password must not reach the log");
}

#[test]
fn rule_violations_exit_1_with_the_rule_on_stderr_and_change_nothing() {
    let (_dir, db) = temp_db();
    let ok = tessera(
        &db,
        &["account", "create", "Alice", "--privileges", "passwd", "--password-stdin"],
        Some("long-enough\n"),
    );
    assert!(ok.status.success());

    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["account", "create", "alice", "--privileges", "passwd", "--password-stdin"],
            "long-enough\n",
            "already in use",
        ),
        (&["account", "create", "bad name", "--privileges", "passwd", "--password-stdin"], "long-enough\n", "“ ”"),
        (
            &["account", "create", &"x".repeat(51), "--privileges", "passwd", "--password-stdin"],
            "long-enough\n",
            "51 characters",
        ),
        (
            &["account", "create", "carol", "--privileges", "root", "--password-stdin"],
            "long-enough\n",
            "“root” is not a known privilege",
        ),
        (
            &["account", "create", "carol", "--privileges", ",", "--password-stdin"],
            "long-enough\n",
            "at least one privilege",
        ),
        (
            &["account", "create", "carol", "--privileges", "passwd", "--password-stdin"],
            "short\n",
            "at least 8 characters",
        ),
    ];
    for (args, stdin, message) in cases {
        let out = tessera(&db, args, Some(stdin));
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(text(&out.stderr).contains(message), "{args:?}: {}", text(&out.stderr));
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let out = tessera(&db, &["account", "list", "--json"], None);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "nothing was written: {list}");
}

#[test]
fn usage_errors_exit_2() {
    let (_dir, db) = temp_db();
    assert_eq!(tessera(&db, &["account", "create", "dave"], None).status.code(), Some(2));
    assert_eq!(tessera(&db, &["account", "frobnicate"], None).status.code(), Some(2));
    assert_eq!(tessera(&db, &["serve", "--addr", "not-an-address"], None).status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_works_beside_a_running_server_on_the_same_database() {
    let app = crate::common::spawn_app().await;
    let db = app.database_url.clone();
    let out = tokio::task::spawn_blocking(move || {
        tessera(
            &db,
            &["account", "create", "erin", "--privileges", "manage-api-tokens", "--password-stdin"],
            Some("erin-password\n"),
        )
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));

    let client = app.client();
    let response = app.login(&client, "erin", "erin-password").await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.current_account(&client).await.as_deref(), Some("erin"));
}

#[test]
fn token_create_prints_only_the_secret_then_list_rename_and_revoke() {
    let (_dir, db) = temp_db();
    let ok =
        tessera(&db, &["account", "create", "alice", "--privileges", "all", "--password-stdin"], Some("long-enough\n"));
    assert!(ok.status.success());

    let out = tessera(
        &db,
        &[
            "token",
            "create",
            "--account",
            "alice",
            "--name",
            "ci",
            "--expires",
            "never",
            "--ip",
            "10.0.0.0/8",
            "--ip",
            "192.0.2.1",
            "--privilege",
            "list-accts",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let secret = stdout.trim_end();
    assert_eq!(stdout, format!("{secret}\n"), "the secret alone on stdout");
    assert!(secret.starts_with("tsr_") && secret.len() == 42);

    let out =
        tessera(&db, &["token", "create", "--account", "alice", "--name", "dated", "--privilege", "passwd"], None);
    assert!(out.status.success(), "without --expires the default is one year: {}", text(&out.stderr));

    let out = tessera(&db, &["token", "list", "--account", "alice", "--json"], None);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["name"], "ci");
    assert_eq!(list[0]["expires_at"], serde_json::Value::Null);
    assert_eq!(list[0]["allowlist"], serde_json::json!(["10.0.0.0/8", "192.0.2.1"]));
    assert!(list[1]["expires_at"].is_string());
    assert!(!text(&out.stdout).contains(&secret[4..]));
    let table = text(&tessera(&db, &["token", "list", "--account", "alice"], None).stdout);
    assert!(table.contains("ci") && table.contains("never") && table.contains("10.0.0.0/8,192.0.2.1"), "{table}");

    let out = tessera(&db, &["token", "rename", "--account", "alice", "ci", "ci-2"], None);
    assert!(out.status.success());
    let out = tessera(&db, &["token", "revoke", "--account", "alice", "ci-2"], None);
    assert_eq!(text(&out.stdout), "Revoked ci-2.\n");
    let out = tessera(&db, &["token", "revoke", "--account", "alice", "--all"], None);
    assert_eq!(text(&out.stdout), "Revoked 1 token.\n");
}

#[test]
fn token_commands_refuse_bad_input_with_exit_1_and_write_nothing() {
    let (_dir, db) = temp_db();
    tessera(
        &db,
        &["account", "create", "bob", "--privileges", "manage-api-tokens", "--password-stdin"],
        Some("long-enough\n"),
    );
    let base = ["token", "create", "--account", "bob", "--name"];
    let cases: &[(&[&str], &str)] = &[
        (&["bad name", "--privilege", "manage-api-tokens"], "“ ”"),
        (&["ok", "--expires", "2026-02-30", "--privilege", "manage-api-tokens"], "not a date on the calendar"),
        (&["ok", "--expires", "2000-01-01", "--privilege", "manage-api-tokens"], "today or later"),
        (&["ok", "--ip", "999.1.1.1", "--privilege", "manage-api-tokens"], "999.1.1.1"),
        (&["ok", "--privilege", "kill-acct"], "does not hold it"),
        (&["ok"], "at least one privilege"),
    ];
    for (rest, message) in cases {
        let args: Vec<&str> = base.iter().chain(rest.iter()).copied().collect();
        let out = tessera(&db, &args, None);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(text(&out.stderr).contains(message), "{args:?}: {}", text(&out.stderr));
        assert!(out.stdout.is_empty());
    }
    let out = tessera(&db, &["token", "create", "--account", "nobody", "--name", "x", "--privilege", "passwd"], None);
    assert!(text(&out.stderr).contains("no account named “nobody”"));
    let out = tessera(&db, &["token", "rename", "--account", "bob", "missing", "x"], None);
    assert!(text(&out.stderr).contains("The API token “missing” does not exist."), "{}", text(&out.stderr));
    assert_eq!(tessera(&db, &["token", "revoke", "--account", "bob"], None).status.code(), Some(2), "names or --all");
    let out = tessera(&db, &["token", "list", "--account", "bob", "--json"], None);
    assert_eq!(text(&out.stdout).trim(), "[]");
}

#[test]
fn secrets_and_passwords_never_reach_the_server_log() {
    let (dir, db) = temp_db();
    let server = crate::common::LoggedServer::start(&db, dir.path());
    let base = server.base.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let secret = runtime.block_on(async {
        let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let login = client
            .post(format!("{base}/rpc/login"))
            .form(&[("username", "admin"), ("password", crate::common::LOGGED_ADMIN_PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 200);
        let created = client
            .post(format!("{base}/rpc/create_token"))
            .form(&[
                ("token[name]", "logged"),
                ("token[expires]", "never"),
                ("token[allowlist]", ""),
                ("token[privileges][0]", "all"),
            ])
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = created.json().await.unwrap();
        body["secret"].as_str().unwrap().to_owned()
    });
    let log_text = server.stop();
    assert!(log_text.contains("token created"), "the log is real and verbose: {log_text}");
    assert!(!log_text.contains(&secret[4..]), "the token secret is in the log");
    assert!(!log_text.contains(crate::common::LOGGED_ADMIN_PASSWORD), "the admin password is in the log");
    let cookie_lines = log_text.lines().filter(|l| l.contains("tessera_session=")).count();
    assert_eq!(cookie_lines, 0, "session cookies are in the log");
}

/// Runs `tessera ARGS` on the test server's database and answers stdout, asserting success.
fn ok(app: &crate::common::TestApp, args: &[&str]) -> String {
    let started = std::time::Instant::now();
    let out = tessera(&app.database_url, args, None);
    assert!(out.status.success(), "tessera {args:?} after {:?}: {}", started.elapsed(), text(&out.stderr));
    text(&out.stdout)
}

/// Runs `tessera ARGS`, asserting exit code 1, and answers stderr.
fn refused(app: &crate::common::TestApp, args: &[&str]) -> String {
    let out = tessera(&app.database_url, args, None);
    assert_eq!(out.status.code(), Some(1), "tessera {args:?}: {}", text(&out.stdout));
    text(&out.stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_commands_change_what_the_running_server_accepts() {
    let app = crate::common::spawn_app().await;
    app.create_account("admin", "all").await;
    app.create_account("shop", "manage-api-tokens list-accts").await;
    let token = app.simple_token("shop", "sync", &["list-accts"]).await;
    // The server hears of each command's change as another process's (see `TestApp::answers_soon`).
    let expect = |user: &'static str, status: u16| {
        let auth = format!("cpanel {user}:{token}");
        let app = &app;
        async move { app.answers_soon("/api/v1/auth?privilege=list-accts", &auth, status).await }
    };
    expect("shop", 200).await;

    assert!(ok(&app, &["account", "suspend", "shop"]).contains("Suspended shop"));
    expect("shop", 401).await;
    let stderr =
        refused(&app, &["token", "create", "--account", "shop", "--name", "more", "--privilege", "list-accts"]);
    assert!(stderr.contains("suspended"), "a suspended account cannot create tokens: {stderr}");
    ok(&app, &["account", "unsuspend", "shop"]);
    expect("shop", 200).await;

    ok(&app, &["account", "rename", "shop", "store"]);
    expect("store", 200).await;
    expect("shop", 401).await;

    assert!(
        ok(&app, &["account", "revoke-privilege", "store", "list-accts"])
            .contains("store now holds: manage-api-tokens")
    );
    expect("store", 403).await;
    ok(&app, &["account", "grant", "store", "list-accts"]);
    expect("store", 200).await;
    {
        let stderr = refused(&app, &["account", "grant", "store", "root"]);
        assert!(stderr.contains("“root” is not a known privilege"), "{stderr}");
    }
    {
        let stderr = refused(&app, &["account", "revoke-privilege", "store", "passwd"]);
        assert!(stderr.contains("does not hold “passwd”"), "{stderr}");
    }

    let out = ok(&app, &["account", "passwd", "store"]);
    let password = out.lines().find_map(|l| l.strip_prefix("Password (shown only once): ")).unwrap();
    assert_eq!(app.login(&app.client(), "store", password).await.status(), 200);

    assert_eq!(ok(&app, &["account", "delete", "store"]), "Deleted store and revoked 1 token.\n");
    expect("store", 401).await;

    {
        let stderr = refused(&app, &["account", "delete", "admin"]);
        assert!(stderr.contains("last administrator"), "{stderr}");
    }
    {
        let stderr = refused(&app, &["account", "suspend", "admin"]);
        assert!(stderr.contains("last administrator"), "{stderr}");
    }
    {
        let stderr = refused(&app, &["account", "revoke-privilege", "admin", "all"]);
        assert!(stderr.contains("would hold no privilege"), "{stderr}");
    }
    {
        let stderr = refused(&app, &["account", "suspend", "nobody"]);
        assert!(stderr.contains("no account named “nobody”"), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privilege_commands_define_list_and_remove_operator_privileges() {
    let app = crate::common::spawn_app().await;
    app.create_account("ops", "manage-api-tokens").await;
    assert_eq!(
        ok(&app, &["privilege", "add", "billing:read", "--label", "Read invoices"]),
        "Added privilege billing:read.\n"
    );
    ok(&app, &["privilege", "add", "billing:write", "--label", "Change invoices", "--dangerous"]);
    {
        let stderr = refused(&app, &["privilege", "add", "billing:read", "--label", "x"]);
        assert!(stderr.contains("already exists"), "{stderr}");
    }
    {
        let stderr = refused(&app, &["privilege", "add", "Bad Name", "--label", "x"]);
        assert!(stderr.contains("must start with a lower-case"), "{stderr}");
    }

    let list = ok(&app, &["privilege", "list"]);
    assert!(
        list.lines().any(|l| l.starts_with("billing:write") && l.contains("custom") && l.contains("yes")),
        "{list}"
    );
    assert!(list.lines().any(|l| l.starts_with("passwd") && l.contains("built-in")), "{list}");
    let json: serde_json::Value = serde_json::from_str(&ok(&app, &["privilege", "list", "--json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 12);

    ok(&app, &["account", "grant", "ops", "billing:read"]);
    let token = app.simple_token("ops", "invoices", &["billing:read"]).await;
    let auth = format!("Bearer {token}");
    assert_eq!(app.get_with("/api/v1/auth?privilege=billing:read", &auth).await.status(), 200);

    assert_eq!(
        ok(&app, &["privilege", "remove", "billing:read"]),
        "Removed privilege billing:read; taken from 1 account(s) and 1 token(s).\n"
    );
    // Another process's change: the server hears of it as such (on PostgreSQL, a notification on commit).
    app.answers_soon("/api/v1/auth?privilege=billing:read", &auth, 403).await;
    {
        let stderr = refused(&app, &["privilege", "remove", "passwd"]);
        assert!(stderr.contains("built-in"), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_prints_the_log_newest_first_as_a_table_or_json() {
    let app = crate::common::spawn_app().await;
    app.create_account("admin", "all").await;
    assert_eq!(app.login(&app.client(), "admin", "not-the-password").await.status(), 401);
    {
        let stderr = refused(&app, &["account", "suspend", "admin"]);
        assert!(stderr.contains("last administrator"), "{stderr}");
    }
    let json: serde_json::Value = serde_json::from_str(&ok(&app, &["audit", "--json"])).unwrap();
    let actions: Vec<_> = json.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
    assert_eq!(actions.first().map(String::as_str), Some("login"), "newest first: {actions:?}");
    assert!(actions.contains(&"account.create".to_owned()));

    let logins = ok(&app, &["audit", "--action", "login"]);
    assert!(logins.starts_with("TIME"), "{logins}");
    assert!(logins.contains("failure") && !logins.contains("account.create"), "{logins}");
    // The test server's clock says 2026-11-22: nothing happened a minute before now (the real clock).
    let recent: serde_json::Value = serde_json::from_str(&ok(&app, &["audit", "--since", "1m", "--json"])).unwrap();
    assert_eq!(recent, serde_json::json!([]));
    let since_date: serde_json::Value =
        serde_json::from_str(&ok(&app, &["audit", "--since", "2026-11-22", "--json"])).unwrap();
    assert!(!since_date.as_array().unwrap().is_empty());
    {
        let stderr = refused(&app, &["audit", "--since", "yesterday"]);
        assert!(stderr.contains("is not a time"), "{stderr}");
    }
    assert!(!ok(&app, &["audit"]).contains("not-the-password"), "never a password");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_leaked_revokes_from_stdin_says_what_each_secret_was_and_fails_on_a_bad_paste() {
    let app = crate::common::spawn_app().await;
    app.create_account("alice", "all").await;
    let leaked = app.simple_token("alice", "ci-deploy", &["list-accts"]).await;
    let unknown = app::domain::TokenSecret::generate().expose().to_owned();
    let input = format!("{leaked}\n\n{unknown}\n");
    let out = tessera(
        &app.database_url,
        &["token", "revoke-leaked", "-", "--url", "https://example.com/paste"],
        Some(&input),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("revoked: token “ci-deploy” of alice"), "{stdout}");
    assert!(stdout.contains("no token has this secret"), "{stdout}");
    assert!(!stdout.contains(&leaked), "the secret is not printed back whole");
    app.answers_soon("/api/v1/auth", &format!("Bearer {leaked}"), 401).await;
    assert!(app.database_text().await.contains("found at https://example.com/paste"));

    let again = refused(&app, &["token", "revoke-leaked", &leaked, "tsr_typo"]);
    assert!(again.contains("already revoked after an earlier report"), "{again}");
    assert!(again.contains("not a Tessera token"), "{again}");
}
