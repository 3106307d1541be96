//! The fast verification path never answers from stale data (issue 5): a token verified (and so held in memory)
//! a moment ago is refused by the very next request once it is revoked, its owner suspended, renamed or
//! deprived of a privilege, whoever made the change: a separate database connection, or the `tessera` command
//! line in another process. Also `/metrics` over real HTTP.

use crate::common::{TestApp, spawn_app};
use sea_orm::{ConnectionTrait, DatabaseConnection};

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
    for _ in 0..2 {
        assert_eq!(app.get_with(AUTH, &format!("Bearer {secret}")).await.status(), 200);
    }
    let reader = app.state.token_reader.as_ref().expect("SQLite files get the fast reader");
    assert_eq!(reader.cached_entries(), 1, "the token is now answered from memory");
    assert!(reader.watches_wal_index(), "commits are seen through the WAL index, the fastest path");
    secret
}

#[tokio::test]
async fn a_revocation_through_another_connection_refuses_the_next_request() {
    let app = spawn_app().await;
    let secret = verified_token(&app).await;
    let db = elsewhere(&app).await;
    let alice = app::store::accounts::find_by_name(&db, "alice").await.unwrap().unwrap();
    let revoked = app::store::tokens::delete_by_names(&db, alice.id, &["ci".to_owned()]).await.unwrap();
    assert_eq!(revoked, ["ci"]);
    assert_eq!(app.get_with(AUTH, &format!("Bearer {secret}")).await.status(), 401);
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
    assert_eq!(app.get_with(AUTH, &format!("Bearer {secret}")).await.status(), 401);
}

#[tokio::test]
async fn suspending_the_owner_directly_in_the_database_refuses_the_next_request() {
    let app = spawn_app().await;
    let secret = verified_token(&app).await;
    exec(&elsewhere(&app).await, "UPDATE accounts SET suspended = true WHERE username_key = 'alice'").await;
    assert_eq!(app.get_with(AUTH, &format!("Bearer {secret}")).await.status(), 401);
    exec(&elsewhere(&app).await, "UPDATE accounts SET suspended = false WHERE username_key = 'alice'").await;
    assert_eq!(app.get_with(AUTH, &format!("Bearer {secret}")).await.status(), 200);
}

#[tokio::test]
async fn removing_a_privilege_from_the_owner_or_the_token_refuses_the_next_request() {
    let app = spawn_app().await;
    let secret = verified_token(&app).await;
    let db = elsewhere(&app).await;
    exec(&db, "UPDATE accounts SET privileges = 'manage-api-tokens' WHERE username_key = 'alice'").await;
    assert_eq!(app.get_with(AUTH, &format!("Bearer {secret}")).await.status(), 403);

    exec(&db, "UPDATE accounts SET privileges = 'list-accts manage-api-tokens' WHERE username_key = 'alice'").await;
    assert_eq!(app.get_with(AUTH, &format!("Bearer {secret}")).await.status(), 200);
    exec(&db, "UPDATE tokens SET privileges = 'manage-api-tokens' WHERE name = 'ci'").await;
    assert_eq!(app.get_with(AUTH, &format!("Bearer {secret}")).await.status(), 403);
}

#[tokio::test]
async fn renaming_the_owner_elsewhere_applies_to_the_next_request() {
    let app = spawn_app().await;
    let secret = verified_token(&app).await;
    assert_eq!(app.get_with(AUTH, &format!("cpanel alice:{secret}")).await.status(), 200);
    exec(&elsewhere(&app).await, "UPDATE accounts SET username = 'carol', username_key = 'carol'").await;
    assert_eq!(app.get_with(AUTH, &format!("cpanel alice:{secret}")).await.status(), 401);
    let response = app.get_with(AUTH, &format!("cpanel carol:{secret}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-tessera-user"], "carol");
}

#[tokio::test]
async fn an_allowlist_set_elsewhere_applies_to_the_next_request() {
    let app = spawn_app().await;
    let secret = verified_token(&app).await;
    exec(&elsewhere(&app).await, "UPDATE tokens SET allowlist = '192.0.2.1' WHERE name = 'ci'").await;
    assert_eq!(app.get_with(AUTH, &format!("Bearer {secret}")).await.status(), 403);
}

#[tokio::test]
async fn last_use_writes_keep_tokens_in_memory() {
    let app = spawn_app().await;
    let secret = verified_token(&app).await;
    let generation = || async {
        let row = app
            .state
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Sqlite,
                "SELECT value FROM verification_generation",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "value").unwrap()
    };
    let before = generation().await;
    exec(&elsewhere(&app).await, "UPDATE tokens SET last_used_at = '2026-11-22T10:00:00+00:00', last_used_ip = '::1'")
        .await;
    assert_eq!(generation().await, before, "last-use writes do not empty the cache");
    exec(&elsewhere(&app).await, "UPDATE tokens SET name = 'ci2', name_key = 'ci2'").await;
    assert!(generation().await > before);
    let response = app.get_with(AUTH, &format!("Bearer {secret}")).await;
    assert_eq!(response.headers()["x-tessera-token"], "ci2");
}

#[tokio::test]
async fn every_token_column_but_last_use_is_watched() {
    use app::store::migrations::m0003_verification_generation::{TOKEN_COLUMNS, TOKEN_COLUMNS_NOT_WATCHED};
    let app = spawn_app().await;
    let rows = app
        .state
        .db
        .query_all_raw(sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Sqlite, "PRAGMA table_info(tokens)"))
        .await
        .unwrap();
    let mut columns: Vec<String> = rows.iter().map(|r| r.try_get::<String>("", "name").unwrap()).collect();
    columns.sort();
    let mut listed: Vec<String> =
        TOKEN_COLUMNS.iter().chain(TOKEN_COLUMNS_NOT_WATCHED).map(|c| (*c).to_owned()).collect();
    listed.sort();
    assert_eq!(columns, listed, "a new token column must be added to the trigger (m0003) or exempted there");
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
}
