//! The token server functions over real HTTP: typed errors with their own statuses, the secret shown once.

use crate::common::{PASSWORD, spawn_app};
use serde_json::Value;

fn new_token(name: &str) -> Vec<(&'static str, String)> {
    vec![
        ("token[name]", name.to_owned()),
        ("token[expires]", "2027-01-31".to_owned()),
        ("token[allowlist]", "192.0.2.0/24\n10.0.0.1".to_owned()),
        ("token[privileges][0]", "manage-api-tokens".to_owned()),
    ]
}

async fn signed_in(app: &crate::common::TestApp) -> reqwest::Client {
    app.create_account("alice", "all").await;
    let client = app.client();
    assert_eq!(app.login(&client, "alice", PASSWORD).await.status(), 200);
    client
}

#[tokio::test]
async fn creating_a_token_returns_its_secret_once() {
    let app = spawn_app().await;
    let client = signed_in(&app).await;

    let response = client.post(app.url("/rpc/create_token")).form(&new_token("deploy")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let issued: Value = response.json().await.unwrap();
    let secret = issued["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("tsr_") && secret.len() == 42);
    assert_eq!(issued["token"]["allowlist"], serde_json::json!(["10.0.0.1", "192.0.2.0/24"]));

    let list = client
        .post(app.url("/rpc/list_tokens"))
        .form(&[
            ("query[search]", ""),
            ("query[sort]", "created"),
            ("query[descending]", "true"),
            ("query[page]", "1"),
            ("query[per_page]", "20"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200);
    let body = list.text().await.unwrap();
    assert!(body.contains("\"deploy\""), "{body}");
    assert!(!body.contains(&secret[4..]), "the list never shows the secret");
}

#[tokio::test]
async fn rule_errors_reach_the_right_field_with_a_4xx_status() {
    let app = spawn_app().await;
    let client = signed_in(&app).await;
    client.post(app.url("/rpc/create_token")).form(&new_token("deploy")).send().await.unwrap();

    let taken = client.post(app.url("/rpc/create_token")).form(&new_token("DEPLOY")).send().await.unwrap();
    assert_eq!(taken.status(), 409);
    let error: Value = taken.json().await.unwrap();
    assert_eq!(error["Conflict"]["field"], "name");
    assert!(error["Conflict"]["message"].as_str().unwrap().contains("already in use"));

    let bad = client.post(app.url("/rpc/create_token")).form(&new_token("bad name")).send().await.unwrap();
    assert_eq!(bad.status(), 422);
    let error: Value = bad.json().await.unwrap();
    assert_eq!(error["Invalid"]["field"], "name");

    let missing = client.post(app.url("/rpc/revoke_tokens")).form(&[("names[0]", "nope")]).send().await.unwrap();
    assert_eq!(missing.status(), 404);

    let junk = client.post(app.url("/rpc/create_token")).form(&[("token[name]", "x")]).send().await.unwrap();
    assert_eq!(junk.status(), 400, "missing fields are the caller's mistake");
}

#[tokio::test]
async fn the_name_check_answers_taken_names_case_insensitively_but_lets_a_token_keep_its_own() {
    let app = spawn_app().await;
    let client = signed_in(&app).await;
    client.post(app.url("/rpc/create_token")).form(&new_token("deploy")).send().await.unwrap();
    let check = |fields: Vec<(&'static str, &'static str)>| {
        let request = client.post(app.url("/rpc/check_token_name")).form(&fields);
        async move { request.send().await.unwrap() }
    };

    // A taken name is an answer (200 with the field's message), not an error the browser would log.
    let answer = |response: reqwest::Response| async move {
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()
    };
    assert_eq!(answer(check(vec![("name", "backup")]).await).await, Value::Null, "a free name");
    let taken = answer(check(vec![("name", "Deploy")]).await).await;
    assert_eq!(taken, "The name “Deploy” is already in use.");

    let own = answer(check(vec![("name", "DEPLOY"), ("current", "deploy")]).await).await;
    assert_eq!(own, Value::Null, "renaming a token to its own name in other case is allowed");
    let other = answer(check(vec![("name", "deploy"), ("current", "backup")]).await).await;
    assert_eq!(other, "The name “deploy” is already in use.", "another token's name stays taken when renaming");
    let bad = check(vec![("name", "bad name")]).await;
    assert_eq!(bad.status(), 422, "a malformed name is a rule error, not a lookup");

    let nobody = app.client().post(app.url("/rpc/check_token_name")).form(&[("name", "deploy")]).send().await.unwrap();
    assert_eq!(nobody.status(), 401, "names are not revealed to strangers");
}

#[tokio::test]
async fn token_functions_need_a_session() {
    let app = spawn_app().await;
    let response = app.client().post(app.url("/rpc/create_token")).form(&new_token("x")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let response = app.client().post(app.url("/rpc/revoke_all_tokens")).send().await.unwrap();
    assert_eq!(response.status(), 401);
}

/// The tokens page's expiring-soon notice, and the list filtered to it: the live tokens that expire within 7 days,
/// soonest first, whatever else the account holds (here tokens that never expire, one expiring later).
#[tokio::test]
async fn the_expiring_soon_notice_and_filter_hold_the_tokens_expiring_within_seven_days_soonest_first() {
    use app::model::tokens::{TokenQuery, TokenSort};
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let tokens = [
        ("later", "2026-12-20"),
        ("soon", "2026-11-25"),
        ("first", "2026-11-23"),
        ("forever", "never"),
        ("always", "never"),
    ];
    for (name, expires) in tokens {
        let spec =
            crate::common::TokenSpec { account: "alice", name, privileges: &["list-accts"], allowlist: "", expires };
        app.token(spec).await;
    }
    let actor = app::services::Actor::session(app.account_row("alice").await, None);
    let names = |rows: &[app::model::tokens::TokenView]| rows.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    let (soon, total) = app::services::tokens::expiring_soon(&app.state, &actor).await.unwrap();
    assert_eq!((names(&soon), total), (vec!["first".to_owned(), "soon".to_owned()], 2));
    for descending in [false, true] {
        let query = TokenQuery { expiring: true, sort: TokenSort::Expires, descending, ..TokenQuery::default() };
        let page = app::services::tokens::list(&app.state, &actor, &query).await.unwrap();
        let expected = if descending { ["soon", "first"] } else { ["first", "soon"] };
        assert_eq!((names(&page.tokens), page.total), (expected.map(str::to_owned).to_vec(), 2));
    }
}
