//! The API Tokens server functions and the types they exchange with the web app.

use crate::error::AppError;
#[cfg(feature = "ssr")]
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub use crate::model::usage::UsageSummary;

pub use crate::model::tokens::{
    EXPIRING_DAYS, IssuedToken, LeakNotice, NewToken, PAGE_SIZES, PrivilegeOption, TokenFormOptions, TokenPage,
    TokenQuery, TokenSort, TokenView,
};

#[server(prefix = "/rpc", endpoint = "token_form_options")]
pub async fn load_token_form() -> Result<TokenFormOptions, AppError> {
    let (state, actor) = super::context::acting().await?;
    crate::services::tokens::form_options(&state, &actor).await
}

/// The name field's live check: `None` when `name` is free for a new token (or for renaming `current`), the
/// field's "already in use" message when it is taken. A taken name is answered 200 (a 409 here would be logged
/// as an error in the browser's console each time someone types a name in use); a malformed one is still 422.
#[server(prefix = "/rpc", endpoint = "check_token_name")]
pub async fn check_token_name(name: String, current: Option<String>) -> Result<Option<String>, AppError> {
    let (state, actor) = super::context::acting().await?;
    crate::services::tokens::name_taken(&state, &actor, &name, current.as_deref()).await
}

#[server(prefix = "/rpc", endpoint = "list_tokens")]
pub async fn list_tokens(query: TokenQuery) -> Result<TokenPage, AppError> {
    let (state, actor) = super::context::acting().await?;
    crate::services::tokens::list(&state, &actor, &query).await
}

#[server(prefix = "/rpc", endpoint = "get_token")]
pub async fn get_token(name: String) -> Result<TokenView, AppError> {
    let (state, actor) = super::context::acting().await?;
    crate::services::tokens::get(&state, &actor, &name).await
}

#[server(prefix = "/rpc", endpoint = "create_token")]
pub async fn create_token(token: NewToken) -> Result<IssuedToken, AppError> {
    let (state, actor, cookie) = super::context::acting_in_session().await?;
    let spec = token.parse(crate::services::tokens::today(&state))?;
    crate::services::auth::require_recent_confirmation(&state, &cookie, spec.privileges.iter().map(String::as_str))
        .await?;
    crate::services::tokens::create(&state, &actor, spec).await
}

/// The signed-in person proves it is them again (password, or a code from their authenticator app), for the
/// next minutes of dangerous acts.
#[server(prefix = "/rpc", endpoint = "confirm_identity")]
pub async fn confirm_identity(proof: String) -> Result<(), AppError> {
    use super::context::{client_ip, signed_in_session, state};
    let state = state()?;
    let ip = client_ip();
    let (account, cookie) = signed_in_session(&state).await?;
    crate::services::auth::confirm_identity(&state, &account, &cookie, &proof, ip.as_deref()).await
}

/// A challenge for one of the signed-in person's passkeys, to confirm it is them ([`confirm_identity_with_passkey`]).
#[server(prefix = "/rpc", endpoint = "start_passkey_confirmation")]
pub async fn start_passkey_confirmation() -> Result<super::PasskeyChallenge, AppError> {
    use super::context::{relying_party, signed_in_session, state};
    let state = state()?;
    let (account, _) = signed_in_session(&state).await?;
    let started = crate::services::passkeys::start_sign_in(&state, &account, &relying_party(&state)?).await?;
    Ok(super::PasskeyChallenge { handle: started.handle, options: started.options })
}

/// The signed-in person proves it is them again with a passkey (the browser's answer to the challenge).
#[server(prefix = "/rpc", endpoint = "confirm_identity_with_passkey")]
pub async fn confirm_identity_with_passkey(handle: String, credential: String) -> Result<(), AppError> {
    use super::context::{client_ip, relying_party, signed_in_session, state};
    let state = state()?;
    let ip = client_ip();
    let (account, cookie) = signed_in_session(&state).await?;
    let relying_party = relying_party(&state)?;
    crate::services::auth::confirm_identity_with_passkey(
        &state,
        &account,
        &cookie,
        &relying_party,
        &handle,
        &credential,
        ip.as_deref(),
    )
    .await
}

#[server(prefix = "/rpc", endpoint = "rename_token")]
pub async fn rename_token(name: String, new_name: String) -> Result<TokenView, AppError> {
    let (state, actor) = super::context::acting().await?;
    crate::services::tokens::rename(&state, &actor, &name, &new_name).await
}

/// Replaces the allowlist and/or the privileges of a token (`None` keeps the current value).
#[server(prefix = "/rpc", endpoint = "update_token")]
pub async fn update_token(
    name: String,
    allowlist: Option<String>,
    privileges: Option<Vec<String>>,
    /// `None`: unchanged; empty: removed.
    rate_limit: Option<String>,
) -> Result<TokenView, AppError> {
    let (state, actor, cookie) = super::context::acting_in_session().await?;
    if let Some(privileges) = &privileges {
        // Only privileges the token does not hold yet ask for a recent confirmation.
        let current = crate::services::tokens::get(&state, &actor, &name).await?.privileges;
        let added = privileges.iter().filter(|p| !current.contains(p)).map(String::as_str);
        crate::services::auth::require_recent_confirmation(&state, &cookie, added).await?;
    }
    let allowlist = allowlist.as_deref().map(crate::model::tokens::parse_allowlist).transpose()?;
    let rate_limit = rate_limit.as_deref().map(crate::model::tokens::parse_rate_limit).transpose()?;
    let edit =
        crate::services::tokens::TokenEdit { name: None, allowlist, privileges: privileges.as_deref(), rate_limit };
    crate::services::tokens::edit(&state, &actor, &name, edit).await
}

/// Replaces the secret. `expires` (`never` or `YYYY-MM-DD`) sets a new expiry, `None` keeps the current one;
/// the old secret keeps working for `grace_minutes` (at most 24 hours), or stops at once.
#[server(prefix = "/rpc", endpoint = "rotate_token")]
pub async fn rotate_token(name: String, expires: Option<String>, grace_minutes: u32) -> Result<IssuedToken, AppError> {
    let (state, actor) = super::context::acting().await?;
    let today = crate::services::tokens::today(&state);
    let expiry = expires.map(|raw| crate::model::tokens::parse_expiry(&raw, today)).transpose()?;
    crate::services::tokens::rotate(&state, &actor, &name, expiry, grace_minutes).await
}

/// Revokes the named tokens; answers the names that were revoked.
#[server(prefix = "/rpc", endpoint = "revoke_tokens")]
pub async fn revoke_tokens(names: Vec<String>) -> Result<Vec<String>, AppError> {
    let (state, actor) = super::context::acting().await?;
    crate::services::tokens::revoke(&state, &actor, &names).await
}

/// Revokes every token of the signed-in account; answers how many.
#[server(prefix = "/rpc", endpoint = "revoke_all_tokens")]
pub async fn revoke_all_tokens() -> Result<u64, AppError> {
    let (state, actor) = super::context::acting().await?;
    crate::services::tokens::revoke_all(&state, &actor).await
}

/// Dismisses one of the signed-in account's leak notices.
#[server(prefix = "/rpc", endpoint = "dismiss_leak")]
pub async fn dismiss_leak(id: i64) -> Result<(), AppError> {
    let (state, actor) = super::context::acting().await?;
    let account = actor.account().ok_or(AppError::Unauthenticated)?;
    crate::services::leaks::dismiss(&state, account.id, id).await
}

/// A row of the tokens table: the token plus what the server says about it, formatted in the server's time
/// zone (so the page renders the same on the server and in the browser).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TokenRow {
    pub token: TokenView,
    /// e.g. `Nov 22, 2026 10:12:40`
    pub created: String,
    /// Full ISO 8601 time, for the hover title.
    pub created_iso: String,
    /// `None`: never expires.
    pub expires: Option<String>,
    pub last_used: Option<String>,
    pub status: crate::domain::ExpiryStatus,
    /// "Expires in 5 hours" / "Expired on …": the notice for yellow and red rows.
    pub notice: Option<String>,
    /// Calls in the last 30 days (every outcome).
    #[serde(default)]
    pub requests_30d: u64,
}

/// One page of the tokens table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenTable {
    pub rows: Vec<TokenRow>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    pub time_zone: String,
    /// The account's live tokens that expire within 7 days, soonest first (the first five), and how many.
    pub expiring: Vec<TokenRow>,
    pub expiring_total: u64,
    /// Leaked tokens revoked on a report, not yet dismissed.
    pub leaks: Vec<LeakNotice>,
}

#[server(prefix = "/rpc", endpoint = "token_table")]
pub async fn load_token_table(query: TokenQuery) -> Result<TokenTable, AppError> {
    super::context::guarded("load_token_table", async move {
        let (state, actor) = super::context::acting().await?;
        let page = crate::services::tokens::list(&state, &actor, &query).await?;
        let now = state.clock.now();
        let names: Vec<String> = page.tokens.iter().map(|token| token.name.clone()).collect();
        let requests = crate::services::usage::last_30_days(&state, &actor, &names).await?;
        let rows = page
            .tokens
            .into_iter()
            .map(|token| {
                let requests_30d = requests.get(&token.name).copied().unwrap_or(0);
                TokenRow { requests_30d, ..row(token, now, state.time_zone) }
            })
            .collect();
        let (expiring, expiring_total) = crate::services::tokens::expiring_soon(&state, &actor).await?;
        let leaks = match actor.account() {
            Some(account) => crate::services::leaks::notices(&state, account.id).await?,
            None => Vec::new(),
        };
        Ok(TokenTable {
            rows,
            total: page.total,
            page: page.page,
            per_page: page.per_page,
            time_zone: state.time_zone.name().into(),
            expiring: expiring.into_iter().map(|token| row(token, now, state.time_zone)).collect(),
            expiring_total,
            leaks,
        })
    })
    .await
}

/// Everything the Manage page shows, in one call: the token as a row, and the form's options.
/// (One call, so the request context is read once, before anything is awaited.)
#[server(prefix = "/rpc", endpoint = "manage_token")]
pub async fn load_manage_token(name: String) -> Result<(TokenRow, TokenFormOptions, UsageSummary), AppError> {
    super::context::guarded("load_manage_token", async move {
        let (state, actor) = super::context::acting().await?;
        let token = crate::services::tokens::get(&state, &actor, &name).await?;
        let options = crate::services::tokens::form_options(&state, &actor).await?;
        let usage = crate::services::usage::summary(&state, &actor, &token.name).await?;
        Ok((row(token, state.clock.now(), state.time_zone), options, usage))
    })
    .await
}

/// Formats a token for display in `zone`, with its expiry status at `now`.
#[cfg(feature = "ssr")]
fn row(token: TokenView, now: DateTime<Utc>, zone: chrono_tz::Tz) -> TokenRow {
    use crate::domain::{Expiry, ExpiryStatus};
    let local = |at: DateTime<Utc>| at.with_timezone(&zone).format("%b %-d, %Y %H:%M:%S").to_string();
    let status = Expiry::status(token.expires_at, now);
    let notice = match (status, token.expires_at) {
        (ExpiryStatus::ExpiresSoon, Some(at)) => Some(expires_in(at - now)),
        (ExpiryStatus::Expired, Some(at)) => Some(format!("Expired on {}", local(at))),
        _ => None,
    };
    TokenRow {
        requests_30d: 0,
        created: local(token.created_at),
        created_iso: token.created_at.with_timezone(&zone).to_rfc3339(),
        expires: token.expires_at.map(local),
        last_used: token.last_used_at.map(local),
        status,
        notice,
        token,
    }
}

/// "Expires in 5 hours", "Expires in 1 hour", "Expires in 40 minutes", "Expires in less than a minute".
#[cfg(feature = "ssr")]
fn expires_in(left: chrono::Duration) -> String {
    let plural = |n: i64, unit: &str| format!("Expires in {n} {unit}{}", if n == 1 { "" } else { "s" });
    match (left.num_hours(), left.num_minutes()) {
        (h, _) if h >= 1 => plural(h, "hour"),
        (_, m) if m >= 1 => plural(m, "minute"),
        _ => "Expires in less than a minute".into(),
    }
}
