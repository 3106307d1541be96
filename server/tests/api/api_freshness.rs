//! The verification cache never answers from stale data (issues 5 and 12): a token verified (and so held in
//! memory) a moment ago is refused once it is revoked, its owner suspended, renamed or deprived of a privilege,
//! whoever made the change: a separate database connection, or the `tessera` command line in another process.
//! On SQLite the first request made a millisecond after the change sees it; on PostgreSQL, where the change arrives
//! as a notification on commit, within a second (a few milliseconds in practice). Also `/metrics` over real HTTP.

use crate::common::{Backend, TestApp, backend, spawn_app};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use std::time::{Duration, Instant};

const AUTH: &str = "/api/v1/auth?privilege=list-accts";

/// A connection of its own to the server's database, as another process (or instance) would have.
async fn elsewhere(app: &TestApp) -> DatabaseConnection {
    app::store::connect(&app.database_url).await.expect("second connection")
}

async fn exec(db: &DatabaseConnection, statement: &str) {
    db.execute_unprepared(statement).await.expect("sql");
}

/// alice (list-accts, manage-api-tokens) with token `ci` (list-accts), verified twice so it is held in memory.
async fn verified_token(app: &TestApp) -> String {
    app.create_account("alice", "list-accts manage-api-tokens").await;
    let secret = app.simple_token("alice", "ci", &["list-accts"]).await;
    let hits = app.cache_hits();
    for _ in 0..2 {
        assert_eq!(app.get_with(AUTH, &format!("Bearer {secret}")).await.status(), 200);
    }
    assert_eq!(app.cache_hits(), hits + 1, "the second verification is answered from memory");
    assert_eq!(app.state.token_lookup.cached_entries(), Some(1));
    secret
}

async fn answers_soon(app: &TestApp, authorization: &str, status: u16) -> reqwest::Response {
    app.answers_soon(AUTH, authorization, status).await
}

#[tokio::test]
async fn a_revocation_through_another_connection_refuses_the_next_request() {
    let app = spawn_app().await;
    let secret = verified_token(&app).await;
    let db = elsewhere(&app).await;
    let alice = app::store::accounts::find_by_name(&db, "alice").await.unwrap().unwrap();
    let revoked = app::store::tokens::delete_by_names(&db, alice.id, &["ci".to_owned()]).await.unwrap();
    assert_eq!(revoked, ["ci"]);
    answers_soon(&app, &format!("Bearer {secret}"), 401).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_by_the_command_line_refuses_the_next_request() {
    let app = spawn_app().await;
    let secret = verified_token(&app).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["token", "revoke", "--account", "alice", "ci"])
        .env("DATABASE_URL", &app.database_url)
        .env_remove("RUST_LOG")
        .output()
        .expect("run tessera");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    answers_soon(&app, &format!("Bearer {secret}"), 401).await;
}

#[tokio::test]
async fn suspending_the_owner_directly_in_the_database_refuses_the_next_request() {
    let app = spawn_app().await;
    let secret = verified_token(&app).await;
    exec(&elsewhere(&app).await, "UPDATE accounts SET suspended = true WHERE username_key = 'alice'").await;
    answers_soon(&app, &format!("Bearer {secret}"), 401).await;
    exec(&elsewhere(&app).await, "UPDATE accounts SET suspended = false WHERE username_key = 'alice'").await;
    answers_soon(&app, &format!("Bearer {secret}"), 200).await;
}

#[tokio::test]
async fn removing_a_privilege_from_the_owner_or_the_token_refuses_the_next_request() {
    let app = spawn_app().await;
    let secret = verified_token(&app).await;
    let db = elsewhere(&app).await;
    exec(&db, "UPDATE accounts SET privileges = 'manage-api-tokens' WHERE username_key = 'alice'").await;
    answers_soon(&app, &format!("Bearer {secret}"), 403).await;

    exec(&db, "UPDATE accounts SET privileges = 'list-accts manage-api-tokens' WHERE username_key = 'alice'").await;
    answers_soon(&app, &format!("Bearer {secret}"), 200).await;
    exec(&db, "UPDATE tokens SET privileges = 'manage-api-tokens' WHERE name = 'ci'").await;
    answers_soon(&app, &format!("Bearer {secret}"), 403).await;
}

#[tokio::test]
async fn renaming_the_owner_elsewhere_applies_to_the_next_request() {
    let app = spawn_app().await;
    let secret = verified_token(&app).await;
    assert_eq!(app.get_with(AUTH, &format!("cpanel alice:{secret}")).await.status(), 200);
    exec(&elsewhere(&app).await, "UPDATE accounts SET username = 'carol', username_key = 'carol'").await;
    answers_soon(&app, &format!("cpanel alice:{secret}"), 401).await;
    let response = app.get_with(AUTH, &format!("cpanel carol:{secret}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-tessera-user"], "carol");
}

#[tokio::test]
async fn an_allowlist_set_elsewhere_applies_to_the_next_request() {
    let app = spawn_app().await;
    let secret = verified_token(&app).await;
    exec(&elsewhere(&app).await, "UPDATE tokens SET allowlist = '192.0.2.1' WHERE name = 'ci'").await;
    answers_soon(&app, &format!("Bearer {secret}"), 403).await;
}

#[tokio::test]
async fn last_use_writes_keep_tokens_in_memory() {
    let app = spawn_app().await;
    let secret = verified_token(&app).await;
    exec(&elsewhere(&app).await, "UPDATE tokens SET last_used_at = '2026-11-22T10:00:00+00:00', last_used_ip = '::1'")
        .await;
    // Time for a notification, had one been sent (PostgreSQL).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let hits = app.cache_hits();
    assert_eq!(app.get_with(AUTH, &format!("Bearer {secret}")).await.status(), 200);
    assert_eq!(app.cache_hits(), hits + 1, "last-use writes do not empty the cache");

    exec(&elsewhere(&app).await, "UPDATE tokens SET name = 'ci2', name_key = 'ci2'").await;
    let response = answers_soon(&app, &format!("Bearer {secret}"), 200).await;
    let started = Instant::now();
    let mut name = response.headers()["x-tessera-token"].to_str().unwrap().to_owned();
    while name != "ci2" && started.elapsed() < Duration::from_secs(1) {
        let response = app.get_with(AUTH, &format!("Bearer {secret}")).await;
        name = response.headers()["x-tessera-token"].to_str().unwrap().to_owned();
    }
    assert_eq!(name, "ci2", "a rename elsewhere empties the cache");
    if backend() == Backend::Sqlite {
        assert_eq!(response.headers()["x-tessera-token"], "ci2", "on SQLite, at once");
    }
}

#[tokio::test]
async fn every_token_column_but_last_use_is_watched() {
    use app::store::migrations::m0003_verification_generation::{TOKEN_COLUMNS, TOKEN_COLUMNS_NOT_WATCHED};
    let app = spawn_app().await;
    let sql = match backend() {
        Backend::Sqlite => "SELECT name FROM pragma_table_info('tokens')",
        Backend::Postgres => {
            "SELECT column_name::text AS name FROM information_schema.columns WHERE table_name = 'tokens'"
        }
    };
    let db_backend = app.state.db.get_database_backend();
    let rows = app.state.db.query_all_raw(sea_orm::Statement::from_string(db_backend, sql)).await.unwrap();
    let mut columns: Vec<String> = rows.iter().map(|r| r.try_get::<String>("", "name").unwrap()).collect();
    columns.sort();
    use app::store::migrations::m0007_usage::WATCHED_TOKEN_COLUMNS;
    let mut listed: Vec<String> = TOKEN_COLUMNS
        .iter()
        .chain(TOKEN_COLUMNS_NOT_WATCHED)
        .chain(WATCHED_TOKEN_COLUMNS)
        .map(|c| (*c).to_owned())
        .collect();
    listed.sort();
    assert_eq!(columns, listed, "a new token column must be added to the triggers (m0003, m0005) or exempted in m0003");
}

#[tokio::test]
async fn metrics_count_verifications_by_outcome_and_responses_by_class() {
    let app = spawn_app().await;
    let secret = verified_token(&app).await;
    assert_eq!(app.get_with("/api/v1/auth?privilege=kill-acct", &format!("Bearer {secret}")).await.status(), 403);
    assert_eq!(app.get_with(AUTH, "Bearer tsr_short").await.status(), 401);
    let unknown = app::domain::TokenSecret::generate();
    assert_eq!(app.get_with(AUTH, &format!("Bearer {}", unknown.expose())).await.status(), 401);

    let response = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = response.text().await.unwrap();
    for line in [
        "tessera_api_verifications_total{outcome=\"ok\"} 2",
        "tessera_api_verifications_total{outcome=\"forbidden\"} 1",
        "tessera_api_verifications_total{outcome=\"malformed\"} 1",
        "tessera_api_verifications_total{outcome=\"invalid\"} 1",
        "tessera_http_requests_total{class=\"2xx\"} 2",
        "tessera_http_requests_total{class=\"4xx\"} 3",
        "tessera_verification_cache_entries 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
    }

    assert_eq!(app.get_with(AUTH, &format!("Bearer {secret}")).await.status(), 200);
    let text = reqwest::get(app.url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(text.contains("tessera_api_verifications_total{outcome=\"ok\"} 3\n"), "{text}");
    // The first scrape was counted too.
    assert!(text.contains("tessera_http_requests_total{class=\"2xx\"} 4\n"), "{text}");
    // SQLite's memory (its page caches and statements: some, after those reads) is shown on SQLite only.
    let sqlite_bytes = text
        .lines()
        .find_map(|line| line.strip_prefix("tessera_sqlite_memory_bytes "))
        .map(|bytes| bytes.parse::<i64>().expect("a number of bytes"));
    match crate::common::backend() {
        crate::common::Backend::Sqlite => assert!(sqlite_bytes.is_some_and(|bytes| bytes > 0), "{text}"),
        crate::common::Backend::Postgres => assert_eq!(sqlite_bytes, None, "{text}"),
    }
}
