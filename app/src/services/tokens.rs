//! The token lifecycle (SPEC §2): create, list, get, rename, update, rotate, revoke. Every operation
//! authorises its caller, is scoped to the caller's own account (another account's token is simply "not
//! found"), validates with the domain rules, and records an audit event. The web app, the CLI and the HTTP API
//! all come through here.

use super::random::sha256_hex;
use crate::{
    domain::{ALL, Catalog, Expiry, IpAllowlist, MANAGE_API_TOKENS, PrivilegeSet, TokenName, TokenSecret},
    error::AppError,
    error::OnConstraint,
    model::tokens::{
        IssuedToken, PAGE_SIZES, PrivilegeOption, TokenFormOptions, TokenPage, TokenQuery, TokenSort, TokenSpec,
        TokenView,
    },
    services::Core,
    store::{
        accounts::Account,
        audit::{self, NewEvent, Outcome},
        entities::token,
        tokens::{self, Token},
    },
};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use sea_orm::{ActiveValue::Set, IntoActiveModel};
use std::collections::BTreeSet;

/// The longest a rotated-out secret may keep working.
pub const MAX_GRACE_MINUTES: u32 = 24 * 60;

/// The token a request came through, with what it may pass on: tokens it creates or edits stay within these.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    /// The calling token's row id: a token may always act on itself.
    pub id: i64,
    pub name: String,
    /// Effective privileges: the token's own set intersected with the owner's current set.
    pub privileges: PrivilegeSet,
    pub expires_at: Option<DateTime<Utc>>,
    pub allowlist: IpAllowlist,
}

/// How the caller reached Tessera.
#[derive(Debug, Clone)]
pub enum Via {
    /// Signed in to the web app.
    Session,
    /// An API token (no escalation beyond it).
    Token(TokenGrant),
    /// The operator at the command line, acting for the account.
    Cli,
}

/// Who is acting on which account's tokens.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: Account,
    pub via: Via,
    pub client_ip: Option<String>,
}

impl Caller {
    pub fn session(account: Account, client_ip: Option<String>) -> Self {
        Self { account, via: Via::Session, client_ip }
    }

    pub fn cli(account: Account) -> Self {
        Self { account, via: Via::Cli, client_ip: None }
    }

    fn grant(&self) -> Option<&TokenGrant> {
        match &self.via {
            Via::Token(grant) => Some(grant),
            Via::Session | Via::Cli => None,
        }
    }

    /// What this caller may put on a token: the owner's privileges (`all` expanded to the catalog), narrowed
    /// to the calling token's.
    pub fn grantable(&self, catalog: &Catalog) -> BTreeSet<String> {
        let owner = catalog.expand(&PrivilegeSet::from_storage(&self.account.privileges));
        match self.grant() {
            Some(grant) if grant.privileges.holds_all() => owner,
            Some(grant) => owner.into_iter().filter(|p| grant.privileges.grants(p)).collect(),
            None => owner,
        }
    }

    fn authorise(&self) -> Result<(), AppError> {
        let allowed = match &self.via {
            Via::Cli => true,
            Via::Session => PrivilegeSet::from_storage(&self.account.privileges).grants(MANAGE_API_TOKENS),
            Via::Token(grant) => grant.privileges.grants(MANAGE_API_TOKENS),
        };
        if allowed { Ok(()) } else { Err(AppError::Forbidden(MANAGE_API_TOKENS.into())) }
    }

    /// Through a token, refuses to act on another token that reaches further than the calling one: more
    /// privileges, more addresses or a longer life (SPEC §2 "No escalation"; issue 11). Otherwise a narrow token
    /// could rotate a broad one and walk away with its secret. Sessions and the CLI act as the owner and pass.
    fn ensure_within_grant(&self, target: &Token, now: DateTime<Utc>, reviving: bool) -> Result<(), AppError> {
        let Some(grant) = self.grant() else { return Ok(()) };
        if grant.id == target.id {
            return Ok(());
        }
        let beyond = |why: String| {
            AppError::BeyondCallingToken(format!(
                "The token “{}” reaches beyond the token you are using ({why}); sign in or use a broader token.",
                target.name
            ))
        };
        if !grant.privileges.holds_all() {
            let own = PrivilegeSet::from_storage(&target.privileges);
            if own.holds_all() {
                return Err(beyond(format!("it holds “{ALL}”, yours does not")));
            }
            let effective = super::verify::effective_privileges(&target.privileges, &self.account.privileges);
            if let Some(extra) = effective.iter().find(|p| !grant.privileges.grants(p)) {
                return Err(beyond(format!("it holds “{extra}”, yours does not")));
            }
        }
        if !IpAllowlist::from_storage(&target.allowlist).is_within(&grant.allowlist) {
            return Err(beyond("it may be used from addresses yours may not".to_owned()));
        }
        if let Some(limit) = grant.expires_at {
            match target.expires_at {
                None => return Err(beyond("it never expires, yours does".to_owned())),
                Some(at) if at > limit => return Err(beyond("it outlives yours".to_owned())),
                Some(_) => {}
            }
        }
        if reviving && target.expires_at.is_some_and(|at| at <= now) {
            return Err(AppError::BeyondCallingToken(format!(
                "The token “{}” has expired and cannot be revived through another token: revoke it and create a \
                 new one, or sign in to rotate it.",
                target.name
            )));
        }
        Ok(())
    }

    fn event<'a>(&'a self, action: &'a str, target: &'a str) -> NewEvent<'a> {
        NewEvent::by(action, &self.account)
            .via(self.grant().map(|g| g.name.as_str()))
            .target(target)
            .from_ip(self.client_ip.as_deref())
    }
}

pub fn view(token: &Token) -> TokenView {
    TokenView {
        name: token.name.clone(),
        hint: token.hint.clone(),
        created_at: token.created_at,
        expires_at: token.expires_at,
        allowlist: IpAllowlist::from_storage(&token.allowlist).to_strings(),
        privileges: PrivilegeSet::from_storage(&token.privileges).iter().map(str::to_owned).collect(),
        last_used_at: token.last_used_at,
        last_used_ip: token.last_used_ip.clone(),
    }
}

/// Today's date where the server is.
pub fn today(state: &Core) -> NaiveDate {
    state.clock.now().with_timezone(&state.time_zone).date_naive()
}

/// The instant a token expiring on `date` stops working: 23:59:59 that day in the server's time zone.
pub fn expiry_instant(state: &Core, date: NaiveDate) -> DateTime<Utc> {
    let local = Expiry::last_second(date);
    let zone = state.time_zone;
    // A clock change can make 23:59:59 ambiguous (take the later) or skipped (fall back to UTC).
    zone.from_local_datetime(&local).latest().map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
}

/// The instant `expiry` ends, refused when it lies in the past or, through a token, after the calling token's.
fn expiry_for(state: &Core, caller: &Caller, expiry: Expiry) -> Result<Option<DateTime<Utc>>, AppError> {
    if expiry.date().is_some_and(|date| date < today(state)) {
        return Err(AppError::invalid("expires", crate::domain::ExpiryError::InPast));
    }
    let instant = expiry.date().map(|date| expiry_instant(state, date));
    if let Some(limit) = caller.grant().and_then(|g| g.expires_at)
        && instant.is_none_or(|at| at > limit)
    {
        return Err(AppError::invalid(
            "expires",
            format!(
                "A token created through another token cannot outlive it: choose {} or earlier.",
                limit.with_timezone(&state.time_zone).format("%Y-%m-%d")
            ),
        ));
    }
    Ok(instant)
}

/// The allowlist a token gets: through a token, none means the calling token's, and any other must lie within it.
fn allowlist_for(caller: &Caller, allowlist: IpAllowlist) -> Result<IpAllowlist, AppError> {
    match caller.grant() {
        // Through a token, no allowlist means the calling token's own.
        Some(grant) if allowlist.is_any() => Ok(grant.allowlist.clone()),
        Some(grant) if !allowlist.is_within(&grant.allowlist) => Err(AppError::invalid(
            "allowlist",
            format!("The allowlist must lie within the calling token's: {}.", grant.allowlist),
        )),
        _ => Ok(allowlist),
    }
}

async fn catalog(state: &Core) -> Result<Catalog, AppError> {
    Ok(crate::store::privileges::catalog(&state.db).await?)
}

async fn parse_privileges(state: &Core, caller: &Caller, names: &[String]) -> Result<PrivilegeSet, AppError> {
    let catalog = catalog(state).await?;
    let set = catalog.parse(&names.join(",")).map_err(|e| AppError::invalid("privileges", e))?;
    let grantable = caller.grantable(&catalog);
    if let Some(missing) = set.iter().find(|p| !grantable.contains(*p)) {
        return Err(AppError::invalid(
            "privileges",
            match caller.grant() {
                Some(_) => format!("You cannot grant “{missing}”: the token you are using does not hold it."),
                None => format!("You cannot grant “{missing}”: your account does not hold it."),
            },
        ));
    }
    Ok(set)
}

fn name_in_use(name: &str) -> AppError {
    AppError::conflict("name", format!("The name “{name}” is already in use."))
}

async fn find(state: &Core, caller: &Caller, name: &str) -> Result<Token, AppError> {
    tokens::find_by_name(&state.db, caller.account.id, name)
        .await?
        .ok_or_else(|| AppError::NoSuchToken(name.to_owned()))
}

/// [`Caller::ensure_within_grant`], with a refusal recorded in the audit log under `action`.
async fn ensure_within_grant(
    state: &Core,
    caller: &Caller,
    target: &Token,
    action: &str,
    reviving: bool,
) -> Result<(), AppError> {
    let refusal = match caller.ensure_within_grant(target, state.clock.now(), reviving) {
        Ok(()) => return Ok(()),
        Err(refusal) => refusal,
    };
    let event = caller.event(action, &target.name).outcome(Outcome::Refused);
    record(state, event).await?;
    tracing::warn!(account = %caller.account.username, token = %target.name, action, "refused: beyond the calling token");
    Err(refusal)
}

async fn record(state: &Core, event: NewEvent<'_>) -> Result<(), AppError> {
    Ok(audit::record(&state.db, event, state.clock.now()).await?)
}

pub async fn form_options(state: &Core, caller: &Caller) -> Result<TokenFormOptions, AppError> {
    caller.authorise()?;
    let catalog = catalog(state).await?;
    let grantable = caller.grantable(&catalog);
    let today = today(state);
    Ok(TokenFormOptions {
        privileges: catalog
            .iter()
            .filter(|p| grantable.contains(&p.name))
            .map(|p| PrivilegeOption { name: p.name.clone(), label: p.label.clone(), dangerous: p.dangerous })
            .collect(),
        time_zone: state.time_zone.name().to_owned(),
        today,
        default_expiry: Expiry::default_for(today),
    })
}

pub async fn create(state: &Core, caller: &Caller, spec: TokenSpec) -> Result<IssuedToken, AppError> {
    caller.authorise()?;
    if caller.account.suspended {
        return Err(AppError::AccountSuspended);
    }
    let TokenSpec { name, expiry, allowlist, privileges } = spec;
    let expires_at = expiry_for(state, caller, expiry)?;
    let allowlist = allowlist_for(caller, allowlist)?;
    let privileges = parse_privileges(state, caller, &privileges).await?;

    let secret = TokenSecret::generate();
    let row = tokens::NewToken {
        account_id: caller.account.id,
        name: name.as_str(),
        secret_hash: sha256_hex(secret.expose()),
        hint: secret.hint(),
        created_at: state.clock.now(),
        expires_at,
        allowlist: allowlist.to_storage(),
        privileges: privileges.to_storage(),
    };
    let token = tokens::insert(&state.db, row).await.on_unique_violation(|| name_in_use(name.as_str()))?;
    record(state, caller.event("token.create", &token.name)).await?;
    tracing::info!(account = %caller.account.username, token = %token.name, "token created");
    Ok(IssuedToken { token: view(&token), secret: secret.expose().to_owned() })
}

pub async fn list(state: &Core, caller: &Caller, query: &TokenQuery) -> Result<TokenPage, AppError> {
    caller.authorise()?;
    if !PAGE_SIZES.contains(&query.per_page) {
        return Err(AppError::invalid("per_page", "Show 10, 20, 50 or 100 tokens per page."));
    }
    if query.page == 0 {
        return Err(AppError::invalid("page", "Pages are numbered from 1."));
    }
    let order = query.sort;
    let offset = (query.page - 1).saturating_mul(query.per_page);
    let (rows, total) =
        tokens::page(&state.db, caller.account.id, &query.search, order, query.descending, offset, query.per_page)
            .await?;
    Ok(TokenPage { tokens: rows.iter().map(view).collect(), total, page: query.page, per_page: query.per_page })
}

/// Every token of the caller's account in one order, for the API functions and commands that list them all
/// (UAPI `list`, WHM `api_token_list`, `tessera token list`).
pub async fn list_all(
    state: &Core,
    caller: &Caller,
    sort: TokenSort,
    descending: bool,
) -> Result<Vec<TokenView>, AppError> {
    caller.authorise()?;
    let (rows, _) = tokens::page(&state.db, caller.account.id, "", sort, descending, 0, u64::MAX >> 1).await?;
    Ok(rows.iter().map(view).collect())
}

/// Whether `name` is free for a new token, or for renaming the token now called `current` (which may take its
/// own name in another case): the forms ask while the name is typed, so "already in use" shows before submitting.
/// Creating and renaming still rely on the unique index, which settles any race with a token created meanwhile.
pub async fn check_name_free(state: &Core, caller: &Caller, name: &str, current: Option<&str>) -> Result<(), AppError> {
    caller.authorise()?;
    let name = TokenName::parse(name).map_err(|e| AppError::invalid("name", e))?;
    let taken = tokens::find_by_name(&state.db, caller.account.id, name.as_str())
        .await?
        .is_some_and(|token| current.is_none_or(|current| !current.eq_ignore_ascii_case(&token.name)));
    if taken { Err(name_in_use(name.as_str())) } else { Ok(()) }
}

pub async fn get(state: &Core, caller: &Caller, name: &str) -> Result<TokenView, AppError> {
    caller.authorise()?;
    Ok(view(&find(state, caller, name).await?))
}

pub async fn rename(state: &Core, caller: &Caller, name: &str, new_name: &str) -> Result<TokenView, AppError> {
    caller.authorise()?;
    let new_name = TokenName::parse(new_name).map_err(|e| AppError::invalid("name", e))?;
    let token = find(state, caller, name).await?;
    ensure_within_grant(state, caller, &token, "token.rename", false).await?;
    let old_name = token.name.clone();
    let mut changes = token.into_active_model();
    changes.name = Set(new_name.as_str().to_owned());
    changes.name_key = Set(new_name.key());
    let token = tokens::save(&state.db, changes).await.on_unique_violation(|| name_in_use(new_name.as_str()))?;
    let target = format!("{old_name} → {}", token.name);
    record(state, caller.event("token.rename", &target)).await?;
    Ok(view(&token))
}

pub async fn update(
    state: &Core,
    caller: &Caller,
    name: &str,
    allowlist: Option<IpAllowlist>,
    privileges: Option<&[String]>,
) -> Result<TokenView, AppError> {
    caller.authorise()?;
    let allowlist = allowlist.map(|allowlist| allowlist_for(caller, allowlist)).transpose()?;
    let privileges = match privileges {
        Some(names) => Some(parse_privileges(state, caller, names).await?),
        None => None,
    };
    let token = find(state, caller, name).await?;
    ensure_within_grant(state, caller, &token, "token.update", false).await?;
    let mut changes = token.into_active_model();
    if let Some(allowlist) = allowlist {
        changes.allowlist = Set(allowlist.to_storage());
    }
    if let Some(privileges) = privileges {
        changes.privileges = Set(privileges.to_storage());
    }
    let token = tokens::save(&state.db, changes).await?;
    record(state, caller.event("token.update", &token.name)).await?;
    Ok(view(&token))
}

pub async fn rotate(
    state: &Core,
    caller: &Caller,
    name: &str,
    expiry: Option<Expiry>,
    grace_minutes: u32,
) -> Result<IssuedToken, AppError> {
    caller.authorise()?;
    if grace_minutes > MAX_GRACE_MINUTES {
        return Err(AppError::invalid("grace", "The grace period can be at most 24 hours."));
    }
    let new_expiry = expiry.map(|expiry| expiry_for(state, caller, expiry)).transpose()?;
    let token = find(state, caller, name).await?;
    ensure_within_grant(state, caller, &token, "token.rotate", true).await?;
    let now = state.clock.now();
    let secret = TokenSecret::generate();
    let old_hash = token.secret_hash.clone();
    let mut changes: token::ActiveModel = token.into_active_model();
    changes.secret_hash = Set(sha256_hex(secret.expose()));
    changes.hint = Set(secret.hint());
    if let Some(expires_at) = new_expiry {
        changes.expires_at = Set(expires_at);
    }
    if grace_minutes > 0 {
        changes.previous_secret_hash = Set(Some(old_hash));
        changes.previous_valid_until = Set(Some(now + Duration::minutes(i64::from(grace_minutes))));
    } else {
        changes.previous_secret_hash = Set(None);
        changes.previous_valid_until = Set(None);
    }
    let token = tokens::save(&state.db, changes).await?;
    record(state, caller.event("token.rotate", &token.name)).await?;
    Ok(IssuedToken { token: view(&token), secret: secret.expose().to_owned() })
}

/// Revokes the named tokens that exist; "not found" when none of them does.
pub async fn revoke(state: &Core, caller: &Caller, names: &[String]) -> Result<Vec<String>, AppError> {
    caller.authorise()?;
    if names.is_empty() {
        return Err(AppError::invalid("names", "Choose at least one token to revoke."));
    }
    let revoked = tokens::delete_by_names(&state.db, caller.account.id, names).await?;
    if revoked.is_empty() {
        return Err(AppError::NoSuchToken(names.join(", ")));
    }
    for name in &revoked {
        record(state, caller.event("token.revoke", name)).await?;
    }
    Ok(revoked)
}

/// Revokes every token of the caller's account; answers how many there were.
pub async fn revoke_all(state: &Core, caller: &Caller) -> Result<u64, AppError> {
    caller.authorise()?;
    let revoked = tokens::delete_all(&state.db, caller.account.id).await?;
    for name in &revoked {
        record(state, caller.event("token.revoke", name)).await?;
    }
    Ok(revoked.len() as u64)
}
