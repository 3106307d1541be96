//! Expiry warnings (issue 14): a token's owner hears 30, 7 and 1 day(s) before it expires, and once when it has
//! expired, by webhook (`token.expiring`, `token.expired`) and by e-mail. Each warning is claimed in the database
//! before it is queued, in the same transaction, so it goes out once per token, stage and expiry, across restarts
//! and instances. Tokens that never expire are never warned about; a revoked token is gone, with its warnings.
//!
//! A stage is only sent to a token that existed before it began: a token made to last ten days gets no
//! "30 days left" warning, and its 7-day one a little later.

use super::{
    Core,
    notify::{self, Event, Mail},
};
use crate::store::{self, accounts, expiry_warnings, tokens::Token};
use chrono::{DateTime, Duration, Utc};
use sea_orm::DbErr;
use serde_json::json;

/// Each stage: its name, and the time before expiry at which it begins and ends (the next stage's start).
const STAGES: [(&str, i64, i64); 3] = [("30d", 30, 7), ("7d", 7, 1), ("1d", 1, 0)];
/// Expired tokens are told about for this long after their expiry (not, say, years later on first start).
const EXPIRED_LOOKBACK_DAYS: i64 = 7;
/// Tokens handled per stage and round.
const ROUND: u64 = 500;

/// One round: claims and queues every warning due now. Answers how many were queued.
pub async fn scan(core: &Core) -> Result<usize, DbErr> {
    let now = core.clock.now();
    let mut queued = 0;
    for (stage, starts, ends) in STAGES {
        let due = expiry_warnings::unwarned_between(
            &core.db,
            stage,
            now + Duration::days(ends),
            now + Duration::days(starts),
            ROUND,
        )
        .await?;
        for token in due {
            let existed = token.expires_at.is_some_and(|at| token.created_at <= at - Duration::days(starts));
            queued += usize::from(warn(core, &token, stage, existed, now).await?);
        }
    }
    let expired =
        expiry_warnings::unwarned_between(&core.db, "expired", now - Duration::days(EXPIRED_LOOKBACK_DAYS), now, ROUND)
            .await?;
    for token in expired {
        queued += usize::from(warn(core, &token, "expired", true, now).await?);
    }
    if queued > 0 {
        core.notifications.wake();
    }
    Ok(queued)
}

/// Claims `stage` for `token` and, when `send`, queues its warning, in one transaction. `true` when queued.
async fn warn(core: &Core, token: &Token, stage: &str, send: bool, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let Some(expires_at) = token.expires_at else { return Ok(false) };
    let txn = store::begin_write(&core.db).await?;
    let done: Result<bool, DbErr> = async {
        if !expiry_warnings::claim(&txn, token.id, stage, expires_at, now).await? || !send {
            return Ok(false);
        }
        let Some(owner) = accounts::find_by_id(&txn, token.account_id).await? else { return Ok(false) };
        notify::emit(&txn, core, event(core, token, &owner.username, stage, expires_at, now)).await?;
        Ok(true)
    }
    .await;
    store::finish(txn, done).await
}

fn event(
    core: &Core,
    token: &Token,
    account: &str,
    stage: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Event {
    let privileges: Vec<&str> = token.privileges.split_whitespace().collect();
    let manage = notify::link(core, &format!("/tokens/manage/{}", token.name));
    let when = notify::local(core, expires_at);
    if stage == "expired" {
        return Event {
            kind: "token.expired",
            data: json!({
                "account": account,
                "token": {"name": token.name, "expires_at": expires_at, "privileges": privileges},
            }),
            mail: Some(Mail {
                account_id: token.account_id,
                subject: format!("Your Tessera API token “{}” has expired", token.name),
                text: format!(
                    "The API token “{}” of account {account} expired at {when}. Requests made with it are refused.\n\n\
                     If it is still needed, rotate it on its Manage page (a new secret, the same name, privileges \
                     and allowlist) and give it a new expiry:\n{manage}\n",
                    token.name
                ),
            }),
        };
    }
    let days_left = (expires_at - now).num_seconds().div_euclid(86_400) + 1;
    let days = if days_left == 1 { "1 day".to_owned() } else { format!("{days_left} days") };
    Event {
        kind: "token.expiring",
        data: json!({
            "account": account,
            "token": {"name": token.name, "expires_at": expires_at, "privileges": privileges},
            "stage": stage,
            "days_left": days_left,
        }),
        mail: Some(Mail {
            account_id: token.account_id,
            subject: format!("Your Tessera API token “{}” expires in {days}", token.name),
            text: format!(
                "The API token “{}” of account {account} expires at {when}, in {days}. After that, requests made \
                 with it are refused.\n\nRotate it on its Manage page (a new secret, the same name, privileges and \
                 allowlist) or give it a new expiry:\n{manage}\n\nEvery token of yours that expires within 7 days:\n{}\n",
                token.name,
                notify::link(core, "/tokens?expiring=true"),
            ),
        }),
    }
}
