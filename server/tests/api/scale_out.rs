//! Several instances on one database (issue 12): they start together, share sessions, names and last use, and a
//! revoke on one is refused by the others within a second, even when the change listener's connection was cut.
//! The tests that only PostgreSQL can answer run on the process's throw-away cluster in both passes of the suite;
//! the others run on the suite's backend (two servers may share one SQLite file too).

use crate::common::{
    LOGGED_ADMIN_PASSWORD, LoggedServer, PASSWORD, TestApp, TokenSpec, fresh_database, postgres, spawn_app,
    spawn_instance_of, state_on,
};
use app::{
    error::AppError,
    model::tokens::NewToken,
    services::{Actor, tokens},
};
use sea_orm::{ConnectionTrait, Statement};
use std::time::{Duration, Instant};

/// A server on a fresh database of the shared PostgreSQL cluster, whatever the suite's backend.
async fn spawn_app_on_postgres() -> TestApp {
    let url = postgres::shared_database().await;
    crate::common::spawn_app_at(url).await
}

async fn count(db: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

#[test]
fn three_instances_started_at_once_on_an_empty_database_all_come_up() {
    let url = tokio::runtime::Runtime::new().unwrap().block_on(postgres::shared_database());
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let servers: Vec<LoggedServer> = dirs.iter().map(|dir| LoggedServer::spawn(&url, dir.path(), &[])).collect();
    for server in &servers {
        server.wait_until_listening();
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
        for server in &servers {
            let health = client.get(format!("{}/healthz", server.base)).send().await.unwrap();
            assert_eq!(health.status(), 200, "{}", server.log());
        }
        // Migrations ran once, and exactly one of them created the administrator.
        let db = app::store::connect(&url).await.unwrap();
        let known = app::store::migrations::names().len();
        assert_eq!(count(&db, "SELECT count(*) FROM seaql_migrations").await, known as i64);
        assert_eq!(count(&db, "SELECT count(*) FROM accounts").await, 1);

        // Signed in on the first, still signed in on the others: sessions live in the database.
        let login = client
            .post(format!("{}/rpc/login", servers[0].base))
            .form(&[("username", "admin"), ("password", LOGGED_ADMIN_PASSWORD)])
            .send()
            .await
            .unwrap();
        assert!(login.status().is_success() || login.status().is_redirection(), "{}", login.status());
        for server in &servers {
            let me = client.post(format!("{}/rpc/current_account", server.base)).send().await.unwrap();
            let me: serde_json::Value = me.json().await.unwrap();
            assert_eq!(me["username"], "admin", "signed in on {}", server.base);
        }
    });
}

#[tokio::test]
async fn a_database_upgraded_by_a_newer_tessera_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(dir.path()).await;
    let core = state_on(&url).await;
    core.db
        .execute_unprepared("INSERT INTO seaql_migrations (version, applied_at) VALUES ('m9999_from_the_future', 0)")
        .await
        .unwrap();
    let accounts_before = count(&core.db, "SELECT count(*) FROM accounts").await;
    let error = app::store::connect(&url).await.expect_err("a newer schema is refused");
    let message = error.to_string();
    assert!(message.contains("upgraded by a newer Tessera"), "{message}");
    assert!(message.contains("m9999_from_the_future"), "{message}");
    assert_eq!(count(&core.db, "SELECT count(*) FROM accounts").await, accounts_before);

    // The binary says the same and stops.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["account", "list"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("upgraded by a newer Tessera"), "{stderr}");
}

/// Milliseconds, sorted, as `min / median / p99 / max`.
fn distribution(mut samples: Vec<f64>) -> String {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    format!("min {:.1} / median {:.1} / p99 {:.1} / max {:.1} ms", at(0.0), at(0.5), at(0.99), at(1.0))
}

/// Polls `app` with `secret` until it answers 401; how long that took (at most `bound`).
async fn refused_after(app: &TestApp, secret: &str, bound: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let status = app.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status();
        if status == 401 {
            return started.elapsed();
        }
        assert_eq!(status, 200);
        assert!(started.elapsed() < bound, "still accepted after {:?}", started.elapsed());
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_on_one_instance_is_refused_by_the_others_within_a_second() {
    let a = spawn_app_on_postgres().await;
    let (b, c) = (spawn_instance_of(&a).await, spawn_instance_of(&a).await);
    a.create_account("alice", "manage-api-tokens list-accts").await;
    let manager = a.simple_token("alice", "manager", &["manage-api-tokens"]).await;
    let mut seen_elsewhere = Vec::new();
    for trial in 0..100 {
        let name = format!("t{trial}");
        let secret = a.simple_token("alice", &name, &["list-accts"]).await;
        // Verified everywhere until answered from memory, so every instance holds it. (A notification of an
        // earlier change arriving in between empties a cache once more, hence a few tries.)
        for instance in [&a, &b, &c] {
            let hits = instance.cache_hits();
            for _ in 0..5 {
                assert_eq!(instance.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status(), 200);
                if instance.cache_hits() > hits {
                    break;
                }
            }
            assert!(instance.cache_hits() > hits, "trial {trial}: answered from memory");
        }
        let revoked = reqwest::Client::new()
            .delete(a.url(&format!("/api/v1/tokens/{name}")))
            .bearer_auth(&manager)
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), 204, "trial {trial}");
        // The instance that revoked refuses the very next request.
        assert_eq!(a.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status(), 401);
        let (on_b, on_c) = tokio::join!(
            refused_after(&b, &secret, Duration::from_secs(1)),
            refused_after(&c, &secret, Duration::from_secs(1))
        );
        seen_elsewhere.extend([on_b.as_secs_f64() * 1e3, on_c.as_secs_f64() * 1e3]);
    }
    eprintln!("revoke on A refused by B and C after: {} (200 samples)", distribution(seen_elsewhere));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_made_while_the_listener_is_down_is_still_honoured() {
    let a = spawn_app_on_postgres().await;
    let b = spawn_instance_of(&a).await;
    a.create_account("alice", "manage-api-tokens list-accts").await;
    for round in 0..5 {
        crate::common::wait_until_caching(&a.state).await;
        crate::common::wait_until_caching(&b.state).await;
        let name = format!("t{round}");
        let secret = a.simple_token("alice", &name, &["list-accts"]).await;
        for _ in 0..2 {
            assert_eq!(b.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status(), 200);
        }
        // Cut every listener's connection (waiting until the backends are gone), then revoke at once: the
        // notification goes nowhere.
        let db = &a.state.db;
        let cut = count(
            db,
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity \
             WHERE application_name = 'tessera-listener' AND datname = current_database()) t",
        )
        .await;
        assert_eq!(cut, 2, "both instances were listening");
        tokens::revoke(&a.state, &Actor::operator_for(a.account_row("alice").await), &[name]).await.unwrap();
        assert_eq!(b.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status(), 401, "round {round}");

        // The listener comes back, and with it the cache.
        crate::common::wait_until_caching(&b.state).await;
        let metrics = reqwest::get(b.url("/metrics")).await.unwrap().text().await.unwrap();
        assert!(metrics.contains("tessera_verification_feed_up 1\n"), "{metrics}");
        let other = a.simple_token("alice", &format!("other{round}"), &["list-accts"]).await;
        let hits = b.cache_hits();
        for _ in 0..2 {
            assert_eq!(b.get_with("/api/v1/auth", &format!("Bearer {other}")).await.status(), 200);
        }
        assert_eq!(b.cache_hits(), hits + 1, "answered from memory again");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_creating_one_name_at_once_one_wins_the_other_is_told_it_is_in_use() {
    let a = spawn_app().await;
    let b = spawn_instance_of(&a).await;
    a.create_account("alice", "all").await;
    let alice = Actor::operator_for(a.account_row("alice").await);
    let today = tokens::today(&a.state);
    for round in 0..20 {
        let spec = || {
            let new = NewToken {
                name: format!("deploy-{round}"),
                expires: "never".into(),
                allowlist: String::new(),
                privileges: vec!["list-accts".into()],
                rate_limit: String::new(),
            };
            new.parse(today).unwrap()
        };
        let (on_a, on_b) =
            tokio::join!(tokens::create(&a.state, &alice, spec()), tokens::create(&b.state, &alice, spec()));
        let outcomes = [on_a.map(|_| ()), on_b.map(|_| ())];
        assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "round {round}: {outcomes:?}");
        let refused = outcomes.into_iter().find_map(Result::err).unwrap();
        assert!(matches!(refused, AppError::Conflict { .. }), "round {round}: {refused:?}");
    }
}

#[tokio::test]
async fn last_use_never_moves_backwards_when_instances_flush_out_of_order() {
    use app::store::tokens::{LastUse, record_last_use};
    let a = spawn_app().await;
    let b = spawn_instance_of(&a).await;
    a.create_account("alice", "all").await;
    a.token(TokenSpec { account: "alice", name: "ci", privileges: &["all"], allowlist: "", expires: "never" }).await;
    let id = a.token_row("ci").await.unwrap().id;
    let at = |minute: u32| chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 22, 10, minute, 0).unwrap();
    let late =
        LastUse { token_id: id, at: at(30) + chrono::Duration::milliseconds(250), ip: "192.0.2.2".parse().unwrap() };
    let early = LastUse { token_id: id, at: at(30), ip: "192.0.2.1".parse().unwrap() };
    record_last_use(&a.state.db, std::slice::from_ref(&late)).await.unwrap();
    record_last_use(&b.state.db, &[early]).await.unwrap();
    let row = a.token_row("ci").await.unwrap();
    assert_eq!((row.last_used_at, row.last_used_ip.as_deref()), (Some(late.at), Some("192.0.2.2")));
    let later = LastUse { token_id: id, at: at(31), ip: "192.0.2.3".parse().unwrap() };
    record_last_use(&b.state.db, std::slice::from_ref(&later)).await.unwrap();
    assert_eq!(a.token_row("ci").await.unwrap().last_used_at, Some(later.at));
}

#[tokio::test]
async fn a_sign_in_on_one_instance_continues_on_another_and_failures_count_on_all() {
    let a = spawn_app().await;
    let b = spawn_instance_of(&a).await;
    a.create_account("alice", "manage-api-tokens").await;
    let client = a.client();
    assert!(a.login(&client, "alice", PASSWORD).await.status().is_success());
    // The cookie is for 127.0.0.1, whichever port: the browser sends it to the other instance as a proxy would.
    assert_eq!(b.current_account(&client).await.as_deref(), Some("alice"));

    // Ten wrong passwords, alternating between the instances, lock the name on both.
    let stranger = reqwest::Client::new();
    for attempt in 0..10 {
        let instance = if attempt % 2 == 0 { &a } else { &b };
        assert_eq!(instance.login(&stranger, "alice", "wrong-password-1").await.status(), 401, "attempt {attempt}");
    }
    for instance in [&a, &b] {
        assert_eq!(instance.login(&stranger, "alice", PASSWORD).await.status(), 429);
    }
}
