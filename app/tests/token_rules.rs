//! SPEC §2, rule by rule, through the token services on a real SQLite database.
#![cfg(feature = "ssr")]

mod common;

use app::services::clock::Clock;
use app::{
    api::{NewToken, TokenQuery, TokenSort},
    domain::{Expiry, ExpiryStatus, TokenSecret},
    error::AppError,
    services::{Actor, actor::TokenGrant, tokens},
};
use chrono::{Duration, TimeZone, Utc};
use common::{contains, test_store, token};

fn field_error(result: Result<impl std::fmt::Debug, AppError>, field: &str) -> String {
    match result {
        Err(err) => err.for_field(field).unwrap_or_else(|| panic!("expected an error on {field}, got {err:?}")),
        Ok(ok) => panic!("expected an error on {field}, got {ok:?}"),
    }
}

/// An allowlist as an edge would parse it for the services.
fn ips(raw: &str) -> Option<app::domain::IpAllowlist> {
    Some(app::domain::IpAllowlist::parse(raw).expect("a valid allowlist"))
}

/// A date expiry, already parsed (the service still refuses one in the past).
fn on(date: &str) -> Option<Expiry> {
    Some(Expiry::On(date.parse().expect("a date")))
}

#[tokio::test]
async fn a_new_token_is_shown_once_and_only_its_hash_and_hint_are_stored() {
    let store = test_store().await;
    let alice = store.account("alice", "all").await;
    let issued = store.create_named(&alice, "deploy").await;

    let secret = TokenSecret::parse(&issued.secret).expect("a well-formed secret with a valid checksum");
    assert_eq!(issued.token.hint, secret.hint());
    assert!(issued.secret.starts_with("tsr_") && issued.secret.len() == 42);
    assert!(!format!("{issued:?}").contains(&issued.secret), "Debug must not print the secret");

    // Later reads never carry the secret.
    let listed = tokens::get(&store.state, &alice, "deploy").await.unwrap();
    assert_eq!(listed, issued.token);
    let json = serde_json::to_string(&listed).unwrap();
    assert!(!json.contains(&issued.secret[4..]));

    let bytes = store.database_bytes().await;
    assert!(!contains(&bytes, &issued.secret), "the secret is in the database file");
    assert!(!contains(&bytes, &issued.secret[4..36]), "the secret's random part is in the database file");
    assert!(contains(&bytes, &app::services::random::sha256_hex(&issued.secret)), "its SHA-256 is stored");
}

#[tokio::test]
async fn bad_names_are_refused_with_the_rule_and_nothing_is_written() {
    let store = test_store().await;
    let alice = store.account("alice", "all").await;
    let cases = [
        (&"a".repeat(51) as &str, "51 characters long; the limit is 50"),
        ("bad name", "contains “ ”"),
        ("tökén", "contains “ö”"),
        ("", "cannot be empty"),
    ];
    for (name, message) in cases {
        let error = field_error(store.create(&alice, token(name)).await, "name");
        assert!(error.contains(message), "{name:?}: {error}");
    }
    assert_eq!(store.token_count().await, 0);
    assert!(store.create(&alice, token(&"a".repeat(50))).await.is_ok(), "50 characters are fine");
}

#[tokio::test]
async fn names_are_unique_per_account_regardless_of_case() {
    let store = test_store().await;
    let alice = store.account("alice", "all").await;
    let bob = store.account("bob", "all").await;
    store.create_named(&alice, "Deploy").await;

    let error = field_error(store.create(&alice, token("deploy")).await, "name");
    assert!(error.contains("already in use"), "{error}");
    assert!(store.create(&bob, token("deploy")).await.is_ok(), "another account may use the same name");

    store.create_named(&alice, "backup").await;
    let error = field_error(tokens::rename(&store.state, &alice, "backup", "DEPLOY").await, "name");
    assert!(error.contains("already in use"), "{error}");
    let renamed = tokens::rename(&store.state, &alice, "deploy", "DEPLOY").await.unwrap();
    assert_eq!(renamed.name, "DEPLOY", "changing only the case of its own name is fine");
    let error = field_error(tokens::rename(&store.state, &alice, "DEPLOY", "no spaces").await, "name");
    assert!(error.contains("“ ”"));
}

#[tokio::test]
async fn two_concurrent_creates_of_one_name_exactly_one_wins() {
    let store = test_store().await;
    let alice = store.account("alice", "all").await;
    for round in 0..5 {
        let name = format!("race-{round}");
        let (a, b) = tokio::join!(store.create(&alice, token(&name)), store.create(&alice, token(&name)));
        let outcomes = [a, b];
        assert_eq!(outcomes.iter().filter(|r| r.is_ok()).count(), 1, "round {round}");
        let loser = outcomes.into_iter().find_map(Result::err).unwrap();
        assert!(loser.for_field("name").unwrap().contains("already in use"), "{loser:?}");
    }
    assert_eq!(store.token_count().await, 5);
}

#[tokio::test]
async fn expiry_is_never_or_a_date_from_today_ending_at_23_59_59_server_time() {
    let store = test_store().await;
    let alice = store.account("alice", "all").await;
    let with_expiry = |name: &str, expires: &str| NewToken { expires: expires.into(), ..token(name) };

    let never = store.create(&alice, with_expiry("never", "never")).await.unwrap();
    assert_eq!(never.token.expires_at, None);
    // Berlin is UTC+1 in January: 23:59:59 there is 22:59:59 UTC.
    let dated = store.create(&alice, with_expiry("dated", "2027-01-31")).await.unwrap();
    assert_eq!(dated.token.expires_at, Some(Utc.with_ymd_and_hms(2027, 1, 31, 22, 59, 59).unwrap()));
    let today = store.create(&alice, with_expiry("today", "2026-11-22")).await.unwrap();
    assert_eq!(today.token.expires_at, Some(Utc.with_ymd_and_hms(2026, 11, 22, 22, 59, 59).unwrap()));

    for (expires, message) in [
        ("2026-02-30", "2026-02-30 is not a date on the calendar."),
        ("2026-11-21", "The expiry date must be today or later."),
        ("31/01/2027", "YYYY-MM-DD"),
        ("", "YYYY-MM-DD"),
    ] {
        let error = field_error(store.create(&alice, with_expiry("bad", expires)).await, "expires");
        assert!(error.contains(message), "{expires:?}: {error}");
    }
    assert_eq!(store.token_count().await, 3);

    let options = tokens::form_options(&store.state, &alice).await.unwrap();
    assert_eq!(options.time_zone, "Europe/Berlin");
    assert_eq!(options.default_expiry, chrono::NaiveDate::from_ymd_opt(2027, 11, 22).unwrap(), "one year ahead");
}

#[tokio::test]
async fn expired_tokens_stay_listed_and_are_marked_expired() {
    let store = test_store().await;
    let alice = store.account("alice", "all").await;
    store.create(&alice, NewToken { expires: "2026-11-22".into(), ..token("short") }).await.unwrap();
    let listed = tokens::get(&store.state, &alice, "short").await.unwrap();
    assert_eq!(Expiry::status(listed.expires_at, store.clock.now()), ExpiryStatus::ExpiresSoon);

    store.clock.advance(Duration::days(3));
    let page = tokens::list(&store.state, &alice, &TokenQuery::default()).await.unwrap();
    assert_eq!(page.total, 1, "expired tokens are not removed");
    assert_eq!(Expiry::status(page.tokens[0].expires_at, store.clock.now()), ExpiryStatus::Expired);
}

#[tokio::test]
async fn allowlists_are_validated_entry_by_entry_and_normalised() {
    let store = test_store().await;
    let alice = store.account("alice", "all").await;
    let with_ips = |ips: &str| NewToken { allowlist: ips.into(), ..token("ips") };

    for (ips, message) in [
        ("999.1.1.1", "999.1.1.1 is not a valid IP address or range."),
        ("192.0.2.1\n10.0.0.0/33", "line 2: 10.0.0.0/33 is not a valid range"),
        ("::1/0", "::1/0 is not a valid range"),
        ("10.0.0.7/24", "did you mean 10.0.0.0/24?"),
    ] {
        let error = field_error(store.create(&alice, with_ips(ips)).await, "allowlist");
        assert!(error.contains(message), "{ips:?}: {error}");
    }
    let many: Vec<String> = (0..101).map(|i| format!("10.0.{}.{}", i / 250, i % 250)).collect();
    let error = field_error(store.create(&alice, with_ips(&many.join("\n"))).await, "allowlist");
    assert!(error.contains("at most 100"), "{error}");
    assert_eq!(store.token_count().await, 0);

    let ok = store.create(&alice, with_ips("2001:db8::/32, 192.0.2.7/32 10.0.0.0/8\n192.0.2.7")).await.unwrap();
    assert_eq!(ok.token.allowlist, ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]);
}

#[tokio::test]
async fn privileges_must_be_known_held_and_at_least_one() {
    let store = test_store().await;
    let reseller = store.account("reseller", "manage-api-tokens,list-accts").await;
    let with_privileges =
        |names: &[&str]| NewToken { privileges: names.iter().map(|n| n.to_string()).collect(), ..token("scoped") };

    for (names, message) in [
        (&["root"][..], "“root” is not a known privilege."),
        (&["kill-acct"][..], "You cannot grant “kill-acct”: your account does not hold it."),
        (&["all"][..], "You cannot grant “all”"),
        (&[][..], "Choose at least one privilege."),
    ] {
        let error = field_error(store.create(&reseller, with_privileges(names)).await, "privileges");
        assert!(error.contains(message), "{names:?}: {error}");
    }
    assert_eq!(store.token_count().await, 0);

    let ok = store.create(&reseller, with_privileges(&["list-accts", "manage-api-tokens"])).await.unwrap();
    assert_eq!(ok.token.privileges, ["list-accts", "manage-api-tokens"]);

    // Only privileges the owner holds are offered; `all` expands to the whole catalog for its holder.
    let offered: Vec<_> =
        tokens::form_options(&store.state, &reseller).await.unwrap().privileges.into_iter().map(|p| p.name).collect();
    assert_eq!(offered, ["manage-api-tokens", "list-accts"]);
    let admin = store.account("root-admin", "all").await;
    let offered = tokens::form_options(&store.state, &admin).await.unwrap().privileges;
    assert_eq!(offered.len(), 10);
    assert!(offered.iter().find(|p| p.name == "passwd").unwrap().dangerous);
}

#[tokio::test]
async fn an_account_without_manage_api_tokens_cannot_manage_tokens() {
    let store = test_store().await;
    let viewer = store.account("viewer", "list-accts").await;
    assert_eq!(store.create(&viewer, token("x")).await.unwrap_err(), AppError::Forbidden("manage-api-tokens".into()));
    assert!(matches!(tokens::list(&store.state, &viewer, &TokenQuery::default()).await, Err(AppError::Forbidden(_))));
}

#[tokio::test]
async fn a_suspended_account_cannot_create_tokens() {
    use app::store::entities::account;
    use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
    let store = test_store().await;
    let alice = store.account("alice", "all").await;
    let mut model = alice.account().cloned().unwrap().into_active_model();
    model.suspended = Set(true);
    let model: account::Model = model.update(&store.state.db).await.unwrap();
    let alice = app::services::Actor::session(model, None);

    assert_eq!(store.create(&alice, token("x")).await.unwrap_err(), AppError::AccountSuspended);
    assert_eq!(store.token_count().await, 0);
}

#[tokio::test]
async fn nobody_can_see_or_touch_another_accounts_tokens() {
    let store = test_store().await;
    let alice = store.account("alice", "all").await;
    let mallory = store.account("mallory", "all").await;
    let original = store.create_named(&alice, "alice-token").await.token;
    let name = "alice-token";
    let state = &store.state;

    assert_eq!(tokens::get(state, &mallory, name).await.unwrap_err(), AppError::NoSuchToken(name.into()));
    assert_eq!(tokens::rename(state, &mallory, name, "mine").await.unwrap_err(), AppError::NoSuchToken(name.into()));
    let update = tokens::update(state, &mallory, name, ips("192.0.2.1"), Some(&["passwd".into()])).await;
    assert_eq!(update.unwrap_err(), AppError::NoSuchToken(name.into()));
    assert_eq!(tokens::rotate(state, &mallory, name, None, 0).await.unwrap_err(), AppError::NoSuchToken(name.into()));
    assert_eq!(tokens::revoke(state, &mallory, &[name.into()]).await.unwrap_err(), AppError::NoSuchToken(name.into()));
    assert_eq!(tokens::revoke_all(state, &mallory).await.unwrap(), 0);
    assert_eq!(tokens::list(state, &mallory, &TokenQuery::default()).await.unwrap().total, 0);

    assert_eq!(tokens::get(state, &alice, name).await.unwrap(), original, "nothing changed");
}

#[tokio::test]
async fn updates_replace_allowlist_and_privileges_but_never_the_expiry() {
    let store = test_store().await;
    let alice = store.account("alice", "all").await;
    let before = store.create_named(&alice, "edit-me").await.token;

    let after =
        tokens::update(&store.state, &alice, "edit-me", ips("192.0.2.0/24"), Some(&["passwd".into()])).await.unwrap();
    assert_eq!(after.allowlist, ["192.0.2.0/24"]);
    assert_eq!(after.privileges, ["passwd"]);
    assert_eq!(after.expires_at, before.expires_at);

    let error = field_error(app::model::tokens::parse_allowlist("10.0.0.0/33"), "allowlist");
    assert!(error.contains("10.0.0.0/33"));
    let error = field_error(tokens::update(&store.state, &alice, "edit-me", None, Some(&[])).await, "privileges");
    assert!(error.contains("at least one"));
    assert_eq!(tokens::get(&store.state, &alice, "edit-me").await.unwrap(), after, "refused updates change nothing");

    let cleared = tokens::update(&store.state, &alice, "edit-me", ips(""), None).await.unwrap();
    assert!(cleared.allowlist.is_empty(), "an empty allowlist means any address");
}

#[tokio::test]
async fn rotation_replaces_the_secret_and_may_keep_the_old_one_for_a_grace_period() {
    use app::store::tokens as token_store;
    let store = test_store().await;
    let alice = store.account("alice", "all").await;
    let first = store.create_named(&alice, "rotate-me").await;

    let second = tokens::rotate(&store.state, &alice, "rotate-me", None, 0).await.unwrap();
    assert_ne!(second.secret, first.secret);
    assert_eq!(second.token.expires_at, first.token.expires_at, "no new expiry given: kept");
    let row =
        token_store::find_by_name(&store.state.db, alice.account().unwrap().id, "rotate-me").await.unwrap().unwrap();
    assert_eq!(row.secret_hash, app::services::random::sha256_hex(&second.secret));
    assert_eq!(row.previous_secret_hash, None, "without grace the old secret stops at once");

    let third = tokens::rotate(&store.state, &alice, "rotate-me", Some(Expiry::Never), 60).await.unwrap();
    assert_eq!(third.token.expires_at, None, "rotation may choose a new expiry");
    let row =
        token_store::find_by_name(&store.state.db, alice.account().unwrap().id, "rotate-me").await.unwrap().unwrap();
    assert_eq!(row.previous_secret_hash.as_deref(), Some(app::services::random::sha256_hex(&second.secret).as_str()));
    assert_eq!(row.previous_valid_until, Some(store.clock.now() + Duration::minutes(60)));

    let error = field_error(tokens::rotate(&store.state, &alice, "rotate-me", None, 24 * 60 + 1).await, "grace");
    assert!(error.contains("24 hours"));
    let error = field_error(tokens::rotate(&store.state, &alice, "rotate-me", on("2020-01-01"), 0).await, "expires");
    assert!(error.contains("today or later"));
    let bytes = store.database_bytes().await;
    for secret in [&first.secret, &second.secret, &third.secret] {
        assert!(!contains(&bytes, secret));
    }
}

#[tokio::test]
async fn revoking_one_many_or_all() {
    let store = test_store().await;
    let alice = store.account("alice", "all").await;
    for name in ["a", "b", "c", "d", "e"] {
        store.create_named(&alice, name).await;
    }
    assert_eq!(tokens::revoke(&store.state, &alice, &["A".into()]).await.unwrap(), ["a"]);
    let revoked = tokens::revoke(&store.state, &alice, &["b".into(), "c".into(), "zzz".into()]).await.unwrap();
    assert_eq!(revoked.len(), 2, "existing ones are revoked, missing ones reported by their absence");
    assert_eq!(
        tokens::revoke(&store.state, &alice, &["zzz".into()]).await.unwrap_err(),
        AppError::NoSuchToken("zzz".into())
    );
    assert!(tokens::revoke(&store.state, &alice, &[]).await.unwrap_err().for_field("names").is_some());
    assert_eq!(tokens::revoke_all(&store.state, &alice).await.unwrap(), 2);
    assert_eq!(store.token_count().await, 0);
}

#[tokio::test]
async fn every_change_is_audited_without_the_secret() {
    let store = test_store().await;
    let alice = store.account("alice", "all").await;
    let issued = store.create_named(&alice, "audited").await;
    tokens::rename(&store.state, &alice, "audited", "audited-2").await.unwrap();
    tokens::update(&store.state, &alice, "audited-2", ips("192.0.2.9"), None).await.unwrap();
    let rotated = tokens::rotate(&store.state, &alice, "audited-2", None, 0).await.unwrap();
    tokens::revoke(&store.state, &alice, &["audited-2".into()]).await.unwrap();

    let actions = store.audit_actions().await;
    let expected = [
        ("token.create", "audited"),
        ("token.rename", "audited → audited-2"),
        ("token.update", "audited-2"),
        ("token.rotate", "audited-2"),
        ("token.revoke", "audited-2"),
    ];
    assert_eq!(actions, expected.map(|(a, t)| (a.to_owned(), t.to_owned())));
    let bytes = store.database_bytes().await;
    assert!(!contains(&bytes, &issued.secret) && !contains(&bytes, &rotated.secret));
}

#[tokio::test]
async fn the_list_searches_sorts_and_pages_on_the_server() {
    let store = test_store().await;
    let alice = store.account("alice", "all").await;
    for i in 0..25 {
        store.clock.advance(Duration::minutes(1));
        store.create_named(&alice, &format!("deploy-{i:02}")).await;
    }
    store.create_named(&alice, "a_b").await;
    store.create_named(&alice, "axb").await;
    store.create(&alice, NewToken { expires: "never".into(), ..token("Backup") }).await.unwrap();
    let state = store.state.clone();
    let caller = alice.clone();
    let list = move |query: TokenQuery| {
        let (state, caller) = (state.clone(), caller.clone());
        async move { tokens::list(&state, &caller, &query).await }
    };

    let newest = list(TokenQuery::default()).await.unwrap();
    assert_eq!(newest.total, 28);
    assert_eq!(newest.tokens.len(), 20);
    assert_eq!(newest.tokens[0].name, "Backup", "newest first by default");

    let found = list(TokenQuery { search: "DEPLOY-1".into(), ..TokenQuery::default() }).await.unwrap();
    assert_eq!(found.total, 10, "case-insensitive, across all pages");
    let underscore = list(TokenQuery { search: "a_b".into(), ..TokenQuery::default() }).await.unwrap();
    assert_eq!(underscore.tokens.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["a_b"], "`_` is literal");
    let nothing = list(TokenQuery { search: "100%".into(), ..TokenQuery::default() }).await.unwrap();
    assert_eq!(nothing.total, 0);

    let by_name =
        TokenQuery { sort: TokenSort::Name, descending: false, per_page: 10, page: 3, ..TokenQuery::default() };
    let page3 = list(by_name).await.unwrap();
    assert_eq!(page3.tokens.first().unwrap().name, "deploy-17");
    assert_eq!(page3.tokens.len(), 8, "the last page holds the remaining 28 - 20");
    assert_eq!(page3.total, 28);

    let by_expiry = TokenQuery { sort: TokenSort::Expires, descending: false, per_page: 100, ..TokenQuery::default() };
    assert_eq!(list(by_expiry).await.unwrap().tokens.last().unwrap().name, "Backup", "never expiring sorts last");

    for bad in [TokenQuery { per_page: 7, ..TokenQuery::default() }, TokenQuery { page: 0, ..TokenQuery::default() }] {
        assert!(matches!(list(bad).await, Err(AppError::Invalid { .. })));
    }
}

#[tokio::test]
async fn a_token_cannot_mint_more_than_it_holds() {
    let store = test_store().await;
    let alice = store.account("alice", "all").await;
    let parent_expiry = Utc.with_ymd_and_hms(2027, 1, 31, 22, 59, 59).unwrap();
    let through_token = Actor::token(
        alice.account().cloned().unwrap(),
        TokenGrant {
            id: 0,
            name: "ci".into(),
            privileges: app::domain::PrivilegeSet::from_names([
                "manage-api-tokens".to_owned(),
                "list-accts".to_owned(),
            ]),
            expires_at: Some(parent_expiry),
            allowlist: app::domain::IpAllowlist::parse("10.0.0.0/8").unwrap(),
            rate_limit: None,
        },
        alice.client_ip().map(str::to_owned),
    );
    let child = |privileges: &[&str], expires: &str, ips: &str| NewToken {
        name: "child".into(),
        expires: expires.into(),
        allowlist: ips.into(),
        privileges: privileges.iter().map(|p| p.to_string()).collect(),
        rate_limit: String::new(),
    };

    let error = field_error(store.create(&through_token, child(&["passwd"], "2027-01-01", "")).await, "privileges");
    assert!(error.contains("the token you are using does not hold it"), "{error}");
    let error = field_error(store.create(&through_token, child(&["list-accts"], "2027-02-01", "")).await, "expires");
    assert!(error.contains("2027-01-31"), "{error}");
    let error = field_error(store.create(&through_token, child(&["list-accts"], "never", "")).await, "expires");
    assert!(error.contains("cannot outlive"), "{error}");
    let error =
        field_error(store.create(&through_token, child(&["list-accts"], "2027-01-01", "192.0.2.1")).await, "allowlist");
    assert!(error.contains("within"), "{error}");
    assert_eq!(store.token_count().await, 0);

    let ok = store.create(&through_token, child(&["list-accts"], "2027-01-31", "")).await.unwrap();
    assert_eq!(ok.token.allowlist, ["10.0.0.0/8"], "no allowlist given: the calling token's is inherited");
    let narrower = store.create(
        &through_token,
        NewToken { name: "child-2".into(), ..child(&["list-accts"], "2027-01-01", "10.1.0.0/16") },
    );
    assert_eq!(narrower.await.unwrap().token.allowlist, ["10.1.0.0/16"]);
    let error = field_error(
        tokens::update(&store.state, &through_token, "child", None, Some(&["kill-acct".into()])).await,
        "privileges",
    );
    assert!(error.contains("kill-acct"));
}
