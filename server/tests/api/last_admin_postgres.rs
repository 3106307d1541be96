//! The last-administrator rule under concurrency on PostgreSQL (issue 11 item 7): two administrators demoted at
//! the same moment by different requests must not leave none. Read-committed transactions would each see the
//! other administrator still there; account changes that can remove one are serialised.

use crate::common::{PASSWORD, account_name, postgres, state_on};
use app::services::{Actor, accounts, password::Password};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_demotions_never_leave_no_administrator() {
    let url = postgres::shared_database().await;
    // Two instances on one database, as in a scale-out.
    let (one, two) = (state_on(&url).await, state_on(&url).await);
    let operator = Actor::operator();
    for round in 0..15 {
        let (a, b) = (format!("root-a-{round}"), format!("root-b-{round}"));
        for name in [&a, &b] {
            accounts::create(&one, &operator, &account_name(name), Password::new(PASSWORD.into()), &["all".into()])
                .await
                .unwrap();
        }
        // The bootstrap-free database starts each round with exactly these two administrators active.
        if round > 0 {
            for earlier in [format!("root-a-{}", round - 1), format!("root-b-{}", round - 1)] {
                let _ = accounts::delete(&one, &operator, &earlier).await;
            }
        }
        let list_only = ["list-accts".to_owned()];
        let demote_a = accounts::set_privileges(&one, &operator, &a, &list_only);
        let demote_b = accounts::set_suspended(&two, &operator, &b, true);
        let (ra, rb) = tokio::join!(demote_a, demote_b);
        let active = app::store::accounts::active_admins(&one.db).await.unwrap();
        assert!(!active.is_empty(), "round {round}: both demotions went through ({ra:?}, {rb:?})");
        assert!(ra.is_ok() != rb.is_ok(), "round {round}: exactly one may succeed ({ra:?}, {rb:?})");
        // Put the demoted one back for the next round's clean-up.
        let _ = accounts::set_privileges(&one, &operator, &a, &["all".into()]).await;
        let _ = accounts::set_suspended(&one, &operator, &b, false).await;
    }
}
