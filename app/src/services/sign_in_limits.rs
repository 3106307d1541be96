//! Sign-in throttling (issue 11, OWASP ASVS 2.2.1): failed sign-ins are counted per account name and per client
//! address over a sliding window. Too many for a name locks it for a while, whether or not such an account
//! exists (so the answer says nothing about which names do); too many from an address makes that address wait
//! (429 with `Retry-After`). Everything is in the database, so it survives restarts and holds across instances.

use super::Actor;
use crate::{
    error::AppError,
    services::Core,
    store::{
        accounts,
        audit::{self, NewEvent, Outcome},
        sign_in,
    },
};
use chrono::{DateTime, Duration, Utc};

/// How many failures are allowed, over what window, and how long a lock lasts.
#[derive(Debug, Clone)]
pub struct SignInLimits {
    /// Failures within `window` that lock an account name or make an address wait.
    pub max_failures: u32,
    pub window: Duration,
    /// How long a locked account name stays locked.
    pub lockout: Duration,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self { max_failures: 10, window: Duration::minutes(15), lockout: Duration::minutes(15) }
    }
}

fn limits(state: &Core) -> &SignInLimits {
    &state.sessions.sign_in_limits
}

/// Whole seconds from `now` to `until`, at least one.
fn seconds_until(now: DateTime<Utc>, until: DateTime<Utc>) -> u64 {
    u64::try_from((until - now).num_seconds()).unwrap_or(0).max(1)
}

/// Refuses an address that failed too often within the window, saying when it may try again.
pub async fn check_address(state: &Core, client_ip: &str) -> Result<(), AppError> {
    let limits = limits(state);
    let now = state.clock.now();
    let max = u64::from(limits.max_failures);
    let recent = sign_in::address_failures_since(&state.db, client_ip, now - limits.window, max).await?;
    match recent.first() {
        // The oldest of the last `max` failures leaving the window brings the address under the limit again.
        Some(oldest) if recent.len() as u64 >= max => {
            Err(AppError::TooManyAttempts { retry_after_seconds: seconds_until(now, *oldest + limits.window) })
        }
        _ => Ok(()),
    }
}

/// Refuses a locked account name, saying for how long (the same for names no account has). The refused attempt
/// is audited and still counts against the address, so spraying locked names is throttled too.
pub async fn check_account(state: &Core, account_key: &str, client_ip: Option<&str>) -> Result<(), AppError> {
    let now = state.clock.now();
    let Some(lock) = sign_in::active_lock(&state.db, account_key, now).await? else { return Ok(()) };
    sign_in::record_failure(&state.db, Some(account_key), client_ip, now).await?;
    let event = NewEvent::new("login", account_key, None).target("locked").from_ip(client_ip).outcome(Outcome::Refused);
    audit::record(&state.db, event, now).await?;
    let minutes = seconds_until(now, lock.locked_until).div_ceil(60);
    Err(AppError::AccountLocked { minutes })
}

/// Counts a failed sign-in, and locks the account name when it reaches the limit.
pub async fn record_failure(state: &Core, account_key: Option<&str>, client_ip: Option<&str>) -> Result<(), AppError> {
    let limits = limits(state);
    let now = state.clock.now();
    sign_in::record_failure(&state.db, account_key, client_ip, now).await?;
    let Some(key) = account_key else { return Ok(()) };
    let failures = sign_in::account_failures_since(&state.db, key, now - limits.window).await?;
    if failures < u64::from(limits.max_failures) {
        return Ok(());
    }
    let until = now + limits.lockout;
    if sign_in::lock(&state.db, key, now, until).await? {
        let target = format!("{key} until {}", until.format("%Y-%m-%d %H:%M:%S UTC"));
        record(state, key, "login.locked", &target, client_ip).await?;
        tracing::warn!(account = %key, failures, "sign-in locked after too many failures");
    }
    Ok(())
}

/// A successful sign-in forgets the name's failures (the address's stay: they limit that address).
pub async fn record_success(state: &Core, account_key: &str) -> Result<(), AppError> {
    Ok(sign_in::clear_account_failures(&state.db, account_key).await?)
}

/// Lifts a lock early and forgets the name's failures (an administrator's unlock). `false`: it was not locked.
pub async fn unlock(state: &Core, account_key: &str, by: &Actor) -> Result<bool, AppError> {
    let was_locked = sign_in::unlock(&state.db, account_key).await?;
    sign_in::clear_account_failures(&state.db, account_key).await?;
    if was_locked {
        audit::record(&state.db, by.event("login.unlocked", account_key), state.clock.now()).await?;
    }
    Ok(was_locked)
}

/// Ends locks that have run out, recording each end once (whichever instance removes it), and prunes failures
/// that no longer count. The server runs this every minute.
pub async fn sweep(state: &Core) -> Result<usize, AppError> {
    let now = state.clock.now();
    let ended = sign_in::ended_locks(&state.db, now).await?;
    let mut reported = 0;
    for lock in ended {
        if sign_in::remove_ended(&state.db, &lock).await? {
            let target = format!("{} (the lock ran out)", lock.account_key);
            record(state, &lock.account_key, "login.unlocked", &target, None).await?;
            reported += 1;
        }
    }
    let horizon = limits(state).window.max(limits(state).lockout);
    sign_in::prune_failures(&state.db, now - horizon).await?;
    Ok(reported)
}

/// An audit event about an account name's lock, attributed to the account when there is one.
async fn record(
    state: &Core,
    account_key: &str,
    action: &str,
    target: &str,
    client_ip: Option<&str>,
) -> Result<(), AppError> {
    let account = accounts::find_by_name(&state.db, account_key).await?;
    let (actor_name, actor_id) = match &account {
        Some(account) => (account.username.as_str(), Some(account.id)),
        None => (account_key, None),
    };
    let event = NewEvent::new(action, actor_name, actor_id).target(target).from_ip(client_ip);
    Ok(audit::record(&state.db, event, state.clock.now()).await?)
}
