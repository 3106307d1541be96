//! The native API (`/api/v1`) over real HTTP: RFC 7662 introspection, token CRUD with no escalation, the generated
//! OpenAPI document, and JSON errors for every caller mistake.

use crate::common::{TokenSpec, spawn_app};
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

#[tokio::test]
async fn introspection_describes_active_tokens_and_only_says_inactive_otherwise() {
    let app = spawn_app().await;
    app.create_account("gateway", "introspect list-accts").await;
    app.create_account("alice", "all").await;
    let gateway = app.simple_token("gateway", "gw", &["introspect"]).await;
    let plain = app.simple_token("gateway", "plain", &["list-accts"]).await;
    let alice = app
        .token(TokenSpec {
            account: "alice",
            name: "ci",
            privileges: &["list-accts", "passwd"],
            allowlist: "",
            expires: "2027-01-31",
        })
        .await;

    let url = app.url("/api/v1/introspect");
    let introspect = |bearer: String, token: String| {
        let url = url.clone();
        async move {
            let response = client().post(url).bearer_auth(bearer).form(&[("token", token)]).send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = introspect(gateway.clone(), alice.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], true);
    assert_eq!(body["username"], "alice");
    assert_eq!(body["token_name"], "ci");
    assert_eq!(body["scope"], "list-accts passwd");
    assert_eq!(body["iat"], app.clock_unix());
    assert!(body["exp"].as_i64().unwrap() > app.clock_unix());

    for inactive in ["tsr_garbage".to_owned(), app::domain::TokenSecret::generate().expose().to_owned()] {
        let (status, body) = introspect(gateway.clone(), inactive).await;
        assert_eq!((status, body), (200, json!({"active": false})));
    }
    app.sql("UPDATE accounts SET suspended = TRUE WHERE username = 'alice'").await;
    assert_eq!(introspect(gateway.clone(), alice.clone()).await.1, json!({"active": false}));

    // The caller needs `introspect`, and must say which token.
    let (status, body) = introspect(plain, alice.clone()).await;
    assert_eq!(status, 403);
    assert!(body["message"].as_str().unwrap().contains("“introspect”"));
    let response = client().post(app.url("/api/v1/introspect")).bearer_auth(&gateway).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "bad_request");
}

#[tokio::test]
async fn token_crud_mirrors_the_web_app() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let admin = app.simple_token("alice", "admin", &["all"]).await;

    let response = client()
        .post(app.url("/api/v1/tokens"))
        .bearer_auth(&admin)
        .json(&json!({"name": "ci", "expires": "2027-01-31", "allowlist": ["192.0.2.0/24"], "privileges": ["list-accts"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let issued: Value = response.json().await.unwrap();
    let ci_secret = issued["secret"].as_str().unwrap().to_owned();
    assert_eq!(issued["token"]["name"], "ci");
    assert_eq!(issued["token"]["allowlist"], json!(["192.0.2.0/24"]));

    let response =
        client().get(app.url("/api/v1/tokens?sort=name&descending=false")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    assert_eq!(page["total"], 2);
    assert_eq!(page["tokens"][0]["name"], "admin");
    assert_eq!(page["tokens"][1]["hint"].as_str().map(str::len), Some(8)); // the hint only
    assert!(!page.to_string().contains(&ci_secret));

    let response = client()
        .patch(app.url("/api/v1/tokens/ci"))
        .bearer_auth(&admin)
        .json(&json!({"name": "deploy", "privileges": ["list-accts", "passwd"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let token: Value = response.json().await.unwrap();
    assert_eq!(
        (token["name"].as_str(), token["privileges"].clone()),
        (Some("deploy"), json!(["list-accts", "passwd"]))
    );

    let response = client()
        .post(app.url("/api/v1/tokens/deploy/rotate"))
        .bearer_auth(&admin)
        .json(&json!({"grace_minutes": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let rotated: Value = response.json().await.unwrap();
    assert_ne!(rotated["secret"].as_str().unwrap(), ci_secret);

    let response = client().get(app.url("/api/v1/tokens/deploy")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let response = client().delete(app.url("/api/v1/tokens/deploy")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(response.status(), 204);
    let response = client().get(app.url("/api/v1/tokens/deploy")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "not_found");
}

#[tokio::test]
async fn no_escalation_through_the_native_api() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let limited = app
        .token(TokenSpec {
            account: "alice",
            name: "limited",
            privileges: &["manage-api-tokens", "list-accts"],
            allowlist: "127.0.0.1",
            expires: "2027-01-31",
        })
        .await;
    for (body, field) in [
        (json!({"name": "a", "privileges": ["passwd"]}), "privileges"),
        (json!({"name": "a", "privileges": ["all"]}), "privileges"),
        (json!({"name": "a", "privileges": ["list-accts"], "expires": "never"}), "expires"),
        (json!({"name": "a", "privileges": ["list-accts"], "allowlist": ["0.0.0.0/0"]}), "allowlist"),
    ] {
        let response = client().post(app.url("/api/v1/tokens")).bearer_auth(&limited).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 422, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!((error["error"].as_str(), error["field"].as_str()), (Some("invalid"), Some(field)), "{error}");
    }
    let response = client()
        .patch(app.url("/api/v1/tokens/limited"))
        .bearer_auth(&limited)
        .json(&json!({"privileges": ["kill-acct"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let response = client()
        .post(app.url("/api/v1/tokens/limited/rotate"))
        .bearer_auth(&limited)
        .json(&json!({"expires": "never"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);

    // Defaults through a token: its own expiry and allowlist.
    let response = client()
        .post(app.url("/api/v1/tokens"))
        .bearer_auth(&limited)
        .json(&json!({"name": "child", "privileges": ["list-accts"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let child: Value = response.json().await.unwrap();
    assert_eq!(child["token"]["allowlist"], json!(["127.0.0.1"]));
    assert_eq!(child["token"]["expires_at"], json!(app.token_row("limited").await.unwrap().expires_at));
}

#[tokio::test]
async fn caller_mistakes_are_json_4xx_never_5xx() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let admin = app.simple_token("alice", "admin", &["all"]).await;
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (client().post(app.url("/api/v1/tokens")).body("{}"), 415, "unsupported_media_type"),
        (
            client().post(app.url("/api/v1/tokens")).header("content-type", "application/json").body("{"),
            400,
            "bad_request",
        ),
        (client().post(app.url("/api/v1/tokens")).json(&json!({"name": "a"})), 400, "bad_request"),
        (
            client().post(app.url("/api/v1/tokens")).json(&json!({"name": "a", "privileges": [], "extra": 1})),
            400,
            "bad_request",
        ),
        (client().post(app.url("/api/v1/tokens")).json(&json!({"name": "a", "privileges": []})), 422, "invalid"),
        (
            client()
                .post(app.url("/api/v1/tokens"))
                .header("content-type", "application/json")
                .body(vec![b' '; 100 * 1024]),
            413,
            "payload_too_large",
        ),
        (client().get(app.url("/api/v1/tokens?per_page=7")), 422, "invalid"),
        (client().get(app.url("/api/v1/tokens?page=x")), 400, "bad_request"),
        (client().get(app.url("/api/v1/tokens?page=1&page=2")), 400, "bad_request"),
        (client().get(app.url("/api/v1/tokens/%ff")), 400, "bad_request"),
        (client().get(app.url("/api/v1/auth?privilege=a&privilege=b")), 400, "bad_request"),
        (client().get(app.url("/api/v1/nothing-here")), 404, "not_found"),
        (client().put(app.url("/api/v1/tokens")), 405, ""),
    ];
    for (request, status, code) in cases {
        let response = request.bearer_auth(&admin).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{code}");
        if !code.is_empty() {
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], code, "{body}");
        }
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_native_api() {
    let app = spawn_app().await;
    let response = client().get(app.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/introspect",
        "/api/v1/auth",
        "/api/v1/tokens",
        "/api/v1/tokens/{name}",
        "/api/v1/tokens/{name}/rotate",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    assert!(doc["components"]["schemas"].get("ApiToken").is_some());
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
}

#[tokio::test]
async fn health_checks_need_no_token() {
    let app = spawn_app().await;
    assert_eq!(client().get(app.url("/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(client().get(app.url("/readyz")).send().await.unwrap().status(), 200);
}

/// Pages of every order, read one after another, give each token once, in the order SPEC §2 sets ("never" after
/// every date when ascending, first when descending; ties by creation), with the same total on every page and
/// on a search; the list reads "never" and the dated tokens as two runs (store::tokens::page_nullable), so the
/// pages straddling the boundary are the ones that matter.
#[tokio::test]
async fn every_order_pages_through_never_and_dated_tokens_once_each() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let admin = app.simple_token("alice", "admin", &["manage-api-tokens"]).await;
    // 24 more: every third never expires, the others on dates with ties (the same date three times).
    let mut made = vec![("admin".to_owned(), None)];
    for i in 0..24 {
        let name = format!("tok-{i:02}");
        let expires = (i % 3 != 0).then(|| format!("2027-{:02}-15", 1 + (i / 3) % 6));
        app.token(TokenSpec {
            account: "alice",
            name: &name,
            privileges: &["list-accts"],
            allowlist: "",
            expires: expires.as_deref().unwrap_or("never"),
        })
        .await;
        made.push((name, expires));
    }
    // Creation order is the list's position in `made`; ties are broken by it in the sort's direction.
    let expected = |descending: bool| -> Vec<String> {
        let mut order: Vec<usize> = (0..made.len()).collect();
        order.sort_by(|&a, &b| {
            let key = |i: usize| (made[i].1.is_none(), made[i].1.clone(), i);
            key(a).cmp(&key(b))
        });
        if descending {
            order.reverse();
        }
        order.into_iter().map(|i| made[i].0.clone()).collect()
    };
    for descending in [false, true] {
        let mut seen = Vec::new();
        for page in 1..=3 {
            let url = format!("/api/v1/tokens?sort=expires&descending={descending}&per_page=10&page={page}");
            let response = client().get(app.url(&url)).bearer_auth(&admin).send().await.unwrap();
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["total"], 25, "page {page}: {body}");
            seen.extend(body["tokens"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()));
        }
        assert_eq!(seen, expected(descending), "descending={descending}");
    }
    // Name and creation orders, page by page (the later pages are read from the far end), both ways.
    for (sort, by) in [("name", "name"), ("created", "created")] {
        for descending in [false, true] {
            let mut seen = Vec::new();
            for page in 1..=4 {
                let url = format!("/api/v1/tokens?sort={sort}&descending={descending}&per_page=10&page={page}");
                let response = client().get(app.url(&url)).bearer_auth(&admin).send().await.unwrap();
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["total"], 25, "{url}: {body}");
                seen.extend(body["tokens"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()));
            }
            let mut expected: Vec<String> = made.iter().map(|(name, _)| name.clone()).collect();
            if by == "name" {
                expected.sort();
            }
            if descending {
                expected.reverse();
            }
            assert_eq!(seen, expected, "sort={sort} descending={descending}");
        }
    }
    // Tokens never used: last use orders them by creation alone (the admin token, in use, is searched away).
    let response = client()
        .get(app.url("/api/v1/tokens?search=tok-&sort=last_used&descending=false&per_page=10&page=3"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    let names: Vec<&str> = body["tokens"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!((body["total"].clone(), names), (json!(24), vec!["tok-20", "tok-21", "tok-22", "tok-23"]));
    // A search's total, on its last page (known without counting) and on a full first page (counted).
    for (url, total, shown) in [
        ("/api/v1/tokens?search=tok-1&per_page=10&page=1", 10, 10),
        ("/api/v1/tokens?search=tok-&per_page=10&page=3", 24, 4),
        ("/api/v1/tokens?search=tok-&per_page=10&page=4", 24, 0),
        ("/api/v1/tokens?search=nothing&per_page=10&page=1", 0, 0),
    ] {
        let response = client().get(app.url(url)).bearer_auth(&admin).send().await.unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            (body["total"].clone(), body["tokens"].as_array().map(Vec::len)),
            (json!(total), Some(shown)),
            "{url}"
        );
    }
}

/// Last use over the whole list, page by page, in SPEC §2's order ("never" after every date when ascending, first
/// when descending; ties by creation): with no token used, some used (fewer than a page, so the first page is
/// made of both runs one way and of one run the other), and all used. The first page is read without counting
/// either run (store::tokens::page_nullable), so it is checked against the later pages' rows and the kept total.
#[tokio::test]
async fn last_use_pages_the_whole_list_in_order_whether_or_not_a_run_fills_the_first_page() {
    use app::{domain::TokenSort, store::tokens};
    use sea_orm::ConnectionTrait;
    let app = spawn_app().await;
    app.create_account("carol", "all").await;
    let names: Vec<String> = (0..10).map(|i| format!("t-{i}")).collect();
    for name in &names {
        app.simple_token("carol", name, &["list-accts"]).await;
    }
    let carol = app.account_row("carol").await;
    // Which tokens were used, and when (two of them at the same moment).
    let uses: [&[(usize, &str)]; 3] = [
        &[],
        &[(7, "2026-03-01T10:00:00+00:00"), (2, "2026-02-01T10:00:00+00:00"), (5, "2026-02-01T10:00:00+00:00")],
        &[
            (0, "2026-01-09T00:00:00+00:00"),
            (1, "2026-01-08T00:00:00+00:00"),
            (2, "2026-01-07T00:00:00+00:00"),
            (3, "2026-01-06T00:00:00+00:00"),
            (4, "2026-01-05T00:00:00+00:00"),
            (5, "2026-01-04T00:00:00+00:00"),
            (6, "2026-01-03T00:00:00+00:00"),
            (7, "2026-01-02T00:00:00+00:00"),
            (8, "2026-01-01T00:00:00+00:00"),
            (9, "2026-01-01T00:00:00+00:00"),
        ],
    ];
    // Set behind the server's back (last use is no verification rule, so nothing waits for a notification).
    let db = &app.state.db;
    let sql = |statement: String| async move { db.execute_unprepared(&statement).await.unwrap() };
    for used in uses {
        sql(format!("UPDATE tokens SET last_used_at = NULL WHERE account_id = {}", carol.id)).await;
        for (i, at) in used {
            sql(format!("UPDATE tokens SET last_used_at = '{at}' WHERE name = '{}'", names[*i])).await;
        }
        let used_at = |i: usize| used.iter().find(|(j, _)| *j == i).map(|(_, at)| *at);
        for descending in [false, true] {
            let mut expected: Vec<usize> = (0..names.len()).collect();
            expected.sort_by_key(|&i| (used_at(i).is_none(), used_at(i), i));
            if descending {
                expected.reverse();
            }
            let expected: Vec<&str> = expected.iter().map(|&i| names[i].as_str()).collect();
            for per_page in [4, 20] {
                let mut seen = Vec::new();
                for offset in (0..names.len() as u64).step_by(per_page as usize) {
                    let filter = Default::default();
                    let (rows, total) = tokens::page(
                        &app.state.db,
                        carol.id,
                        filter,
                        TokenSort::LastUsed,
                        descending,
                        offset,
                        per_page,
                    )
                    .await
                    .unwrap();
                    assert_eq!(total, 10, "{} used, descending {descending}, offset {offset}", used.len());
                    seen.extend(rows.into_iter().map(|row| row.name));
                }
                assert_eq!(seen, expected, "{} used, descending {descending}, {per_page} a page", used.len());
            }
        }
    }
}

/// The counts the database keeps per account (m0015: how many tokens, how many never expire), which the list's
/// totals and its "never"/dated runs come from, against a count of the rows after every kind of change: creates,
/// a revoke through the API, expiry set and cleared, a token moved to another account, many deleted at once,
/// and an account deleted with its tokens (by hand, as an administrator might: the triggers see every path).
#[tokio::test]
async fn the_kept_token_counts_follow_every_change_and_give_the_lists_totals() {
    use app::store::tokens::{TokenCounts, counts};
    use sea_orm::{ConnectionTrait, Statement};
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    app.create_account("bob", "manage-api-tokens").await;
    let admin = app.simple_token("alice", "admin", &["manage-api-tokens"]).await;
    for (account, name, expires) in [
        ("alice", "a-never", "never"),
        ("alice", "a-dated", "2030-01-01"),
        ("alice", "a-moved", "never"),
        ("alice", "a-gone", "2030-02-01"),
        ("bob", "b-one", "never"),
        ("bob", "b-two", "2030-03-01"),
    ] {
        app.token(TokenSpec { account, name, privileges: &["manage-api-tokens"], allowlist: "", expires }).await;
    }
    let (alice, bob) = (app.account_row("alice").await.id, app.account_row("bob").await.id);
    let (db, app, admin) = (&app.state.db, &app, &admin);
    let check = |when: &'static str| async move {
        for id in [alice, bob] {
            let sql = format!(
                "SELECT COUNT(*) AS tokens, CAST(COALESCE(SUM(CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END), 0) \
                 AS BIGINT) AS never_expire FROM tokens WHERE account_id = {id}"
            );
            let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
            let real = TokenCounts {
                tokens: row.try_get::<i64>("", "tokens").unwrap() as u64,
                never_expire: row.try_get::<i64>("", "never_expire").unwrap() as u64,
            };
            assert_eq!(counts(db, id).await.unwrap(), real, "{when}: account {id}");
        }
        let response = client().get(app.url("/api/v1/tokens?per_page=10")).bearer_auth(admin).send().await.unwrap();
        let body: Value = response.json().await.unwrap();
        let kept = counts(db, alice).await.unwrap();
        assert_eq!(body["total"], kept.tokens, "{when}: the list's total");
    };
    check("after the creates").await;
    assert_eq!(
        counts(db, alice).await.unwrap(),
        TokenCounts { tokens: 5, never_expire: 3 },
        "the admin token never expires"
    );

    let revoked = client().delete(app.url("/api/v1/tokens/a-gone")).bearer_auth(admin).send().await.unwrap();
    assert!(revoked.status().is_success(), "{}", revoked.status());
    check("after a revoke").await;
    app.sql("UPDATE tokens SET expires_at = NULL WHERE name = 'a-dated'").await;
    check("after an expiry cleared").await;
    app.sql("UPDATE tokens SET expires_at = '2031-01-01T00:00:00+00:00' WHERE name IN ('a-dated', 'a-never')").await;
    check("after expiries set").await;
    app.sql(&format!("UPDATE tokens SET account_id = {bob} WHERE name = 'a-moved'")).await;
    check("after a token moved to another account").await;
    assert_eq!(counts(db, bob).await.unwrap(), TokenCounts { tokens: 3, never_expire: 2 });

    // Expiry orders read their runs' sizes from the counts: "never" last when ascending, first when descending.
    for (descending, expected) in [(false, ["a-never", "a-dated", "admin"]), (true, ["admin", "a-dated", "a-never"])] {
        let url = format!("/api/v1/tokens?sort=expires&descending={descending}&per_page=10");
        let body: Value = client().get(app.url(&url)).bearer_auth(admin).send().await.unwrap().json().await.unwrap();
        let names: Vec<&str> =
            body["tokens"].as_array().into_iter().flatten().filter_map(|t| t["name"].as_str()).collect();
        assert_eq!((body["total"].clone(), names), (json!(3), expected.to_vec()), "{body}");
    }

    app.sql(&format!("DELETE FROM tokens WHERE account_id = {alice} AND name <> 'admin'")).await;
    check("after many deleted at once").await;
    app.sql("DELETE FROM accounts WHERE username = 'bob'").await;
    check("after an account deleted with its tokens").await;
    assert_eq!(counts(db, bob).await.unwrap(), TokenCounts::default(), "the account's counts go with it");
}

/// A big account's search is answered from its names held in memory (store::name_index, from 1,000 tokens): the
/// same pages and totals as SPEC §2's search, in both orders and directions, and a token added, renamed or deleted
/// behind the server's back (another instance, an administrator's SQL) or revoked through it is found, or no longer
/// found, by the very next search.
#[tokio::test]
async fn a_big_accounts_search_finds_every_change_at_once() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let admin = app.simple_token("alice", "admin", &["all"]).await;
    // 1,200 more in one statement, with the admin token's creation time (ties: by creation, i.e. id).
    let make = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200) \
         INSERT INTO tokens (account_id, name, name_key, secret_hash, hint, created_at, expires_at, allowlist, \
         privileges) SELECT t.account_id, k.kind || n.i, k.kind || n.i, 'bulk-hash-' || n.i, t.hint, t.created_at, \
         t.expires_at, t.allowlist, t.privileges FROM tokens t, n, \
         (SELECT 0 AS r, 'deploy-' AS kind UNION ALL SELECT 1, 'backup-' UNION ALL SELECT 2, 'ci-') k \
         WHERE t.name = 'admin' AND k.r = n.i % 3 ORDER BY n.i";
    app.state.db.execute_unprepared(make).await.unwrap();
    let kind = |i: u32| ["deploy-", "backup-", "ci-"][(i % 3) as usize];
    let mut created: Vec<String> = vec!["admin".to_owned()];
    created.extend((1..=1200).map(|i| format!("{}{i}", kind(i))));

    let search = |query: String| {
        let (url, admin) = (app.url(&format!("/api/v1/tokens?{query}")), admin.clone());
        async move {
            let response = client().get(url).bearer_auth(admin).send().await.unwrap();
            assert_eq!(response.status(), 200, "{query}");
            let body: Value = response.json().await.unwrap();
            let names = body["tokens"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned());
            (body["total"].as_u64().unwrap(), names.collect::<Vec<_>>())
        }
    };
    let expected = |names: &[String], needle: &str, by_name: bool, descending: bool, page: usize| {
        let mut matching: Vec<String> = names.iter().filter(|name| name.contains(needle)).cloned().collect();
        if by_name {
            matching.sort();
        }
        if descending {
            matching.reverse();
        }
        let total = matching.len() as u64;
        (total, matching.into_iter().skip((page - 1) * 50).take(50).collect::<Vec<_>>())
    };
    // The account's first search starts reading its names (the database answers it); once they are held, memory
    // answers every search until they change.
    let account = app.token_row("admin").await.unwrap().account_id;
    let names = &app.state.names;
    assert_eq!(search("search=backup-&per_page=50".into()).await, expected(&created, "backup-", false, true, 1));
    let started = std::time::Instant::now();
    while names.held_at(account).is_none() {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "the names were never read");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let held = names.held_at(account);
    for (needle, page) in
        [("backup-", 1), ("backup-", 3), ("backup-", 8), ("backup-", 9), ("1", 2), ("ci-12", 1), ("zzz", 1)]
    {
        for (sort, by_name) in [("created", false), ("name", true)] {
            for descending in [false, true] {
                let query = format!("search={needle}&sort={sort}&descending={descending}&per_page=50&page={page}");
                assert_eq!(
                    search(query.clone()).await,
                    expected(&created, needle, by_name, descending, page),
                    "{query}"
                );
            }
        }
    }
    // Upper case in the search box finds the same (names are searched ignoring case).
    assert_eq!(search("search=BaCkUp-7&per_page=50".into()).await, expected(&created, "backup-7", false, true, 1));
    assert_eq!(names.held_at(account), held, "the searches above were answered from the same names in memory");
    // After a change each search is right, whether the database answers it (the names being read again) or memory
    // (once they are): `check` searches until the names were read again, then once more.
    type Want = Box<dyn Fn(&(u64, Vec<String>)) -> bool>;
    let check = |query: &'static str, want: Want| {
        let search = &search;
        async move {
            let before = names.held_at(account);
            let started = std::time::Instant::now();
            loop {
                let found = search(query.to_owned()).await;
                assert!(want(&found), "{query}: {found:?}");
                if names.held_at(account) != before {
                    let found = search(query.to_owned()).await;
                    assert!(want(&found), "{query}, from memory: {found:?}");
                    return;
                }
                assert!(started.elapsed() < std::time::Duration::from_secs(10), "{query}: names not read again");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
    };

    // Behind the server's back: one added, one renamed, one deleted.
    app.sql(
        "INSERT INTO tokens (account_id, name, name_key, secret_hash, hint, created_at, expires_at, allowlist, \
         privileges) SELECT account_id, 'Zeta-Late', 'zeta-late', 'late-hash', hint, created_at, expires_at, \
         allowlist, privileges FROM tokens WHERE name = 'admin'",
    )
    .await;
    check("search=zeta&per_page=50", Box::new(|found| *found == (1, vec!["Zeta-Late".to_owned()]))).await;
    app.sql("UPDATE tokens SET name = 'Renamed-7', name_key = 'renamed-7' WHERE name = 'deploy-6'").await;
    check(
        "search=deploy-6&per_page=50&sort=name&descending=false",
        Box::new(|found| found.1[..3] == ["deploy-60", "deploy-600", "deploy-603"]),
    )
    .await;
    assert_eq!(search("search=renamed&per_page=50".into()).await, (1, vec!["Renamed-7".to_owned()]));
    app.sql("DELETE FROM tokens WHERE name = 'ci-2'").await;
    check("search=ci-2&per_page=50&sort=name&descending=false", Box::new(|found| found.1[0] == "ci-20")).await;
    // Through the API.
    let revoked = client().delete(app.url("/api/v1/tokens/backup-1")).bearer_auth(&admin).send().await.unwrap();
    assert!(revoked.status().is_success(), "{}", revoked.status());
    let left = expected(&created, "backup-1", true, false, 1).0 - 1;
    check(
        "search=backup-1&per_page=50&sort=name&descending=false",
        Box::new(move |found| found.0 == left && found.1[0] == "backup-10"),
    )
    .await;

    // Renamed through the API: the names held follow the rename at once, held at the account's change counter
    // as it stands, so the very next search is answered from memory (not by the database while they are read
    // again), and finds the new name and no longer the old one, in both orders.
    let counter = || async {
        let row = app
            .state
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                app.state.db.get_database_backend(),
                format!("SELECT changes FROM token_counts WHERE account_id = {account}"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    };
    assert_eq!(names.held_at(account), Some(counter().await));
    let renamed = client()
        .patch(app.url("/api/v1/tokens/ci-5"))
        .bearer_auth(&admin)
        .json(&json!({"name": "Omega-5"}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), 200);
    assert_eq!(names.held_at(account), Some(counter().await), "the names held follow the rename");
    assert_eq!(search("search=omega&per_page=50".into()).await, (1, vec!["Omega-5".to_owned()]));
    let ci_5 = search("search=ci-5&sort=name&descending=false&per_page=50".into()).await;
    assert_eq!(ci_5.1[0], "ci-50", "{ci_5:?}");
    assert_eq!(ci_5.0, expected(&created, "ci-5", true, false, 1).0 - 1, "the old name no longer found");
    let by_name = search("search=e&sort=name&descending=true&per_page=50".into()).await;
    assert_eq!(by_name.1[0], "Zeta-Late", "{by_name:?}");
    assert_eq!(by_name.1[1], "Renamed-7", "{by_name:?}");
    assert_eq!(by_name.1[2], "Omega-5", "{by_name:?}");
}
