//! Accounts over real HTTP (SPEC §1–2, §4 account functions, issue 6): the WHM account functions with their
//! envelopes and privileges, and what suspending, renaming, deleting and editing privileges do to tokens and
//! sessions, through the web app's server functions and the API alike.

use crate::common::{PASSWORD, TestApp, spawn_app};
use serde_json::{Value, json};

async fn rpc(app: &TestApp, client: &reqwest::Client, function: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = client.post(app.url(&format!("/rpc/{function}"))).form(form).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// 200 when `secret` (sent as `cpanel USER:TOKEN`) passes forward-auth for `list-accts`.
async fn auth_status(app: &TestApp, user: &str, secret: &str) -> u16 {
    app.get_with("/api/v1/auth?privilege=list-accts", &format!("cpanel {user}:{secret}")).await.status().as_u16()
}

async fn signed_in(app: &TestApp, name: &str) -> reqwest::Client {
    let client = app.client();
    assert_eq!(app.login(&client, name, PASSWORD).await.status(), 200, "{name} signs in");
    client
}

#[tokio::test]
async fn whm_account_functions_create_list_suspend_rename_passwd_and_remove() {
    let app = spawn_app().await;
    app.create_account("root", "all").await;
    let root = format!("whm root:{}", app.simple_token("root", "admin-script", &["all"]).await);

    let (status, body) = app.whm(
        &root,
        &format!(
            "createacct?api.version=1&username=reseller&password={PASSWORD}&acl-0=list-accts&acl-1=manage-api-tokens"
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["metadata"], json!({"command": "createacct", "reason": "OK", "result": 1, "version": 1}));
    assert_eq!(body["data"], json!({"user": "reseller", "acls": ["list-accts", "manage-api-tokens"]}));
    let token = app.simple_token("reseller", "script", &["list-accts"]).await;
    assert_eq!(auth_status(&app, "reseller", &token).await, 200);

    let (status, body) = app.whm(&root, "listaccts?api.version=1&search=resel&searchtype=user").await;
    assert_eq!(status, 200, "{body}");
    let accts = body["data"]["acct"].as_array().unwrap();
    assert_eq!(accts.len(), 1);
    assert_eq!(accts[0]["user"], "reseller");
    assert_eq!(accts[0]["suspended"], 0);
    assert_eq!(accts[0]["api_tokens"], 1);

    // Suspended: its token is refused until unsuspended.
    let (status, body) = app.whm(&root, "suspendacct?api.version=1&user=reseller&reason=unpaid").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["suspended"], 1);
    assert_eq!(auth_status(&app, "reseller", &token).await, 401);
    let client = app.client();
    assert_eq!(app.login(&client, "reseller", PASSWORD).await.status(), 403, "a suspended account cannot sign in");
    app.whm(&root, "unsuspendacct?api.version=1&user=reseller").await;
    assert_eq!(auth_status(&app, "reseller", &token).await, 200);

    // Renamed: the token keeps working, sent with the new name; the old name no longer matches.
    let (status, body) = app.whm(&root, "modifyacct?api.version=1&user=reseller&newuser=partner").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["user"], "partner");
    assert_eq!(auth_status(&app, "partner", &token).await, 200);
    assert_eq!(auth_status(&app, "reseller", &token).await, 401);

    let (status, _) = app.whm(&root, "passwd?api.version=1&user=partner&password=brand-new-password-9").await;
    assert_eq!(status, 200);
    assert_eq!(app.login(&app.client(), "partner", PASSWORD).await.status(), 401);
    assert_eq!(app.login(&app.client(), "partner", "brand-new-password-9").await.status(), 200);

    // Removed: every token goes with it.
    let (status, body) = app.whm(&root, "removeacct?api.version=1&username=partner").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], json!({"user": "partner", "api_tokens_revoked": 1}));
    assert_eq!(auth_status(&app, "partner", &token).await, 401);
    assert!(app.token_row("script").await.is_none());

    let (_, body) = app.whm(&root, "listaccts?api.version=1").await;
    let users: Vec<_> = body["data"]["acct"].as_array().unwrap().iter().map(|a| a["user"].clone()).collect();
    assert_eq!(users, [json!("root")]);
    let actions: Vec<_> = app.audit_actions().await.into_iter().map(|(action, ..)| action).collect();
    for expected in [
        "account.create",
        "account.suspend",
        "account.unsuspend",
        "account.rename",
        "account.password.reset",
        "account.delete",
    ] {
        assert!(actions.iter().any(|a| a == expected), "{expected} in {actions:?}");
    }
}

#[tokio::test]
async fn each_account_function_needs_its_privilege_and_nobody_grants_what_they_lack() {
    let app = spawn_app().await;
    app.create_account("root", "all").await;
    app.create_account("helpdesk", "list-accts create-acct suspend-acct").await;
    app.create_account("customer", "manage-api-tokens").await;
    let desk = app.simple_token("helpdesk", "desk", &["list-accts", "create-acct", "suspend-acct"]).await;
    let helpdesk = format!("whm helpdesk:{desk}");
    let lister = format!("whm helpdesk:{}", app.simple_token("helpdesk", "lister", &["list-accts"]).await);

    for (query, privilege) in [
        ("removeacct?api.version=1&username=customer", "kill-acct"),
        ("modifyacct?api.version=1&user=customer&newuser=x", "edit-account"),
        ("passwd?api.version=1&user=customer&password=whatever-long", "passwd"),
    ] {
        let (status, body) = app.whm(&helpdesk, query).await;
        assert_eq!(status, 403, "{query}: {body}");
        assert_eq!(body["metadata"]["result"], 0);
        assert!(body["metadata"]["reason"].as_str().unwrap().contains(privilege), "{body}");
    }
    // The token's own privileges limit it too, not only the account's.
    let (status, body) = app.whm(&lister, "suspendacct?api.version=1&user=customer").await;
    assert_eq!(status, 403, "{body}");
    assert!(body["metadata"]["reason"].as_str().unwrap().contains("suspend-acct"));

    // Granting a privilege the creator does not hold is refused, and nothing is created.
    let (status, body) = app
        .whm(&helpdesk, &format!("createacct?api.version=1&username=sneaky&password={PASSWORD}&acl-0=kill-acct"))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["metadata"]["reason"].as_str().unwrap().contains("“kill-acct”"), "{body}");
    let (_, body) = app.whm(&lister, "listaccts?api.version=1&search=sneaky").await;
    assert_eq!(body["data"]["acct"], json!([]));

    // Nor may it touch an account holding more than it does (root holds `all`).
    let (status, body) = app.whm(&helpdesk, "suspendacct?api.version=1&user=root").await;
    assert_eq!(status, 422, "{body}");
    assert!(!app.account_row("root").await.suspended);

    // Bad input: a clear 4xx in the WHM envelope.
    let (status, body) = app.whm(&helpdesk, "createacct?api.version=1&username=bad%20name&password=x").await;
    assert!((400..500).contains(&status), "{body}");
    let (status, body) = app.whm(&helpdesk, "suspendacct?api.version=1&user=nobody").await;
    assert_eq!(status, 422);
    assert!(body["metadata"]["reason"].as_str().unwrap().contains("no account named “nobody”"));
    let (status, _) = app.whm(&helpdesk, "suspendacct?api.version=1").await;
    assert_eq!(status, 400);
    let (status, body) = app.whm(&helpdesk, "createacct?api.version=1&username=nopriv&password=long-enough-pw").await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn privileges_removed_from_an_account_leave_its_tokens_at_once() {
    let app = spawn_app().await;
    app.create_account("admin", "all").await;
    app.create_account("bob", "list-accts manage-api-tokens").await;
    let token = app.simple_token("bob", "ro", &["list-accts"]).await;
    assert_eq!(auth_status(&app, "bob", &token).await, 200);

    let admin = signed_in(&app, "admin").await;
    let (status, body) =
        rpc(&app, &admin, "set_account_privileges", &[("name", "bob"), ("privileges[0]", "manage-api-tokens")]).await;
    assert_eq!(status, 200, "{body}");
    let refused = app.get_with("/api/v1/auth?privilege=list-accts", &format!("Bearer {token}")).await;
    assert_eq!(refused.status(), 403, "the very next request");

    // Given back, it works again: the token kept its own set; its effective set follows the owner.
    rpc(&app, &admin, "set_account_privileges", &[("name", "bob"), ("privileges[0]", "list-accts")]).await;
    assert_eq!(auth_status(&app, "bob", &token).await, 200);

    // An editor cannot hand out (even to itself) what it does not hold.
    app.create_account("editor", "edit-account list-accts").await;
    let editor = signed_in(&app, "editor").await;
    let (status, body) = rpc(
        &app,
        &editor,
        "set_account_privileges",
        &[("name", "editor"), ("privileges[0]", "edit-account"), ("privileges[1]", "kill-acct")],
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("You cannot grant “kill-acct”"), "{body}");
    assert_eq!(app.account_row("editor").await.privileges, "edit-account list-accts");
}

#[tokio::test]
async fn the_last_administrator_cannot_be_suspended_deleted_or_stripped_of_all() {
    let app = spawn_app().await;
    app.create_account("admin", "all").await;
    let admin = signed_in(&app, "admin").await;

    let (status, body) =
        rpc(&app, &admin, "set_account_privileges", &[("name", "admin"), ("privileges[0]", "list-accts")]).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("last administrator"), "{body}");
    assert_eq!(app.account_row("admin").await.privileges, "all", "nothing changed");

    let (status, body) = rpc(&app, &admin, "suspend_account", &[("name", "admin"), ("suspended", "true")]).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = rpc(&app, &admin, "delete_account", &[("name", "admin")]).await;
    assert_eq!(status, 422, "{body}");

    // With a second administrator, the first may step down.
    let (status, body) =
        rpc(&app, &admin, "create_account", &[("name", "deputy"), ("password", PASSWORD), ("privileges[0]", "all")])
            .await;
    assert_eq!(status, 200, "{body}");
    let deputy = signed_in(&app, "deputy").await;
    let (status, body) = rpc(&app, &deputy, "suspend_account", &[("name", "admin"), ("suspended", "true")]).await;
    assert_eq!(status, 200, "{body}");
    // Now deputy is the last active one.
    let (status, _) =
        rpc(&app, &deputy, "set_account_privileges", &[("name", "deputy"), ("privileges[0]", "passwd")]).await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn sessions_end_on_suspension_and_password_changes() {
    let app = spawn_app().await;
    app.create_account("admin", "all").await;
    app.create_account("carol", "manage-api-tokens").await;
    let admin = signed_in(&app, "admin").await;
    let laptop = signed_in(&app, "carol").await;
    let phone = signed_in(&app, "carol").await;

    // Her own change: the current password is required; her other sessions end, this one stays.
    let (status, body) = rpc(
        &app,
        &laptop,
        "change_password",
        &[("current_password", "wrong-password"), ("new_password", "another-long-one")],
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("current_password"), "{body}");
    let (status, body) =
        rpc(&app, &laptop, "change_password", &[("current_password", PASSWORD), ("new_password", "short")]).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("new_password"), "{body}");
    let (status, body) =
        rpc(&app, &laptop, "change_password", &[("current_password", PASSWORD), ("new_password", "another-long-one")])
            .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.current_account(&laptop).await.as_deref(), Some("carol"));
    assert_eq!(app.current_account(&phone).await, None);
    assert_eq!(app.login(&app.client(), "carol", "another-long-one").await.status(), 200);

    let (status, _) = rpc(&app, &admin, "suspend_account", &[("name", "carol"), ("suspended", "true")]).await;
    assert_eq!(status, 200);
    assert_eq!(app.current_account(&laptop).await, None, "suspension ends her sessions");
}

#[tokio::test]
async fn the_accounts_screen_needs_list_accts_and_pages_with_token_counts() {
    let app = spawn_app().await;
    app.create_account("admin", "all").await;
    app.create_account("plain", "manage-api-tokens").await;
    for i in 0..25 {
        app.create_account(&format!("user{i:02}"), "manage-api-tokens").await;
    }
    app.simple_token("user03", "a", &["manage-api-tokens"]).await;
    app.simple_token("user03", "b", &["manage-api-tokens"]).await;
    let query = [("query[search]", "USER"), ("query[page]", "1"), ("query[per_page]", "10")];

    let plain = signed_in(&app, "plain").await;
    let (status, body) = rpc(&app, &plain, "accounts_screen", &query).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.to_string().contains("list-accts"));

    let admin = signed_in(&app, "admin").await;
    let (status, body) = rpc(&app, &admin, "accounts_screen", &query).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["page"]["total"], 25);
    let names: Vec<_> = body["page"]["accounts"].as_array().unwrap().iter().map(|a| a["username"].clone()).collect();
    assert_eq!(names.len(), 10);
    assert_eq!(names[0], "user00");
    assert_eq!(body["page"]["accounts"][3]["token_count"], 2);
    assert_eq!(body["rights"]["delete"], true);

    let (status, _) =
        rpc(&app, &admin, "accounts_screen", &[("query[search]", ""), ("query[page]", "0"), ("query[per_page]", "10")])
            .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn operator_privileges_appear_in_forms_work_for_forward_auth_and_go_when_removed() {
    let app = spawn_app().await;
    app.create_account("admin", "all").await;
    app.create_account("billing", "manage-api-tokens").await;
    let admin = signed_in(&app, "admin").await;

    let (status, body) = rpc(
        &app,
        &admin,
        "add_privilege",
        &[("name", "billing:read"), ("label", "Read invoices"), ("dangerous", "false")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        rpc(&app, &admin, "add_privilege", &[("name", "Billing Read"), ("label", "x"), ("dangerous", "false")]).await;
    assert_eq!(status, 422, "{body}");
    let (status, _) =
        rpc(&app, &admin, "add_privilege", &[("name", "billing:read"), ("label", "again"), ("dangerous", "false")])
            .await;
    assert_eq!(status, 409);

    let (_, form) = rpc(&app, &admin, "token_form_options", &[]).await;
    assert!(form.to_string().contains("billing:read"), "the token form offers it: {form}");
    rpc(
        &app,
        &admin,
        "set_account_privileges",
        &[("name", "billing"), ("privileges[0]", "manage-api-tokens"), ("privileges[1]", "billing:read")],
    )
    .await;
    let token = app.simple_token("billing", "invoices", &["billing:read"]).await;
    let bearer = format!("Bearer {token}");
    let check = || app.get_with("/api/v1/auth?privilege=billing:read", &bearer);
    assert_eq!(check().await.status(), 200);

    // Only holders of `all` define privileges.
    let other = signed_in(&app, "billing").await;
    let (status, _) = rpc(&app, &other, "remove_privilege", &[("name", "billing:read")]).await;
    assert_eq!(status, 403);

    let (status, body) = rpc(&app, &admin, "remove_privilege", &[("name", "billing:read")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"accounts": 1, "tokens": 1}));
    assert_eq!(check().await.status(), 403);
    assert_eq!(app.account_row("billing").await.privileges, "manage-api-tokens");
    let (status, _) = rpc(&app, &admin, "remove_privilege", &[("name", "passwd")]).await;
    assert_eq!(status, 422, "built-in privileges stay");
}

#[tokio::test]
async fn the_audit_log_shows_each_account_its_own_events_and_admins_everything() {
    let app = spawn_app().await;
    app.create_account("admin", "all").await;
    app.create_account("dave", "manage-api-tokens").await;
    app.create_account("erin", "manage-api-tokens").await;
    assert_eq!(app.login(&app.client(), "dave", "wrong-password").await.status(), 401);
    let dave = signed_in(&app, "dave").await;
    let erin = signed_in(&app, "erin").await;
    let token = app.simple_token("dave", "ci", &["manage-api-tokens"]).await;
    // A refused use (privilege) is recorded too.
    assert_eq!(app.get_with("/api/v1/auth?privilege=kill-acct", &format!("Bearer {token}")).await.status(), 403);

    let query = |extra: &'static [(&'static str, &'static str)]| {
        let mut q = vec![
            ("query[search]", ""),
            ("query[actor]", ""),
            ("query[action]", ""),
            ("query[target]", ""),
            ("query[page]", "1"),
            ("query[per_page]", "50"),
        ];
        for (k, v) in extra {
            q.retain(|(key, _)| key != k);
            q.push((k, v));
        }
        q
    };

    let (status, body) = rpc(&app, &erin, "audit_log", &query(&[])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["everything"], false);
    let entries = body["entries"].as_array().unwrap();
    assert!(entries.iter().any(|e| e["action"] == "login" && e["actor"] == "erin"), "{body}");
    assert!(
        entries.iter().any(|e| e["action"] == "account.create" && e["target"] == "erin"),
        "events about her account, by someone else, too: {body}"
    );
    assert!(!body.to_string().contains("dave"), "nothing about others: {body}");

    let (_, body) = rpc(&app, &dave, "audit_log", &query(&[("query[action]", "api.refused")])).await;
    assert_eq!(body["total"], 1, "{body}");
    assert_eq!(body["entries"][0]["via_token"], "ci");
    assert_eq!(body["entries"][0]["outcome"], "refused");
    assert_eq!(body["entries"][0]["target"], "kill-acct");

    let admin = signed_in(&app, "admin").await;
    let (_, body) = rpc(&app, &admin, "audit_log", &query(&[("query[action]", "login")])).await;
    assert_eq!(body["everything"], true);
    let outcomes: Vec<_> = body["entries"].as_array().unwrap().iter().map(|e| e["outcome"].clone()).collect();
    assert!(outcomes.contains(&json!("failure")) && outcomes.contains(&json!("success")), "{body}");
    let (_, body) = rpc(&app, &admin, "audit_log", &query(&[("query[search]", "ERIN")])).await;
    let entries = body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{body}");
    assert!(entries.iter().all(|e| e["actor"] == "erin" || e["target"] == "erin"), "{body}");
    let (_, body) = rpc(&app, &admin, "audit_log", &query(&[("query[since]", "2026-11-23")])).await;
    assert_eq!(body["total"], 0, "the clock says Nov 22: {body}");
    let (status, _) =
        rpc(&app, &admin, "audit_log", &query(&[("query[since]", "2026-11-23"), ("query[until]", "2026-11-01")])).await;
    assert_eq!(status, 422);
    assert!(!serde_json::to_string(&body).unwrap().contains(PASSWORD));
}
