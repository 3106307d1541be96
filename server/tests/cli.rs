//! The `tessera account` command line, run as the real binary: output, exit codes, and use beside a running
//! server on the same database.

mod common;

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
    let url = format!("sqlite://{}/cli.db", dir.path().display());
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

#[tokio::test]
async fn the_cli_works_beside_a_running_server_on_the_same_database() {
    let app = common::spawn_app().await;
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
