//! The cPanel-compatible APIs (UAPI, WHM API 1) under a generated corpus of bad input (issue 16): every function
//! with its parameters missing, empty, repeated, oversized, of the wrong type, non-UTF-8 or unknown, by GET and by
//! POST. Each answer is a 4xx or an answer in the API's own envelope: never a 5xx, never a dropped connection.

use crate::common::spawn_app;
use serde_json::Value;

const UAPI: &[(&str, &[&str])] = &[
    ("create_full_access", &["name", "expires_at"]),
    ("list", &[]),
    ("rename", &["name", "new_name"]),
    ("revoke", &["name"]),
];

const WHM: &[(&str, &[&str])] = &[
    ("api_token_create", &["token_name", "expires_at", "acl", "whitelist_ip"]),
    ("api_token_list", &[]),
    ("api_token_update", &["token_name", "new_name", "expires_at", "acl", "whitelist_ip"]),
    ("api_token_revoke", &["token_name"]),
    ("api_token_get_details", &["token"]),
    ("listaccts", &["search", "searchtype"]),
    ("createacct", &["username", "password", "acl"]),
    ("suspendacct", &["user"]),
    ("unsuspendacct", &["user"]),
    ("removeacct", &["user"]),
    ("modifyacct", &["user", "newuser"]),
    ("passwd", &["user", "password"]),
];

/// Values no function accepts as they are, each URL-encoded already.
const BAD_VALUES: &[&str] = &[
    "",
    "%ff%fe",
    "%00",
    "-1",
    "9223372036854775808",
    "2026-02-30",
    "not%20a%20name%21",
    "%E2%80%AE%E2%80%AD",
    "999.999.999.999%2F99",
    "all%2Call%2Call",
    "..%2F..%2Fetc%2Fpasswd",
];

/// Every bad query string for a function taking `params` (`extra` is always added: WHM's `api.version=1`).
fn corpus(params: &[&str], extra: &str) -> Vec<String> {
    let long = "a".repeat(20_000);
    let mut cases = vec![extra.to_owned(), format!("{extra}&unknown=1"), format!("{extra}&%ff=1")];
    for (i, param) in params.iter().enumerate() {
        for value in BAD_VALUES {
            cases.push(format!("{extra}&{param}={value}"));
        }
        cases.push(format!("{extra}&{param}={long}"));
        cases.push(format!("{extra}&{param}=a&{param}=b"));
        cases.push(format!("{extra}&{param}"));
        cases.push(format!("{extra}&{param}[]=x"));
        // Every parameter given but this one.
        let others: Vec<String> =
            params.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, p)| format!("{p}=ci")).collect();
        cases.push(format!("{extra}&{}", others.join("&")));
    }
    cases
}

/// POSTs `query` as a form body, as cPanel clients send parameters.
async fn post_form(client: &reqwest::Client, url: &str, auth: &str, query: &str) -> reqwest::Result<reqwest::Response> {
    client
        .post(url)
        .header("authorization", auth)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(query.to_owned())
        .send()
        .await
}

/// Asserts `response` is not a 5xx and is in the API's envelope (JSON); answers the JSON.
async fn in_envelope(response: reqwest::Response, what: &str) -> Value {
    let status = response.status();
    assert!(status.as_u16() < 500, "{what}: {status}");
    let text = response.text().await.unwrap();
    if status == 413 {
        return Value::Null; // the body limit answers before any API does
    }
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: {status}, not JSON: {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uapi_and_whm_answer_every_bad_input_with_their_own_error_never_a_5xx() {
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let token = app.simple_token("alice", "admin", &["all"]).await;
    app.simple_token("alice", "ci", &["list-accts"]).await;
    let client = reqwest::Client::new();
    let mut requests = 0;

    for (function, params) in UAPI {
        let url = app.url(&format!("/execute/Tokens/{function}"));
        for query in corpus(params, "x=1") {
            let what = format!("UAPI {function}?{query}");
            let auth = format!("cpanel alice:{token}");
            let get = client.get(format!("{url}?{query}")).header("authorization", &auth).send().await.expect(&what);
            let body = in_envelope(get, &what).await;
            if !body.is_null() {
                assert!(body.get("status").is_some(), "{what}: {body}");
            }
            in_envelope(post_form(&client, &url, &auth, &query).await.expect(&what), &what).await;
            requests += 2;
        }
    }
    for (function, params) in WHM {
        let url = app.url(&format!("/json-api/{function}"));
        for query in corpus(params, "api.version=1") {
            let what = format!("WHM {function}?{query}");
            let auth = format!("whm alice:{token}");
            let post = post_form(&client, &url, &auth, &query).await.expect(&what);
            let status = post.status();
            let body = in_envelope(post, &what).await;
            if !body.is_null() && !status.is_success() {
                assert_eq!(body["metadata"]["result"], 0, "{what}: {body}");
            }
            requests += 1;
        }
    }
    assert!(requests > 500, "{requests}");
    // Still standing, and the tokens it was given are as they were or changed only by valid calls.
    assert_eq!(app.get_with("/api/v1/auth", &format!("Bearer {token}")).await.status(), 200);
}

#[tokio::test]
async fn a_nul_in_a_name_or_a_search_finds_nothing_on_either_backend_and_fails_nothing() {
    // Nothing stored holds a NUL and PostgreSQL refuses the character outright: look-ups must not pass it on.
    let app = spawn_app().await;
    app.create_account("alice", "all").await;
    let token = app.simple_token("alice", "admin", &["all"]).await;
    let auth = format!("Bearer {token}");
    let response = app.get_with("/api/v1/tokens?search=ad%00min", &auth).await;
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    assert_eq!(page["total"], 0, "{page}");
    assert_eq!(app.get_with("/api/v1/tokens/ad%00min", &auth).await.status(), 404);
    let revoke = reqwest::Client::new().delete(app.url("/api/v1/tokens/ad%00min")).bearer_auth(&token).send().await;
    assert_eq!(revoke.unwrap().status(), 404);
    let (status, body) = app.whm(&format!("whm alice:{token}"), "suspendacct?api.version=1&user=ali%00ce").await;
    assert!(status < 500 && body["metadata"]["result"] == 0, "{status} {body}");
    let (status, body) = app.whm(&format!("whm alice:{token}"), "listaccts?api.version=1&search=a%00").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["acct"].as_array().map(Vec::len), Some(0), "{body}");
    assert_eq!(app.get_with("/api/v1/auth", &auth).await.status(), 200, "the caller's own token is untouched");
}
