//! Usage and rate limits (issue 15): counting is exact under concurrent calls, by outcome, hour and day; the
//! addresses a token is used from are kept and a new one is an audit event; a token's rate limit refuses what
//! goes over it with 429, `Retry-After` and the IETF `RateLimit` headers on every API, the time driven by the
//! test's clock.

use crate::common::{TestApp, TokenSpec, spawn_app, spawn_app_with_proxies, spawn_app_writing_usage_every};
use app::services::{Actor, clock::Clock, usage};
use serde_json::{Value, json};

async fn flush(app: &TestApp) {
    usage::flush(&app.state).await.expect("flush usage");
}

async fn usage_of(app: &TestApp, admin: &str, name: &str, query: &str) -> Value {
    let response = app.get_with(&format!("/api/v1/tokens/{name}/usage{query}"), &format!("Bearer {admin}")).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_report_abandoned_during_its_write_loses_no_count() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let admin = app.simple_token("alice", "admin", &["all"]).await;
    let busy = app.simple_token("alice", "busy", &["list-accts"]).await;
    for _ in 0..25 {
        assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {busy}")).await.status(), 200);
    }
    // A report flushes first; its client hangs up while the write is under way, which drops the report's future.
    // Polled exactly once (the write starts, and cannot finish inside that poll), then dropped.
    let mut abandoned = Box::pin(usage::flush(&app.state));
    assert!(futures_util::poll!(&mut abandoned).is_pending(), "the flush was dropped before it finished");
    drop(abandoned);
    flush(&app).await;
    let report = usage_of(&app, &admin, "busy", "?bucket=day").await;
    let accepted: u64 = report["buckets"].as_array().unwrap().iter().map(|b| b["accepted"].as_u64().unwrap()).sum();
    assert_eq!(accepted, 25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_calls_from_eight_tasks_count_ten_thousand() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let admin = app.simple_token("alice", "admin", &["all"]).await;
    let busy = app.simple_token("alice", "busy", &["list-accts"]).await;
    let client = reqwest::Client::new();
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let (client, url, busy) = (client.clone(), app.url("/api/v1/auth"), busy.clone());
            tokio::spawn(async move {
                for i in 0..1_250 {
                    // One call in ten asks for a privilege the token lacks: refused, and counted as such.
                    let url = if i % 10 == 0 { format!("{url}?privilege=kill-acct") } else { url.clone() };
                    let status = client.get(&url).bearer_auth(&busy).send().await.unwrap().status();
                    assert!(status == 200 || status == 403, "task {task}: {status}");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    flush(&app).await;
    let report = usage_of(&app, &admin, "busy", "?bucket=day").await;
    let buckets = report["buckets"].as_array().unwrap();
    let accepted: u64 = buckets.iter().map(|b| b["accepted"].as_u64().unwrap()).sum();
    let refused: u64 = buckets.iter().map(|b| b["refused"].as_u64().unwrap()).sum();
    assert_eq!((accepted, refused), (9_000, 1_000));
    let privilege: u64 = buckets.iter().filter_map(|b| b["outcomes"]["privilege"].as_u64()).sum();
    assert_eq!(privilege, 1_000);
    // The day buckets cover 30 days, one per day, the last holding every call.
    assert_eq!(buckets.len(), 31);
    assert_eq!(buckets.last().unwrap()["accepted"], 9_000);
    // The tokens table's column.
    let summary =
        usage::summary(&app.state, &Actor::operator_for(app.account_row("alice").await), "busy").await.unwrap();
    assert_eq!(summary.days.len(), 30);
    assert_eq!(summary.days.last().unwrap().accepted, 9_000);
}

#[tokio::test]
async fn hours_days_and_addresses_follow_the_clock_and_a_new_address_is_audited() {
    let app = spawn_app_with_proxies(vec![app::domain::IpRange::parse("127.0.0.1").unwrap()]).await;
    app.create_account("alice", "all").await;
    let admin = app.simple_token("alice", "admin", &["all"]).await;
    let token = app
        .token(TokenSpec {
            account: "alice",
            name: "ci",
            privileges: &["list-accts"],
            allowlist: "198.51.100.0/24",
            expires: "never",
        })
        .await;
    let call = |ip: &'static str| {
        let (url, token) = (app.url("/api/v1/auth"), token.clone());
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .header("x-forwarded-for", ip)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(call("198.51.100.7").await, 200);
    assert_eq!(call("198.51.100.7").await, 200);
    app.clock.advance(chrono::Duration::minutes(1));
    assert_eq!(call("203.0.113.9").await, 403, "outside the allowlist");
    flush(&app).await;
    app.clock.advance(chrono::Duration::hours(3));
    assert_eq!(call("198.51.100.8").await, 200);
    flush(&app).await;

    let report = usage_of(&app, &admin, "ci", "?bucket=hour&from=2026-11-22T09:00:00Z&to=2026-11-22T14:00:00Z").await;
    let by_hour: Vec<(String, u64, u64)> = report["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (b["start"].as_str().unwrap().to_owned(), b["accepted"].as_u64().unwrap(), b["refused"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(
        by_hour,
        [
            ("2026-11-22T09:00:00Z".to_owned(), 0, 0),
            ("2026-11-22T10:00:00Z".to_owned(), 2, 1),
            ("2026-11-22T11:00:00Z".to_owned(), 0, 0),
            ("2026-11-22T12:00:00Z".to_owned(), 0, 0),
            ("2026-11-22T13:00:00Z".to_owned(), 1, 0),
        ]
    );
    assert_eq!(report["buckets"][1]["outcomes"]["address"], 1);
    let addresses: Vec<&str> =
        report["addresses"].as_array().unwrap().iter().map(|a| a["ip"].as_str().unwrap()).collect();
    assert_eq!(addresses, ["198.51.100.8", "203.0.113.9", "198.51.100.7"], "most recently seen first");
    let events = app.audit_actions().await;
    let new_addresses = events
        .iter()
        .filter(|(action, target, _)| action == "token.new_address" && target.as_deref() == Some("ci"))
        .count();
    assert_eq!(new_addresses, 3, "each address once, however often it is used");

    // Bad periods are a clear 422, never a 5xx.
    for query in [
        "?bucket=week",
        "?from=2026-11-23T00:00:00Z&to=2026-11-22T00:00:00Z",
        "?from=yesterday",
        "?bucket=hour&from=2026-01-01T00:00:00Z&to=2026-11-22T00:00:00Z",
    ] {
        let response = app.get_with(&format!("/api/v1/tokens/ci/usage{query}"), &format!("Bearer {admin}")).await;
        assert!(response.status() == 400 || response.status() == 422, "{query}: {}", response.status());
    }
    let response = app.get_with("/api/v1/tokens/nope/usage", &format!("Bearer {admin}")).await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn old_usage_is_pruned_after_the_retention() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let token = app.simple_token("alice", "old", &["list-accts"]).await;
    assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {token}")).await.status(), 200);
    flush(&app).await;
    assert!(app.database_text().await.contains("accepted"));
    // Past the retention (90 days), the writer's hourly prune removes the counter and the address.
    app.clock.advance(chrono::Duration::days(89));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (usage, addresses) = (count(&app, "token_usage").await, count(&app, "token_addresses").await);
    assert_eq!((usage, addresses), (1, 1), "kept within the retention");
    app.clock.advance(chrono::Duration::days(2));
    let started = std::time::Instant::now();
    while count(&app, "token_usage").await + count(&app, "token_addresses").await > 0 {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "not pruned");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn count(app: &TestApp, table: &str) -> i64 {
    number(app, &format!("SELECT count(*) FROM {table}")).await
}

/// The one number `sql` answers (a count or a sum, as BIGINT).
async fn number(app: &TestApp, sql: &str) -> i64 {
    use sea_orm::ConnectionTrait;
    let db = &app.state.db;
    let statement = sea_orm::Statement::from_string(db.get_database_backend(), sql);
    db.query_one_raw(statement).await.unwrap().unwrap().try_get_by_index::<i64>(0).unwrap()
}

#[tokio::test]
async fn over_its_limit_a_token_is_refused_with_429_and_the_ratelimit_headers_on_every_api() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let admin = app.simple_token("alice", "admin", &["all"]).await;
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/tokens"))
        .bearer_auth(&admin)
        .json(&json!({"name": "limited", "expires": "never", "privileges": ["all"], "rate_limit": "10/minute"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let issued: Value = response.json().await.unwrap();
    assert_eq!(issued["token"]["rate_limit"], "10/minute");
    let secret = issued["secret"].as_str().unwrap().to_owned();

    // 20 calls at once (twice the limit): the burst of 10 passes, 10 are refused.
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let response = app.get_with("/api/v1/auth", &format!("Bearer {secret}")).await;
        statuses.push(response.status().as_u16());
        if response.status() == 200 {
            assert_eq!(response.headers()["ratelimit-policy"], "\"token\";q=10;w=60");
        } else {
            assert_eq!(response.headers()["retry-after"], "6");
            assert_eq!(response.headers()["ratelimit"], "\"token\";r=0;t=6");
            let body: Value = response.json().await.unwrap();
            assert!(body["message"].as_str().unwrap().contains("10/minute"), "{body}");
        }
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 10);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 10);
    // The same refusal in each API's own envelope.
    let uapi = app.get_with("/execute/Tokens/list", &format!("cpanel alice:{secret}")).await;
    assert_eq!(uapi.status(), 429);
    let body: Value = uapi.json().await.unwrap();
    assert_eq!(body["status"], 0, "{body}");
    let (status, body) = app.whm(&format!("whm alice:{secret}"), "api_token_list?api.version=1").await;
    assert_eq!((status, body["metadata"]["result"].as_i64()), (429, Some(0)), "{body}");
    let native = app.get_with("/api/v1/tokens", &format!("Bearer {secret}")).await;
    assert_eq!(native.status(), 429);
    assert!(native.headers().contains_key("retry-after"));

    // Six seconds later (on the test's clock), one more call is allowed.
    app.clock.advance(chrono::Duration::seconds(6));
    assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status(), 200);
    assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status(), 429);
    // A change to another token (every row kept in memory for verification is read again after it) does not
    // give the limited token a new burst.
    app.simple_token("alice", "unrelated", &["list-accts"]).await;
    assert_eq!(patch_token(&app, &admin, "unrelated", json!({"rate_limit": "5/minute"})).await, 200);
    assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status(), 429);

    // Refusals are counted, and audited once a minute, not once each.
    flush(&app).await;
    let report = usage_of(&app, &admin, "limited", "?bucket=day").await;
    let limited: u64 =
        report["buckets"].as_array().unwrap().iter().filter_map(|b| b["outcomes"]["rate_limited"].as_u64()).sum();
    assert_eq!(limited, 15);
    let audited = app.audit_actions().await.iter().filter(|(action, _, _)| action == "api.refused.rate_limit").count();
    assert_eq!(audited, 1, "one event per token per minute while limited, not one per refusal");

    // Another token of the account is not limited.
    for _ in 0..30 {
        assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {admin}")).await.status(), 200);
    }
    // The limit can be changed, and removed, on the token.
    assert_eq!(patch_token(&app, &admin, "limited", json!({"rate_limit": ""})).await, 200);
    assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status(), 200);
    assert_eq!(patch_token(&app, &admin, "limited", json!({"rate_limit": "ten per minute"})).await, 422);
}

/// Edits the token `name` through the native API as `admin`: the answer's status.
async fn patch_token(app: &TestApp, admin: &str, name: &str, changes: Value) -> u16 {
    let url = app.url(&format!("/api/v1/tokens/{name}"));
    let response = reqwest::Client::new().patch(url).bearer_auth(admin).json(&changes).send().await.unwrap();
    response.status().as_u16()
}

#[tokio::test]
async fn the_list_sorts_by_requests_of_the_last_30_days() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let admin = app.simple_token("alice", "admin", &["all"]).await;
    for (name, calls) in [("quiet", 1), ("busy", 3), ("middling", 2), ("idle", 0)] {
        let secret = app.simple_token("alice", name, &["list-accts"]).await;
        for _ in 0..calls {
            assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status(), 200);
        }
    }
    // Busiest first.
    assert_eq!(by_requests(&app, &admin, "").await, ["busy", "middling", "quiet", "idle"]);
    assert_eq!(by_requests(&app, &admin, "&descending=false").await, ["idle", "quiet", "middling", "busy"]);
}

/// The token names the native API lists sorted by requests (`more`: further query parameters), the `admin`
/// token left out (its own list calls count for it too).
async fn by_requests(app: &TestApp, admin: &str, more: &str) -> Vec<String> {
    let response = app.get_with(&format!("/api/v1/tokens?sort=requests{more}"), &format!("Bearer {admin}")).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let tokens = body["tokens"].as_array().unwrap().iter();
    tokens.map(|t| t["name"].as_str().unwrap().to_owned()).filter(|n| n != "admin").collect()
}

/// Each named token's "Requests (30 d)", as the tokens table shows it.
async fn requests_30d(app: &TestApp, account: &str, names: &[&str]) -> Vec<u64> {
    let actor = Actor::session(app.account_row(account).await, None);
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let requests = usage::last_30_days(&app.state, &actor, &names).await.unwrap();
    names.iter().map(|n| requests.get(n).copied().unwrap_or(0)).collect()
}

#[tokio::test]
async fn the_requests_column_counts_this_hour_and_the_719_before_and_follows_the_clock() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let admin = app.simple_token("alice", "admin", &["all"]).await;
    let old = app.simple_token("alice", "old", &["list-accts"]).await;
    let new = app.simple_token("alice", "new", &["list-accts"]).await;
    // The clock starts at 10:00: three calls of `old` in the 10:00 hour.
    for _ in 0..3 {
        assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {old}")).await.status(), 200);
    }
    assert_eq!(requests_30d(&app, "alice", &["old", "new"]).await, [3, 0]);
    // 29 days and 23 hours later the 10:00 hour is the window's first: still counted.
    app.clock.advance(chrono::Duration::hours(719) + chrono::Duration::minutes(59));
    assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {new}")).await.status(), 200);
    assert_eq!(requests_30d(&app, "alice", &["old", "new"]).await, [3, 1]);
    assert_eq!(by_requests(&app, &admin, "").await, ["old", "new"]);
    // A minute on, that hour has left the window: the sort and the column agree.
    app.clock.advance(chrono::Duration::minutes(1));
    assert_eq!(requests_30d(&app, "alice", &["old", "new"]).await, [0, 1]);
    assert_eq!(by_requests(&app, &admin, "").await, ["new", "old"]);
    // The usage report still has the old hour (kept 90 days): only the window moved.
    let report = usage_of(&app, &admin, "old", "?bucket=day&from=2026-11-22T00:00:00Z&to=2026-11-23T00:00:00Z").await;
    let accepted: u64 = report["buckets"].as_array().unwrap().iter().map(|b| b["accepted"].as_u64().unwrap()).sum();
    assert_eq!(accepted, 3);
}

#[tokio::test]
async fn instances_moving_the_window_at_once_take_each_hour_out_once() {
    let app = spawn_app().await;
    let other = crate::common::spawn_instance_of(&app).await;
    app.create_account("alice", "all").await;
    let secret = app.simple_token("alice", "busy", &["list-accts"]).await;
    for instance in [&app, &other] {
        for _ in 0..2 {
            assert_eq!(instance.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status(), 200);
        }
    }
    flush(&app).await;
    flush(&other).await;
    assert_eq!(requests_30d(&app, "alice", &["busy"]).await, [4]);
    // Thirty days on, on both: a call on each, then both write (and move the window) at the same time.
    for instance in [&app, &other] {
        instance.clock.advance(chrono::Duration::days(30));
        assert_eq!(instance.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status(), 200);
    }
    let (a, b) = tokio::join!(usage::flush(&app.state), usage::flush(&other.state));
    a.unwrap();
    b.unwrap();
    assert_eq!(requests_30d(&app, "alice", &["busy"]).await, [2], "the old calls taken out once, the new ones kept");
    assert_eq!(requests_30d(&other, "alice", &["busy"]).await, [2]);
}

/// `alice`'s token `busy` used three times at 10:00, written; its id.
async fn busy_used_three_times(app: &TestApp) -> i64 {
    app.create_account("alice", "all").await;
    let secret = app.simple_token("alice", "busy", &["list-accts"]).await;
    for _ in 0..3 {
        assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status(), 200);
    }
    flush(app).await;
    app.token_row("busy").await.unwrap().id
}

/// Another instance's write moving the window to start at `to`, started now and committed when it can; answers the
/// start in force it found.
fn window_moved_meanwhile(
    app: &TestApp,
    to: chrono::DateTime<chrono::Utc>,
) -> tokio::task::JoinHandle<chrono::DateTime<chrono::Utc>> {
    let db = app.state.db.clone();
    tokio::spawn(async move {
        let txn = app::store::begin_write(&db).await.unwrap();
        let start = app::store::usage::slide_window(&txn, to).await.unwrap();
        txn.commit().await.unwrap();
        start
    })
}

/// `busy`'s calls in the window as the database keeps them.
async fn busy_requests_stored(app: &TestApp) -> i64 {
    let account = app.account_row("alice").await.id;
    let stored = app::store::usage::requests_by_name(&app.state.db, account, vec!["busy".into()]).await.unwrap();
    assert_eq!(stored.len(), 1);
    stored[0].2
}

#[tokio::test]
async fn a_window_move_waiting_on_another_finds_it_done_and_takes_nothing_out_again() {
    use app::store::{self, usage as stored_usage};
    let app = spawn_app().await;
    busy_used_three_times(&app).await;
    assert_eq!(requests_30d(&app, "alice", &["busy"]).await, [3]);
    // Two instances move the window past those calls at once: the first has claimed the move, not yet committed.
    let later = usage::window_start(app.clock.now() + chrono::Duration::days(30));
    let first = store::begin_write(&app.state.db).await.unwrap();
    assert_eq!(stored_usage::slide_window(&first, later).await.unwrap(), later);
    let second = window_moved_meanwhile(&app, later);
    // Time for the second to reach the first's lock (were it not there yet, it would simply read the move).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    first.commit().await.unwrap();
    assert_eq!(second.await.unwrap(), later);
    assert_eq!(busy_requests_stored(&app).await, 0, "taken out once, not twice");
}

/// One instance adds calls of an hour to the window (its clock has not reached the next hour) while another moves
/// the window past that hour: the move waits for the addition and takes those calls out too, so they do not stay
/// counted in the requests (30 d) for good.
#[tokio::test]
async fn calls_added_while_another_instance_moves_the_window_past_their_hour_are_taken_out() {
    use app::store::{self, usage as stored_usage};
    let app = spawn_app().await;
    let id = busy_used_three_times(&app).await;
    // 10:00 on the test's clock: the hour of the calls. The first instance's write: the window as it stands, and
    // two more calls of that hour, not committed.
    let now = app.clock.now();
    let first = store::begin_write(&app.state.db).await.unwrap();
    assert_eq!(stored_usage::slide_window(&first, usage::window_start(now)).await.unwrap(), usage::window_start(now));
    stored_usage::add_all(&first, &[(id, now, "accepted", 2)]).await.unwrap();
    stored_usage::add_to_window(&first, &[(id, 2)]).await.unwrap();
    // The second moves the window 30 days on, past the 10:00 hour.
    let later = usage::window_start(now + chrono::Duration::days(30));
    let second = window_moved_meanwhile(&app, later);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    first.commit().await.unwrap();
    assert_eq!(second.await.unwrap(), later);
    assert_eq!(busy_requests_stored(&app).await, 0, "all five calls of the hour taken out");
}

#[tokio::test]
async fn administrators_see_the_busiest_tokens_of_every_account() {
    let app = spawn_app().await;
    app.create_account("root", "all").await;
    app.create_account("shop", "manage-api-tokens list-accts").await;
    for (account, name, calls) in [("shop", "sync", 4), ("root", "backup", 2), ("shop", "idle", 0)] {
        let secret = app.simple_token(account, name, &["list-accts"]).await;
        for _ in 0..calls {
            assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status(), 200);
        }
    }
    let root = Actor::session(app.account_row("root").await, None);
    let busiest = usage::busiest(&app.state, &root, 20).await.unwrap();
    let ranked: Vec<(&str, &str, u64)> =
        busiest.iter().map(|b| (b.account.as_str(), b.token.as_str(), b.requests)).collect();
    assert_eq!(ranked, [("shop", "sync", 4), ("root", "backup", 2)]);
    let shop = Actor::session(app.account_row("shop").await, None);
    assert!(usage::busiest(&app.state, &shop, 20).await.is_err(), "only administrators");
}

#[tokio::test]
async fn a_rate_limited_token_cannot_make_or_edit_a_faster_or_unlimited_one() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let admin = app.simple_token("alice", "admin", &["all"]).await;
    let client = reqwest::Client::new();
    let create = |auth: String, body: Value| {
        let (client, url) = (client.clone(), app.url("/api/v1/tokens"));
        async move { client.post(url).bearer_auth(auth).json(&body).send().await.unwrap() }
    };
    let response = create(
        admin.clone(),
        json!({"name": "limited", "expires": "never", "privileges": ["all"], "rate_limit": "60/minute"}),
    )
    .await;
    let limited = response.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_owned();

    // Faster than its own limit: refused, nothing made.
    let response =
        create(limited.clone(), json!({"name": "faster", "privileges": ["list-accts"], "rate_limit": "2/second"}))
            .await;
    assert_eq!(response.status(), 403);
    assert!(app.token_row("faster").await.is_none());
    // No limit given: it gets the calling token's.
    let response = create(limited.clone(), json!({"name": "inherits", "privileges": ["list-accts"]})).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.json::<Value>().await.unwrap()["token"]["rate_limit"], "60/minute");
    // As slow or slower: fine.
    let response =
        create(limited.clone(), json!({"name": "slower", "privileges": ["list-accts"], "rate_limit": "1/second"}))
            .await;
    assert_eq!(response.status(), 201);
    // Editing: an unlimited token is beyond it, and it cannot lift another's limit.
    let patch = |name: &str, body: Value| {
        let (client, url, auth) = (client.clone(), app.url(&format!("/api/v1/tokens/{name}")), limited.clone());
        async move { client.patch(url).bearer_auth(auth).json(&body).send().await.unwrap() }
    };
    assert_eq!(patch("admin", json!({"allowlist": []})).await.status(), 403, "admin has no limit");
    assert_eq!(patch("slower", json!({"rate_limit": "100/second"})).await.status(), 403);
    assert_eq!(app.token_row("slower").await.unwrap().rate_limit.as_deref(), Some("1/second"));
    // A session (the owner) may do anything.
    let response = create(admin, json!({"name": "unlimited", "expires": "never", "privileges": ["list-accts"]})).await;
    assert_eq!(response.status(), 201);
}

/// The last seen of each of the token's addresses, as stored.
async fn last_seen(app: &TestApp, name: &str) -> Vec<(String, chrono::DateTime<chrono::Utc>)> {
    let token = app.token_row(name).await.expect("token");
    let rows = app::store::usage::addresses(&app.state.db, token.id, 10).await.expect("addresses");
    rows.into_iter().map(|row| (row.ip, row.last_seen)).collect()
}

#[tokio::test]
async fn a_known_address_is_written_at_most_once_a_minute_and_never_lost() {
    let app = spawn_app_with_proxies(vec![app::domain::IpRange::parse("127.0.0.1").unwrap()]).await;
    app.create_account("alice", "all").await;
    let token = app.simple_token("alice", "steady", &["list-accts"]).await;
    let call = |ip: &'static str| {
        let (url, token) = (app.url("/api/v1/auth"), token.clone());
        async move {
            let client = reqwest::Client::new();
            client.get(url).bearer_auth(token).header("x-forwarded-for", ip).send().await.unwrap().status()
        }
    };
    let t0 = app.clock.now();
    assert_eq!(call("198.51.100.7").await, 200);
    flush(&app).await;
    assert_eq!(last_seen(&app, "steady").await, [("198.51.100.7".to_owned(), t0)]);
    // Within the same minute the stored time stays; every call is still counted.
    app.clock.advance(chrono::Duration::seconds(20));
    assert_eq!(call("198.51.100.7").await, 200);
    flush(&app).await;
    assert_eq!(last_seen(&app, "steady").await, [("198.51.100.7".to_owned(), t0)]);
    // A minute later it moves to the latest call.
    app.clock.advance(chrono::Duration::seconds(50));
    assert_eq!(call("198.51.100.7").await, 200);
    flush(&app).await;
    let moved = t0 + chrono::Duration::seconds(70);
    assert_eq!(last_seen(&app, "steady").await, [("198.51.100.7".to_owned(), moved)]);
    let report = usage::summary(&app.state, &Actor::operator_for(app.account_row("alice").await), "steady").await;
    assert_eq!(report.unwrap().days.last().unwrap().accepted, 3);
    // A fresh writer (a restart, another instance) learns the address from the database: not new again.
    app.state.usage.forget_addresses();
    app.clock.advance(chrono::Duration::minutes(5));
    assert_eq!(call("198.51.100.7").await, 200);
    flush(&app).await;
    let later = moved + chrono::Duration::minutes(5);
    assert_eq!(last_seen(&app, "steady").await, [("198.51.100.7".to_owned(), later)]);
    let new_addresses = app.audit_actions().await.iter().filter(|(action, ..)| action == "token.new_address").count();
    assert_eq!(new_addresses, 1, "the address was new once");
}

#[tokio::test]
async fn one_write_holding_seventy_thousand_tokens_succeeds() {
    use app::services::usage::UseOutcome;
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let admin = app.simple_token("alice", "admin", &["all"]).await;
    let real = app.token_row("admin").await.unwrap().id;
    // More tokens than one statement binds values (SQLite 32,766, PostgreSQL 65,535); most are gone by the time of
    // the write.
    let (now, ip) = (app.clock.now(), "192.0.2.1".parse().unwrap());
    for token_id in (1..=70_000).filter(|id| *id != real).chain([real]) {
        app.state.usage.count(token_id, UseOutcome::Accepted, now, ip);
    }
    flush(&app).await;
    let report = usage_of(&app, &admin, "admin", "?bucket=day").await;
    let accepted: u64 = report["buckets"].as_array().unwrap().iter().map(|b| b["accepted"].as_u64().unwrap()).sum();
    assert_eq!(accepted, 2, "the one counted directly and the report's own call: {report}");
}

/// Addresses recorded in `token_addresses` and `token.new_address` events in the audit log.
async fn addresses_and_events(app: &TestApp) -> (i64, usize) {
    let addresses = number(app, "SELECT CAST(count(*) AS BIGINT) FROM token_addresses").await;
    let events =
        number(app, "SELECT CAST(count(*) AS BIGINT) FROM audit_events WHERE action = 'token.new_address'").await;
    (addresses, events as usize)
}

/// A fleet's first calls: `alice`'s token `admin` (every privilege) used `calls` times, each from an address of
/// its own (10.0.0.0 upwards), counted and not yet written. Returns the token's secret.
async fn used_from_new_addresses(app: &TestApp, calls: u32) -> String {
    use app::services::usage::UseOutcome;
    app.create_account("alice", "all").await;
    let admin = app.simple_token("alice", "admin", &["all"]).await;
    let id = app.token_row("admin").await.unwrap().id;
    let now = app.clock.now();
    for i in 0..calls {
        app.state.usage.count(id, UseOutcome::Accepted, now, std::net::Ipv4Addr::from(0x0a00_0000 + i).into());
    }
    admin
}

/// 25,000 addresses new in one interval (a fleet's first calls): every call is counted at the first write, and
/// the addresses are recorded 10,000 a write, each raising its event once, so no write holds the database's
/// write lock for long.
#[tokio::test]
async fn thousands_of_new_addresses_are_recorded_over_several_writes_each_once() {
    let app = spawn_app().await;
    let admin = used_from_new_addresses(&app, 25_000).await;
    flush(&app).await;
    assert_eq!(addresses_and_events(&app).await, (10_000, 10_000));
    let report = usage_of(&app, &admin, "admin", "?bucket=day").await;
    let accepted: u64 = report["buckets"].as_array().unwrap().iter().map(|b| b["accepted"].as_u64().unwrap()).sum();
    assert_eq!(accepted, 25_001, "every call counted at the first write (and the report's own): {report}");
    // Two more writes: the other 15,000, and the report's own call from loopback.
    flush(&app).await;
    flush(&app).await;
    assert_eq!(addresses_and_events(&app).await, (25_001, 25_001));
    flush(&app).await;
    assert_eq!(addresses_and_events(&app).await, (25_001, 25_001), "each address once");
}

/// Starts the minute's usage write, creates a token over the API 100 ms into it, and checks that the creation was
/// answered (201) while the write was still going; then waits for the write.
async fn token_made_during_a_write(app: &TestApp, admin: &str) {
    let state = app.state.clone();
    let writing = tokio::spawn(async move { usage::flush_in_background(&state).await });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/tokens"))
        .bearer_auth(admin)
        .json(&json!({"name": "made-meanwhile", "expires": "never", "privileges": ["all"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert!(!writing.is_finished(), "the token was made while the write was still going");
    writing.await.unwrap().expect("flush usage");
}

/// A fleet's first calls from new addresses are recorded a few hundred a transaction, so a change made meanwhile
/// (here a token created over the API) waits for one of them, not for the whole backlog: it is answered while
/// the write is still going. On SQLite, where a write waits for the database's one write lock, 10,000 new
/// addresses in one transaction held it for six seconds and sign-ins waiting on it failed.
#[tokio::test]
async fn a_change_made_while_new_addresses_are_written_does_not_wait_for_all_of_them() {
    let app = spawn_app().await;
    let admin = used_from_new_addresses(&app, 2_000).await;
    token_made_during_a_write(&app, &admin).await;
    // The creation's own call came from loopback, an address new to the token too (the test servers write every
    // 50 ms, so it may already be in): one more write, then all of them are.
    flush(&app).await;
    assert_eq!(addresses_and_events(&app).await, (2_001, 2_001), "each address recorded and announced once");
}

/// `alice`'s token `admin` (every privilege) and `count` more tokens of hers (`bulk-1` upwards, made in one
/// statement), each of those used once from 127.0.0.1 at `at`, counted and not yet written. Returns the admin
/// token's secret and the bulk tokens' ids.
async fn fleet_used_once(app: &TestApp, count: u32, at: chrono::DateTime<chrono::Utc>) -> (String, Vec<i64>) {
    use app::services::usage::UseOutcome;
    use sea_orm::ConnectionTrait;
    app.create_account("alice", "all").await;
    let admin = app.simple_token("alice", "admin", &["all"]).await;
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let make = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) \
         INSERT INTO tokens (account_id, name, name_key, secret_hash, hint, created_at, expires_at, allowlist, \
         privileges) SELECT t.account_id, 'bulk-' || n.i, 'bulk-' || n.i, 'bulk-hash-' || n.i, t.hint, \
         t.created_at, t.expires_at, t.allowlist, t.privileges FROM tokens t, n WHERE t.name = 'admin'"
    );
    db.execute_unprepared(&make).await.unwrap();
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            backend,
            "SELECT id FROM tokens WHERE name LIKE 'bulk-%' ORDER BY id",
        ))
        .await
        .unwrap();
    let ids: Vec<i64> = rows.iter().map(|row| row.try_get_by_index(0).unwrap()).collect();
    assert_eq!(ids.len(), count as usize);
    for &id in &ids {
        app.state.usage.count(id, UseOutcome::Accepted, at, std::net::Ipv4Addr::LOCALHOST.into());
    }
    (admin, ids)
}

/// The accepted calls written for the bulk tokens: in their counters, and in their requests (30 d).
async fn bulk_calls_written(app: &TestApp) -> (i64, i64) {
    let counters = number(
        app,
        "SELECT CAST(coalesce(sum(u.count), 0) AS BIGINT) FROM token_usage u JOIN tokens t ON t.id = u.token_id \
         WHERE t.name LIKE 'bulk-%' AND u.outcome = 'accepted'",
    )
    .await;
    let requests = number(
        app,
        "SELECT CAST(coalesce(sum(r.requests), 0) AS BIGINT) FROM token_requests r JOIN tokens t ON t.id = r.token_id \
         WHERE t.name LIKE 'bulk-%'",
    )
    .await;
    (counters, requests)
}

/// The counters of many tokens are written a few thousand tokens a transaction, with a pause between two, so a
/// change made meanwhile (here a token created over the API) waits for one of them, not for the whole write: it
/// is answered while the write is still going. The counters of 100,000 tokens in one transaction held SQLite's
/// write lock for up to 2.3 s on the bench machine.
#[tokio::test]
async fn a_change_made_while_many_tokens_counters_are_written_does_not_wait_for_all_of_them() {
    let app = spawn_app().await;
    let now = app.clock.now();
    // 9,000 tokens: five transactions and four pauses, so the write outlasts the creation made 100 ms into it by
    // 100 ms at least (with 5,000, three and two, a creation slowed by the other tests running at once was once
    // answered after the write's end).
    let (admin, ids) = fleet_used_once(&app, 9_000, now).await;
    // The first write also records the 9,000 new addresses; the second, measured, has only counters (and the
    // addresses' last seen, two minutes on).
    flush(&app).await;
    for &id in &ids {
        let later = now + chrono::Duration::minutes(2);
        app.state.usage.count(id, usage::UseOutcome::Accepted, later, std::net::Ipv4Addr::LOCALHOST.into());
    }
    token_made_during_a_write(&app, &admin).await;
    assert_eq!(bulk_calls_written(&app).await, (18_000, 18_000), "every call written once");
}

/// From now on, inserts into `table` whose `column` is listed in `refused_<table>` (a table this makes, the column
/// of type `kind`) fail: a fault the test switches on and off with rows, without changing the schema while the
/// server's writers run (a `DROP TRIGGER` during the run met "database is locked" on SQLite).
async fn refuse_listed_inserts(app: &TestApp, table: &str, column: &str, kind: &str) {
    use sea_orm::{ConnectionTrait, DatabaseBackend};
    let list = format!("CREATE TABLE refused_{table} ({column} {kind} PRIMARY KEY)");
    let listed = format!("EXISTS (SELECT 1 FROM refused_{table} WHERE {column} = NEW.{column})");
    let trigger = match app.state.db.get_database_backend() {
        DatabaseBackend::Postgres => format!(
            "CREATE FUNCTION refuse_{table}() RETURNS trigger AS $$ BEGIN IF {listed} THEN \
             RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION refuse_{table}()"
        ),
        _ => format!(
            "CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} WHEN {listed} \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        ),
    };
    app.state.db.execute_unprepared(&format!("{list}; {trigger}")).await.unwrap();
}

/// A transaction of counters that fails (here one token's insert refused, in the second transaction) ends the
/// write: the tokens written before it stay written, the rest are put back and written by the next write, and no
/// call is counted twice, in the counters or in the requests (30 d).
#[tokio::test]
async fn a_failed_transaction_of_counters_is_written_by_the_next_write_and_nothing_twice() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app().await;
    let db = &app.state.db;
    refuse_listed_inserts(&app, "token_usage", "token_id", "BIGINT").await;
    let (_admin, ids) = fleet_used_once(&app, 5_000, app.clock.now()).await;
    // The 2,001st token: the first of the second transaction of 2,000 (refused at once, so the test servers'
    // writer, retrying every 50 ms, leaves the write lock free most of the time for the DELETE below).
    db.execute_unprepared(&format!("INSERT INTO refused_token_usage (token_id) VALUES ({})", ids[2_000]))
        .await
        .unwrap();
    let failed = usage::flush(&app.state).await;
    assert!(failed.is_err(), "the write reports the failure");
    assert_eq!(bulk_calls_written(&app).await, (2_000, 2_000), "the first transaction's tokens written, no more");
    db.execute_unprepared("DELETE FROM refused_token_usage").await.unwrap();
    flush(&app).await;
    assert_eq!(bulk_calls_written(&app).await, (5_000, 5_000), "the rest written by the next write, once each");
    assert_eq!(addresses_and_events(&app).await, (5_000, 5_000), "each new address recorded and announced once");
}

/// The new addresses an earlier write left are kept through a failed transaction of counters, those of the tokens
/// after the failed one too (a write sums up one transaction's tokens at a time, so it never reached them): the
/// next write records and announces each of them once.
#[tokio::test]
async fn new_addresses_left_by_an_earlier_write_outlast_a_failed_transaction_of_counters() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app().await;
    let db = &app.state.db;
    refuse_listed_inserts(&app, "token_addresses", "ip", "TEXT").await;
    refuse_listed_inserts(&app, "token_usage", "token_id", "BIGINT").await;
    db.execute_unprepared("INSERT INTO refused_token_addresses (ip) VALUES ('127.0.0.1')").await.unwrap();
    let now = app.clock.now();
    let (_admin, ids) = fleet_used_once(&app, 5_000, now).await;
    flush(&app).await;
    assert_eq!(bulk_calls_written(&app).await, (5_000, 5_000), "the counters written");
    assert_eq!(addresses_and_events(&app).await, (0, 0), "every new address left for a later write");
    // The first 4,000 tokens used again, and the second transaction of counters (from the 2,001st token) refused:
    // the last 1,000 tokens have nothing but their left addresses, in a transaction the writes no longer reach.
    db.execute_unprepared(&format!("INSERT INTO refused_token_usage (token_id) VALUES ({})", ids[2_000]))
        .await
        .unwrap();
    let later = now + chrono::Duration::minutes(2);
    // The refused token first, so any write that takes these calls fails; the flush waits for a write under way
    // (the test servers' writer, every 50 ms, may have taken none of them yet) before the addresses are let in.
    for &id in std::iter::once(&ids[2_000]).chain(&ids[..2_000]).chain(&ids[2_001..4_000]) {
        app.state.usage.count(id, usage::UseOutcome::Accepted, later, std::net::Ipv4Addr::LOCALHOST.into());
    }
    assert!(usage::flush(&app.state).await.is_err(), "the write reports the failure");
    db.execute_unprepared("DELETE FROM refused_token_addresses").await.unwrap();
    assert!(usage::flush(&app.state).await.is_err(), "the write reports the failure");
    assert_eq!(addresses_and_events(&app).await, (0, 0), "no address recorded by a write whose counters failed");
    db.execute_unprepared("DELETE FROM refused_token_usage").await.unwrap();
    flush(&app).await;
    assert_eq!(addresses_and_events(&app).await, (5_000, 5_000), "each left address recorded and announced once");
    assert_eq!(bulk_calls_written(&app).await, (9_000, 9_000), "every call written once");
}

/// A batch of new addresses that fails (here one insert refused) is left, with the batches after it, for the next
/// write; the batches before it and the counters stay written, and nothing is recorded, announced or counted twice
/// once the fault is gone.
#[tokio::test]
async fn a_failed_batch_of_new_addresses_is_written_by_the_next_write_and_nothing_twice() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app().await;
    let db = &app.state.db;
    refuse_listed_inserts(&app, "token_addresses", "ip", "TEXT").await;
    // 10.0.1.244 is the 501st address, the first of the second batch of 500: the test servers' writer (every 50 ms)
    // retries the batch until the refusal is lifted, and a batch refused at its first insert holds the write lock
    // for a moment only (refused at its 101st, the retries held it so much of the time that the test's own DELETE
    // below waited out SQLite's 5 s busy timeout).
    db.execute_unprepared("INSERT INTO refused_token_addresses (ip) VALUES ('10.0.1.244')").await.unwrap();
    let admin = used_from_new_addresses(&app, 2_000).await;
    flush(&app).await;
    assert_eq!(addresses_and_events(&app).await, (500, 500), "the first batch written, the rest left");
    db.execute_unprepared("DELETE FROM refused_token_addresses").await.unwrap();
    flush(&app).await;
    assert_eq!(addresses_and_events(&app).await, (2_000, 2_000), "the rest written at the next write, once each");
    let report = usage_of(&app, &admin, "admin", "?bucket=day").await;
    let accepted: u64 = report["buckets"].as_array().unwrap().iter().map(|b| b["accepted"].as_u64().unwrap()).sum();
    assert_eq!(accepted, 2_001, "every call counted once (and the report's own): {report}");
}

/// The accepted calls of `name` in its usage report's hours `[from, to)` (UTC, as the report takes them), and its
/// addresses as shown: (address, first seen, last seen).
async fn report_of(
    app: &TestApp,
    admin: &str,
    name: &str,
    from: &str,
    to: &str,
) -> (u64, Vec<(String, String, String)>) {
    let report = usage_of(app, admin, name, &format!("?bucket=hour&from={from}&to={to}")).await;
    let accepted = report["buckets"].as_array().unwrap().iter().map(|b| b["accepted"].as_u64().unwrap()).sum();
    let text = |a: &Value, key: &str| a[key].as_str().unwrap().to_owned();
    let addresses = report["addresses"].as_array().unwrap().iter();
    (accepted, addresses.map(|a| (text(a, "ip"), text(a, "first_seen"), text(a, "last_seen"))).collect())
}

/// A usage report and the tokens table's requests add what memory holds to what the database holds: neither
/// writes anything (a page view at 100,000 busy tokens paid a whole write, two seconds, before), and the hours
/// that left the window since the last write are taken out all the same.
#[tokio::test]
async fn reports_and_the_requests_column_add_what_is_not_written_yet_and_write_nothing() {
    // No minute's write during the test: what is not written stays in memory.
    let app = spawn_app_writing_usage_every(std::time::Duration::from_secs(3_600)).await;
    app.create_account("alice", "all").await;
    let admin = app.simple_token("alice", "admin", &["all"]).await;
    let secret = app.simple_token("alice", "ci", &["list-accts"]).await;
    let id = app.token_row("ci").await.unwrap().id;
    let call = || async { assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status(), 200) };
    // Three calls at 10:00, written; two at 10:30 and one from another address at 10:40, not written.
    for _ in 0..3 {
        call().await;
    }
    flush(&app).await;
    app.clock.advance(chrono::Duration::minutes(30));
    call().await;
    call().await;
    let other: std::net::IpAddr = "192.0.2.7".parse().unwrap();
    let at = app.clock.now() + chrono::Duration::minutes(10);
    app.state.usage.count(id, usage::UseOutcome::Accepted, at, other);
    let written = format!("SELECT CAST(coalesce(sum(count), 0) AS BIGINT) FROM token_usage WHERE token_id = {id}");
    assert_eq!(number(&app, &written).await, 3);

    let (accepted, addresses) = report_of(&app, &admin, "ci", "2026-11-22T10:00:00Z", "2026-11-22T11:00:00Z").await;
    assert_eq!(accepted, 6, "the written calls and those in memory, each once");
    assert_eq!(
        addresses,
        [
            ("192.0.2.7".to_owned(), "2026-11-22T10:40:00Z".to_owned(), "2026-11-22T10:40:00Z".to_owned()),
            // First seen as recorded, last seen from memory.
            ("127.0.0.1".to_owned(), "2026-11-22T10:00:00Z".to_owned(), "2026-11-22T10:30:00Z".to_owned()),
        ]
    );
    assert_eq!(requests_30d(&app, "alice", &["ci"]).await, [6]);
    assert_eq!(number(&app, &written).await, 3, "reading wrote nothing");
    assert_eq!(count(&app, "token_addresses").await, 1, "reading recorded no address");

    // 30 days on, the 10:00 hour has left the window; nothing has moved the stored window yet.
    app.clock.advance(chrono::Duration::hours(720));
    assert_eq!(requests_30d(&app, "alice", &["ci"]).await, [0]);
    call().await;
    assert_eq!(requests_30d(&app, "alice", &["ci"]).await, [1]);
    flush(&app).await;
    assert_eq!(requests_30d(&app, "alice", &["ci"]).await, [1], "the same once written and the window moved");
    assert_eq!(number(&app, &written).await, 7);
}

/// While a long write is under way (5,000 tokens' counters in three transactions, with pauses), a usage report
/// and the tokens table's requests are answered at once, not after the write, and count every call exactly
/// once: those of the tokens already committed from the database, the others from memory.
#[tokio::test]
async fn reads_during_a_long_write_are_answered_at_once_and_count_each_call_once() {
    let app = spawn_app_writing_usage_every(std::time::Duration::from_secs(3_600)).await;
    let now = app.clock.now();
    let (admin, ids) = fleet_used_once(&app, 5_000, now).await;
    flush(&app).await;
    for &id in &ids {
        let later = now + chrono::Duration::minutes(2);
        app.state.usage.count(id, usage::UseOutcome::Accepted, later, std::net::Ipv4Addr::LOCALHOST.into());
    }
    let state = app.state.clone();
    let writing = tokio::spawn(async move { usage::flush_in_background(&state).await });
    // The first, a middle and the last token: in the write's first, second and third transaction.
    let names = ["bulk-1", "bulk-2500", "bulk-5000"];
    let mut answered_during = 0;
    loop {
        let finished = writing.is_finished();
        assert_eq!(requests_30d(&app, "alice", &names).await, [2, 2, 2]);
        for name in names {
            let (accepted, _) = report_of(&app, &admin, name, "2026-11-22T10:00:00Z", "2026-11-22T11:00:00Z").await;
            assert_eq!(accepted, 2, "{name}");
        }
        if finished {
            break;
        }
        answered_during += usize::from(!writing.is_finished());
    }
    assert!(answered_during >= 2, "the reads were answered while the write went on ({answered_during})");
    writing.await.unwrap().expect("the write");
    assert_eq!(bulk_calls_written(&app).await, (10_000, 10_000), "every call written once");
}

#[test]
fn a_server_asked_to_stop_writes_what_it_counted_first() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::common::fresh_database_blocking(dir.path());
    let mut server = crate::common::LoggedServer::start(&db, dir.path());
    let created = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["token", "create", "--account", "admin", "--name", "ci", "--expires", "never", "--privilege", "all"])
        .env("DATABASE_URL", &db)
        .output()
        .unwrap();
    let secret = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    assert!(secret.starts_with("tsr_"), "{}", String::from_utf8_lossy(&created.stderr));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        for _ in 0..7 {
            let response = reqwest::Client::new()
                .get(format!("{}/api/v1/auth", server.base))
                .bearer_auth(&secret)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
        }
    });
    // Well before the writer's next round (every minute): only the stop can have written them.
    assert!(server.terminate().success());
    let calls: i64 = runtime.block_on(async {
        use sea_orm::ConnectionTrait;
        let conn = sea_orm::Database::connect(db.as_str()).await.unwrap();
        let sum = "SELECT CAST(coalesce(sum(count), 0) AS BIGINT) FROM token_usage WHERE outcome = 'accepted'";
        let row = conn.query_one_raw(sea_orm::Statement::from_string(conn.get_database_backend(), sum)).await.unwrap();
        row.unwrap().try_get_by_index(0).unwrap()
    });
    assert_eq!(calls, 7);
}
