//! Verifying an API call's token (SPEC §3), in the order the spec gives: parse the header, check the secret's
//! shape and checksum (no database work for junk), look the hash up, check the owner, expiry, suspension, the
//! client IP against the allowlist and finally the privilege the function needs. Every API endpoint comes
//! through [`verify`]; its result becomes an [`Actor`] for the services, so their no-escalation rules apply.

use super::{
    actor::{Actor, TokenGrant},
    random::sha256,
    rate_limits::Quota,
    usage::UseOutcome,
};
use crate::{
    domain::{PrivilegeSet, RateLimit, SecretError, TokenSecret},
    services::Core,
    store::{
        accounts::Account,
        audit::{self, NewEvent, Outcome},
        tokens::{SecretHash, SecretMatch, Token, TokenChecks, TokenFacts, Verifying},
    },
};
use chrono::{DateTime, Utc};
use std::{net::IpAddr, sync::Arc};

/// How the caller presented its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `Authorization: cpanel USER:TOKEN` (UAPI).
    Cpanel,
    /// `Authorization: whm USER:TOKEN` (WHM API 1).
    Whm,
    /// `Authorization: Bearer TOKEN` (native API).
    Bearer,
}

/// A parsed `Authorization` header: well-formed, checksum right, not yet known to exist.
#[derive(Debug, Clone)]
pub struct Presented {
    pub scheme: Scheme,
    /// The user named before the token (`cpanel`/`whm` only).
    pub user: Option<String>,
    pub secret: TokenSecret,
}

/// Why a call was refused. The messages never say which of "unknown, revoked, expired, wrong user, suspended".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "The Authorization header is missing or malformed: send “Authorization: cpanel USER:TOKEN”, \
         “whm USER:TOKEN” or “Bearer TOKEN”."
    )]
    MissingOrMalformed,
    #[error("{0}")]
    BadSecret(SecretError),
    #[error("The API token is not valid: it is unknown, revoked or expired, or does not belong to this user.")]
    InvalidToken,
    #[error("Access denied: this token may not be used from {ip}{}.", needed(.privilege))]
    AddressNotAllowed { ip: IpAddr, privilege: Option<String> },
    #[error("Access denied: this token does not grant the “{0}” privilege.")]
    MissingPrivilege(String),
    #[error("Too many requests: this token is limited to {limit}. Try again in {retry_after} second(s).")]
    RateLimited { limit: RateLimit, retry_after: u64 },
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
}

fn needed(privilege: &Option<String>) -> String {
    privilege.as_deref().map(|p| format!(" (the “{p}” privilege is refused)")).unwrap_or_default()
}

impl Refusal {
    /// 401 for "who are you?", 403 for "not this, not from there".
    pub fn status(&self) -> u16 {
        match self {
            Self::MissingOrMalformed | Self::BadSecret(_) | Self::InvalidToken => 401,
            Self::AddressNotAllowed { .. } | Self::MissingPrivilege(_) => 403,
            Self::RateLimited { .. } => 429,
            Self::Internal => 500,
        }
    }
}

/// Parses an `Authorization` header value. Scheme names are case-insensitive (RFC 9110).
pub fn parse_authorization(header: &[u8]) -> Result<Presented, Refusal> {
    let header = std::str::from_utf8(header).map_err(|_| Refusal::MissingOrMalformed)?;
    let (scheme, rest) = header.trim().split_once(' ').ok_or(Refusal::MissingOrMalformed)?;
    let rest = rest.trim();
    let scheme = if scheme.eq_ignore_ascii_case("cpanel") {
        Scheme::Cpanel
    } else if scheme.eq_ignore_ascii_case("whm") {
        Scheme::Whm
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else {
        return Err(Refusal::MissingOrMalformed);
    };
    let (user, raw_secret) = match scheme {
        Scheme::Bearer => (None, rest),
        Scheme::Cpanel | Scheme::Whm => {
            let (user, secret) = rest.split_once(':').ok_or(Refusal::MissingOrMalformed)?;
            if user.is_empty() {
                return Err(Refusal::MissingOrMalformed);
            }
            (Some(user.to_owned()), secret)
        }
    };
    let secret = TokenSecret::parse(raw_secret).map_err(Refusal::BadSecret)?;
    Ok(Presented { scheme, user, secret })
}

/// A verified call: the token, its owner as they are now, and what the token may do. Shared with the row it
/// was read from (cheap to clone).
#[derive(Debug, Clone)]
pub struct Verified {
    pub account: Arc<Account>,
    pub token: TokenFacts,
    /// The token's effective privileges, allowlist and rate limit.
    pub checks: Arc<TokenChecks>,
    pub client_ip: IpAddr,
    /// The token's rate limit and what is left of it, when it has one (for the `RateLimit` headers).
    pub quota: Option<Quota>,
}

impl Verified {
    /// Effective privileges: the token's own intersected with the owner's current ones (`all` expanded).
    pub fn privileges(&self) -> &PrivilegeSet {
        &self.checks.privileges
    }

    /// Whether the token may do what `privilege` stands for.
    pub fn grants(&self, privilege: &str) -> bool {
        self.checks.privileges.grants(privilege)
    }

    /// The actor for the services: acting for the owner, limited to this token (no escalation).
    pub fn actor(&self) -> Actor {
        let grant = TokenGrant {
            id: self.token.id,
            name: self.token.name.to_string(),
            privileges: PrivilegeSet::clone(&self.checks.privileges),
            expires_at: self.token.expires_at,
            allowlist: self.checks.allowlist.clone(),
            rate_limit: self.checks.rate_limit,
        };
        Actor::token(Account::clone(&self.account), grant, Some(self.client_ip.to_canonical().to_string()))
    }
}

/// Whether `presented` hashes to the token's current secret, or to its previous one within the grace period.
pub(crate) fn secret_matches(token: &Token, hash: &str, now: DateTime<Utc>) -> bool {
    SecretMatch::of(token, hash).is_some_and(|found| found.accepted_at(now))
}

/// Finds the live token for a secret with its owner, whatever the client or privilege: `None` when unknown,
/// revoked, past its grace, expired or suspended. Shared by [`verify`] and introspection.
pub async fn resolve(state: &Core, secret: &TokenSecret) -> Result<Option<Verifying>, Refusal> {
    Ok(match lookup(state, &hash_of(secret)).await? {
        Lookup::Live(found) => Some(found),
        Lookup::Refused(..) | Lookup::Unknown => None,
    })
}

/// What a secret leads to.
enum Lookup {
    Live(Verifying),
    /// A token whose secret this is, refused for this reason (counted in its usage).
    Refused(i64, UseOutcome),
    /// No token: never issued, revoked, or a previous secret past its grace period.
    Unknown,
}

/// A secret's hash as bytes: memory is keyed by them; its hex form is written only if the database is asked.
fn hash_of(secret: &TokenSecret) -> SecretHash {
    SecretHash(sha256(secret.expose()))
}

async fn lookup(state: &Core, hash: &SecretHash) -> Result<Lookup, Refusal> {
    let now = state.clock.now();
    // From memory while the backend's change feed vouches for it (store::token_lookup).
    let found = state.token_lookup.find_by_secret_hash(&state.db, hash).await?;
    let Some(found) = found else {
        return Ok(Lookup::Unknown);
    };
    if !found.secret.accepted_at(now) {
        return Ok(Lookup::Unknown);
    }
    let token = &found.token;
    if token.expires_at.is_some_and(|at| at <= now) {
        return Ok(Lookup::Refused(token.id, UseOutcome::Expired));
    }
    if found.account.suspended {
        return Ok(Lookup::Refused(token.id, UseOutcome::Suspended));
    }
    Ok(Lookup::Live(found))
}

/// Verifies a call in SPEC §3's order; `required` is the privilege the function needs, if any.
pub async fn verify(
    state: &Core,
    presented: &Presented,
    client_ip: IpAddr,
    required: Option<&str>,
) -> Result<Verified, Refusal> {
    let now = state.clock.now();
    let hash = hash_of(&presented.secret);
    let found = match lookup(state, &hash).await? {
        Lookup::Live(found) => found,
        Lookup::Refused(token_id, outcome) => {
            state.usage.count(token_id, outcome, now, client_ip);
            return Err(Refusal::InvalidToken);
        }
        Lookup::Unknown => return Err(Refusal::InvalidToken),
    };
    if presented.user.as_deref().is_some_and(|user| !user.eq_ignore_ascii_case(&found.account.username)) {
        return Err(Refusal::InvalidToken);
    }
    let Verifying { token, account, checks, .. } = found;
    let mut verified = Verified { account, token, checks, client_ip, quota: None };
    let token_id = verified.token.id;
    if !verified.checks.allowlist.allows(client_ip) {
        state.usage.count(token_id, UseOutcome::Address, now, client_ip);
        let refusal =
            Refusal::AddressNotAllowed { ip: client_ip.to_canonical(), privilege: required.map(str::to_owned) };
        audit_refusal(state, &verified, required, &refusal).await;
        return Err(refusal);
    }
    if let Some(privilege) = required.filter(|p| !verified.grants(p)) {
        state.usage.count(token_id, UseOutcome::Privilege, now, client_ip);
        let refusal = Refusal::MissingPrivilege(privilege.to_owned());
        audit_refusal(state, &verified, required, &refusal).await;
        return Err(refusal);
    }
    if let Some(limit) = verified.checks.rate_limit {
        match state.rate_limiter.check(token_id, limit, now) {
            Ok(quota) => verified.quota = Some(quota),
            Err(limited) => {
                state.usage.count(token_id, UseOutcome::RateLimited, now, client_ip);
                let refusal = Refusal::RateLimited { limit, retry_after: limited.retry_after };
                // A flood must not flood the audit log: one event per token and minute while it is limited.
                if state.rate_limiter.first_refusal_this_minute(token_id, now) {
                    audit_refusal(state, &verified, required, &refusal).await;
                }
                return Err(refusal);
            }
        }
    }
    state.usage.count(token_id, UseOutcome::Accepted, now, client_ip);
    if let Some(noted) = state.last_used.touch(token_id, verified.token.last_used_at, now, client_ip) {
        // Kept with the row in memory, so this token's next calls within the minute skip the recorder.
        state.token_lookup.noted(&hash, noted);
    }
    Ok(verified)
}

/// Records a refused call in the audit log. A failure to record is logged, not turned into a 500. Boxed: the
/// insert's future takes kilobytes, which every verification's future would otherwise carry and move.
fn audit_refusal<'a>(
    state: &'a Core,
    verified: &'a Verified,
    required: Option<&'a str>,
    refusal: &'a Refusal,
) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
    Box::pin(record_refusal(state, verified, required, refusal))
}

async fn record_refusal(state: &Core, verified: &Verified, required: Option<&str>, refusal: &Refusal) {
    let ip = verified.client_ip.to_canonical().to_string();
    let action = match refusal {
        Refusal::AddressNotAllowed { .. } => "api.refused.address",
        Refusal::RateLimited { .. } => "api.refused.rate_limit",
        _ => "api.refused.privilege",
    };
    let event = NewEvent::by(action, &verified.account)
        .via(Some(&*verified.token.name))
        .target(required)
        .from_ip(Some(&ip))
        .outcome(Outcome::Refused);
    if let Err(err) = audit::record(&state.db, event, state.clock.now()).await {
        tracing::warn!(error = %err, "could not record a refused API call");
    }
}

/// Our failure: logged here, answered with the generic message.
impl From<sea_orm::DbErr> for Refusal {
    fn from(err: sea_orm::DbErr) -> Self {
        tracing::error!(error = %err, "verifying an API token");
        Self::Internal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> TokenSecret {
        TokenSecret::generate()
    }

    #[test]
    fn accepts_the_three_schemes() {
        let s = secret();
        let p = parse_authorization(format!("cpanel alice:{}", s.expose()).as_bytes()).unwrap();
        assert_eq!((p.scheme, p.user.as_deref()), (Scheme::Cpanel, Some("alice")));
        let p = parse_authorization(format!("WHM root:{}", s.expose()).as_bytes()).unwrap();
        assert_eq!(p.scheme, Scheme::Whm);
        let p = parse_authorization(format!("Bearer {}", s.expose()).as_bytes()).unwrap();
        assert_eq!((p.scheme, p.user), (Scheme::Bearer, None));
    }

    #[test]
    fn refuses_junk_before_any_lookup() {
        for junk in ["", "Bearer", "Basic abc", "cpanel alice", "cpanel :tsr_x", "Bearer tsr_short", "Bearer \u{e9}"] {
            assert!(parse_authorization(junk.as_bytes()).is_err(), "{junk}");
        }
        assert_eq!(parse_authorization(&[0xff, 0xfe]).unwrap_err(), Refusal::MissingOrMalformed);
        let mut altered = secret().expose().to_owned();
        let last = if altered.ends_with('0') { "1" } else { "0" };
        altered.replace_range(altered.len() - 1.., last);
        assert_eq!(
            parse_authorization(format!("Bearer {altered}").as_bytes()).unwrap_err(),
            Refusal::BadSecret(SecretError::BadChecksum)
        );
    }

    #[test]
    fn effective_privileges_are_the_intersection_with_all_expanded() {
        let set = |s: &[&str]| PrivilegeSet::from_names(s.iter().map(|p| (*p).to_owned()));
        assert_eq!(PrivilegeSet::effective("all", "list-accts passwd"), set(&["list-accts", "passwd"]));
        assert_eq!(PrivilegeSet::effective("list-accts kill-acct", "list-accts"), set(&["list-accts"]));
        assert_eq!(PrivilegeSet::effective("list-accts", "all"), set(&["list-accts"]));
        assert_eq!(PrivilegeSet::effective("all", "all"), set(&["all"]));
        assert!(PrivilegeSet::effective("kill-acct", "list-accts").is_empty());
    }

    #[test]
    fn messages_name_the_privilege_but_not_why_a_token_failed() {
        let refusal = Refusal::MissingPrivilege("kill-acct".into());
        assert!(refusal.to_string().contains("“kill-acct”"));
        assert_eq!(refusal.status(), 403);
        let refusal = Refusal::AddressNotAllowed { ip: "192.0.2.1".parse().unwrap(), privilege: Some("passwd".into()) };
        assert!(refusal.to_string().contains("192.0.2.1") && refusal.to_string().contains("“passwd”"));
        assert_eq!(Refusal::InvalidToken.status(), 401);
    }
}
