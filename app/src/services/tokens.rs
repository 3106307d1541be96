//! The token lifecycle (SPEC §2): create, list, get, rename, update, rotate, revoke. Every operation
//! authorises its actor, is scoped to the actor's own account (another account's token is simply "not
//! found"), validates with the domain rules, and records an audit event. The web app, the CLI and the HTTP API
//! all come through here.

use super::{
    notify::{self, Event},
    random::sha256_hex,
};
use crate::{
    domain::{ALL, Catalog, Expiry, IpAllowlist, MANAGE_API_TOKENS, PrivilegeSet, RateLimit, TokenName, TokenSecret},
    error::AppError,
    error::OnConstraint,
    model::tokens::{
        IssuedToken, PAGE_SIZES, PrivilegeOption, TokenFormOptions, TokenPage, TokenQuery, TokenSort, TokenSpec,
        TokenView,
    },
    services::{Actor, Core},
    store::{
        self,
        accounts::Account,
        audit::{self, NewEvent, Outcome},
        entities::token,
        name_index::{self, NameOrder},
        tokens::{self, Token, TokenFilter},
    },
};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, IntoActiveModel};
use serde_json::json;
use std::collections::BTreeSet;

/// The longest a rotated-out secret may keep working.
pub const MAX_GRACE_MINUTES: u32 = 24 * 60;

/// What `actor` may put on a token: the owner's privileges (`all` expanded to the catalog), narrowed to the
/// calling token's.
pub fn grantable(actor: &Actor, owner: &Account, catalog: &Catalog) -> BTreeSet<String> {
    let owned = catalog.expand(&PrivilegeSet::from_storage(&owner.privileges));
    match actor.grant() {
        Some(grant) if grant.privileges.holds_all() => owned,
        Some(grant) => owned.into_iter().filter(|p| grant.privileges.grants(p)).collect(),
        None => owned,
    }
}

/// Managing tokens needs `manage-api-tokens` and an account whose tokens they are; answers that account.
pub(super) fn authorise(actor: &Actor) -> Result<&Account, AppError> {
    actor.require(MANAGE_API_TOKENS)?;
    actor.account().ok_or_else(|| AppError::invalid("account", "Name the account whose tokens to manage."))
}

/// Through a token, refuses to act on another token that reaches further than the calling one: more
/// privileges, more addresses or a longer life (SPEC §2 "No escalation"; issue 11). Otherwise a narrow token
/// could rotate a broad one and walk away with its secret. Sessions and the CLI act as the owner and pass.
fn within_grant(
    actor: &Actor,
    owner: &Account,
    target: &Token,
    now: DateTime<Utc>,
    reviving: bool,
) -> Result<(), AppError> {
    let Some(grant) = actor.grant() else { return Ok(()) };
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
        let effective = crate::domain::PrivilegeSet::effective(&target.privileges, &owner.privileges);
        if let Some(extra) = effective.iter().find(|p| !grant.privileges.grants(p)) {
            return Err(beyond(format!("it holds “{extra}”, yours does not")));
        }
    }
    if !IpAllowlist::from_storage(&target.allowlist).is_within(&grant.allowlist) {
        return Err(beyond("it may be used from addresses yours may not".to_owned()));
    }
    if let Some(own) = grant.rate_limit {
        match target.rate_limit.as_deref().and_then(|raw| RateLimit::parse(raw).ok()) {
            None => return Err(beyond(format!("it has no rate limit, yours allows {own}"))),
            Some(limit) if !no_faster(limit, own) => return Err(beyond(format!("its rate limit is above {own}"))),
            Some(_) => {}
        }
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
        rate_limit: token.rate_limit.clone(),
    }
}

/// Whether `inner` allows at most as many calls over time as `outer`.
fn no_faster(inner: RateLimit, outer: RateLimit) -> bool {
    u64::from(inner.calls) * outer.per.seconds() <= u64::from(outer.calls) * inner.per.seconds()
}

/// The limit a token gets: through a limited token, one no faster than the calling token's (none given: the
/// calling token's), so a limited script cannot mint itself an unlimited token.
fn rate_limit_for(actor: &Actor, wanted: Option<RateLimit>) -> Result<Option<RateLimit>, AppError> {
    let Some(own) = actor.grant().and_then(|grant| grant.rate_limit) else { return Ok(wanted) };
    match wanted {
        None => Ok(Some(own)),
        Some(limit) if no_faster(limit, own) => Ok(Some(limit)),
        Some(_) => Err(AppError::BeyondCallingToken(format!(
            "The rate limit may be at most {own}, the limit of the token you are using."
        ))),
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
fn expiry_for(state: &Core, actor: &Actor, expiry: Expiry) -> Result<Option<DateTime<Utc>>, AppError> {
    if expiry.date().is_some_and(|date| date < today(state)) {
        return Err(AppError::invalid("expires", crate::domain::ExpiryError::InPast));
    }
    let instant = expiry.date().map(|date| expiry_instant(state, date));
    if let Some(limit) = actor.grant().and_then(|g| g.expires_at)
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
fn allowlist_for(actor: &Actor, allowlist: IpAllowlist) -> Result<IpAllowlist, AppError> {
    match actor.grant() {
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

async fn parse_privileges(
    state: &Core,
    actor: &Actor,
    owner: &Account,
    names: &[String],
) -> Result<PrivilegeSet, AppError> {
    let catalog = catalog(state).await?;
    let set = catalog.parse_names(names).map_err(|e| AppError::invalid("privileges", e))?;
    let grantable = grantable(actor, owner, &catalog);
    if let Some(missing) = set.iter().find(|p| !grantable.contains(*p)) {
        return Err(AppError::invalid(
            "privileges",
            match actor.grant() {
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

pub(super) async fn find(state: &Core, owner: &Account, name: &str) -> Result<Token, AppError> {
    tokens::find_by_name(&state.db, owner.id, name).await?.ok_or_else(|| AppError::NoSuchToken(name.to_owned()))
}

/// [`within_grant`], with a refusal recorded in the audit log under `action`.
async fn ensure_within_grant(
    state: &Core,
    actor: &Actor,
    owner: &Account,
    target: &Token,
    action: &str,
    reviving: bool,
) -> Result<(), AppError> {
    let refusal = match within_grant(actor, owner, target, state.clock.now(), reviving) {
        Ok(()) => return Ok(()),
        Err(refusal) => refusal,
    };
    let event = actor.event(action, &target.name).outcome(Outcome::Refused);
    record(&state.db, state, event).await?;
    tracing::warn!(account = %owner.username, token = %target.name, action, "refused: beyond the calling token");
    Err(refusal)
}

/// Records `event` on `db`: the transaction of the change it describes, so both are kept or neither.
async fn record(db: &impl ConnectionTrait, state: &Core, event: NewEvent<'_>) -> Result<(), AppError> {
    Ok(audit::record(db, event, state.clock.now()).await?)
}

pub async fn form_options(state: &Core, actor: &Actor) -> Result<TokenFormOptions, AppError> {
    let owner = authorise(actor)?;
    let catalog = catalog(state).await?;
    let grantable = grantable(actor, owner, &catalog);
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

pub async fn create(state: &Core, actor: &Actor, spec: TokenSpec) -> Result<IssuedToken, AppError> {
    let owner = authorise(actor)?;
    if owner.suspended {
        return Err(AppError::AccountSuspended);
    }
    let TokenSpec { name, expiry, allowlist, privileges, rate_limit } = spec;
    let expires_at = expiry_for(state, actor, expiry)?;
    let allowlist = allowlist_for(actor, allowlist)?;
    let rate_limit = rate_limit_for(actor, rate_limit)?;
    let privileges = parse_privileges(state, actor, owner, &privileges).await?;

    let secret = TokenSecret::generate();
    let row = tokens::NewToken {
        account_id: owner.id,
        name: name.as_str(),
        secret_hash: sha256_hex(secret.expose()),
        hint: secret.hint(),
        created_at: state.clock.now(),
        expires_at,
        allowlist: allowlist.to_storage(),
        privileges: privileges.to_storage(),
        rate_limit: rate_limit.map(|limit| limit.to_string()),
    };
    let txn = store::begin_write(&state.db).await?;
    let created: Result<_, AppError> = async {
        let token = tokens::insert(&txn, row).await.on_unique_violation(|| name_in_use(name.as_str()))?;
        record(&txn, state, actor.event("token.create", &token.name)).await?;
        let data = json!({
            "account": owner.username,
            "token": {
                "name": token.name,
                "expires_at": token.expires_at,
                "privileges": token.privileges.split_whitespace().collect::<Vec<_>>(),
                "allowlist": allowlist.to_string(),
            },
            "by": actor.name(),
        });
        notify::emit(&txn, state, Event { kind: "token.created", data, mail: None }).await?;
        Ok(token)
    }
    .await;
    let token = store::finish(txn, created).await?;
    state.notifications.wake();
    tracing::info!(account = %owner.username, token = %token.name, "token created");
    Ok(IssuedToken { token: view(&token), secret: secret.expose().to_owned() })
}

/// Now, and [`EXPIRING_DAYS`] from now: a live token expiring in between is "expiring soon".
fn expiring_window(state: &Core) -> (DateTime<Utc>, DateTime<Utc>) {
    let now = state.clock.now();
    (now, now + Duration::days(crate::model::tokens::EXPIRING_DAYS))
}

/// The names and expiry of the actor's live tokens that expire within [`EXPIRING_DAYS`] days, soonest first.
pub async fn expiring_soon(state: &Core, actor: &Actor) -> Result<(Vec<TokenView>, u64), AppError> {
    let owner = authorise(actor)?;
    let filter = TokenFilter { expiring_between: Some(expiring_window(state)), ..TokenFilter::default() };
    let (rows, total) = tokens::page(&state.db, owner.id, filter, TokenSort::Expires, false, 0, 5).await?;
    Ok((rows.iter().map(view).collect(), total))
}

pub async fn list(state: &Core, actor: &Actor, query: &TokenQuery) -> Result<TokenPage, AppError> {
    let owner = authorise(actor)?;
    let offset = super::paging::offset(query.page, query.per_page, &PAGE_SIZES, "tokens")?;
    let order = query.sort;
    let filter =
        TokenFilter { search: &query.search, expiring_between: query.expiring.then(|| expiring_window(state)) };
    if order == TokenSort::Requests {
        super::usage::flush(state).await?;
    }
    // A big account's search, newest first or by name, is answered from its names held in memory; the other
    // orders' values change all the time (last use, requests) and are the database's.
    let needle = query.search.trim().to_ascii_lowercase();
    let in_memory = match (order, filter.expiring_between) {
        (TokenSort::Created, None) => Some(NameOrder::Created),
        (TokenSort::Name, None) => Some(NameOrder::Name),
        _ => None,
    };
    let found = match in_memory {
        Some(by) => {
            state.names.search(&state.db, owner.id, &needle, by, query.descending, offset, query.per_page).await?
        }
        None => None,
    };
    let (rows, total) = match found {
        Some(found) => (tokens::by_ids(&state.db, owner.id, &found.ids).await?, found.total),
        None => tokens::page(&state.db, owner.id, filter, order, query.descending, offset, query.per_page).await?,
    };
    Ok(TokenPage { tokens: rows.iter().map(view).collect(), total, page: query.page, per_page: query.per_page })
}

/// Every token of the actor's account in one order, for the API functions and commands that list them all
/// (UAPI `list`, WHM `api_token_list`, `tessera token list`).
pub async fn list_all(
    state: &Core,
    actor: &Actor,
    sort: TokenSort,
    descending: bool,
) -> Result<Vec<TokenView>, AppError> {
    let owner = authorise(actor)?;
    let (rows, _) =
        tokens::page(&state.db, owner.id, TokenFilter::default(), sort, descending, 0, u64::MAX >> 1).await?;
    Ok(rows.iter().map(view).collect())
}

/// Whether `name` is taken for a new token, or for renaming the token now called `current` (which may take its
/// own name in another case): `None` when it is free, the field's "already in use" message when another of the
/// actor's tokens has it. The forms ask while the name is typed, so the message shows before submitting; a taken
/// name is an answer, not an error. Creating and renaming still rely on the unique index, which settles any race
/// with a token created meanwhile.
pub async fn name_taken(
    state: &Core,
    actor: &Actor,
    name: &str,
    current: Option<&str>,
) -> Result<Option<String>, AppError> {
    let owner = authorise(actor)?;
    let name = TokenName::parse(name).map_err(|e| AppError::invalid("name", e))?;
    let taken = tokens::find_by_name(&state.db, owner.id, name.as_str())
        .await?
        .is_some_and(|token| current.is_none_or(|current| !current.eq_ignore_ascii_case(&token.name)));
    Ok(taken.then(|| name_in_use(name.as_str()).for_field("name")).flatten())
}

pub async fn get(state: &Core, actor: &Actor, name: &str) -> Result<TokenView, AppError> {
    let owner = authorise(actor)?;
    Ok(view(&find(state, owner, name).await?))
}

/// What an edit changes; `None` keeps the current value.
#[derive(Debug, Default)]
pub struct TokenEdit<'a> {
    pub name: Option<&'a str>,
    pub allowlist: Option<IpAllowlist>,
    pub privileges: Option<&'a [String]>,
    /// `Some(None)`: remove the limit.
    pub rate_limit: Option<Option<RateLimit>>,
}

impl TokenEdit<'_> {
    fn changes_access(&self) -> bool {
        self.allowlist.is_some() || self.privileges.is_some() || self.rate_limit.is_some()
    }
}

pub async fn rename(state: &Core, actor: &Actor, name: &str, new_name: &str) -> Result<TokenView, AppError> {
    edit(state, actor, name, TokenEdit { name: Some(new_name), ..TokenEdit::default() }).await
}

pub async fn update(
    state: &Core,
    actor: &Actor,
    name: &str,
    allowlist: Option<IpAllowlist>,
    privileges: Option<&[String]>,
) -> Result<TokenView, AppError> {
    edit(state, actor, name, TokenEdit { name: None, allowlist, privileges, rate_limit: None }).await
}

/// Renames a token and/or replaces its allowlist or privileges, all or nothing (one request, one change): every
/// value is checked before anything is written, and the row and its audit events are written in one transaction.
pub async fn edit(state: &Core, actor: &Actor, name: &str, edit: TokenEdit<'_>) -> Result<TokenView, AppError> {
    let owner = authorise(actor)?;
    let new_name = edit.name.map(|new| TokenName::parse(new).map_err(|e| AppError::invalid("name", e))).transpose()?;
    let changes_access = edit.changes_access();
    let allowlist = edit.allowlist.map(|allowlist| allowlist_for(actor, allowlist)).transpose()?;
    let privileges = match edit.privileges {
        Some(names) => Some(parse_privileges(state, actor, owner, names).await?),
        None => None,
    };
    let rate_limit = match edit.rate_limit {
        // Through a limited token, a removed limit becomes the calling token's, which `rate_limit_for` checks.
        Some(wanted) => Some(rate_limit_for(actor, wanted)?),
        None => None,
    };
    let token = find(state, owner, name).await?;
    let action = if changes_access { "token.update" } else { "token.rename" };
    ensure_within_grant(state, actor, owner, &token, action, false).await?;
    if new_name.is_none() && !changes_access {
        return Ok(view(&token));
    }
    let (old_name, old_key) = (token.name.clone(), token.name_key.clone());
    let mut changes = token.into_active_model();
    if let Some(new_name) = &new_name {
        changes.name = Set(new_name.as_str().to_owned());
        changes.name_key = Set(new_name.key());
    }
    if let Some(allowlist) = allowlist {
        changes.allowlist = Set(allowlist.to_storage());
    }
    if let Some(privileges) = privileges {
        changes.privileges = Set(privileges.to_storage());
    }
    if let Some(rate_limit) = rate_limit {
        changes.rate_limit = Set(rate_limit.map(|limit| limit.to_string()));
    }
    // A big account whose names are searched in memory: they follow the rename at once (store::name_index).
    let renaming = new_name.as_ref().is_some_and(|new| new.key() != old_key) && state.names.holds(owner.id);
    let txn = store::begin_write(&state.db).await?;
    let saved: Result<_, AppError> = async {
        let token = tokens::save(&txn, changes)
            .await
            .on_unique_violation(|| name_in_use(new_name.as_ref().map_or(name, TokenName::as_str)))?;
        if new_name.is_some() {
            record(&txn, state, actor.event("token.rename", &format!("{old_name} → {}", token.name))).await?;
        }
        if changes_access {
            record(&txn, state, actor.event("token.update", &token.name)).await?;
        }
        let names_at = if renaming { name_index::changes(&txn, owner.id).await? } else { None };
        Ok((token, names_at))
    }
    .await;
    let (token, names_at) = store::finish(txn, saved).await?;
    if let Some(changes) = names_at {
        state.names.renamed(owner.id, changes, token.id, &token.name_key);
    }
    state.verification_changed();
    Ok(view(&token))
}

pub async fn rotate(
    state: &Core,
    actor: &Actor,
    name: &str,
    expiry: Option<Expiry>,
    grace_minutes: u32,
) -> Result<IssuedToken, AppError> {
    let owner = authorise(actor)?;
    if grace_minutes > MAX_GRACE_MINUTES {
        return Err(AppError::invalid("grace", "The grace period can be at most 24 hours."));
    }
    let new_expiry = expiry.map(|expiry| expiry_for(state, actor, expiry)).transpose()?;
    let token = find(state, owner, name).await?;
    ensure_within_grant(state, actor, owner, &token, "token.rotate", true).await?;
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
    let txn = store::begin_write(&state.db).await?;
    let saved: Result<_, AppError> = async {
        let token = tokens::save(&txn, changes).await?;
        record(&txn, state, actor.event("token.rotate", &token.name)).await?;
        Ok(token)
    }
    .await;
    let token = store::finish(txn, saved).await?;
    state.verification_changed();
    Ok(IssuedToken { token: view(&token), secret: secret.expose().to_owned() })
}

/// Revokes the named tokens that exist; "not found" when none of them does.
pub async fn revoke(state: &Core, actor: &Actor, names: &[String]) -> Result<Vec<String>, AppError> {
    let owner = authorise(actor)?;
    if names.is_empty() {
        return Err(AppError::invalid("names", "Choose at least one token to revoke."));
    }
    delete(state, actor, owner, Some(names)).await
}

/// Revokes every token of the actor's account; answers how many there were.
pub async fn revoke_all(state: &Core, actor: &Actor) -> Result<u64, AppError> {
    let owner = authorise(actor)?;
    Ok(delete(state, actor, owner, None).await?.len() as u64)
}

/// Revokes the token the actor calls with, whatever its privileges: a token can always end itself (as GitLab's
/// `DELETE /personal_access_tokens/self`), e.g. when its holder suspects it leaked. Answers its name.
pub async fn revoke_itself(state: &Core, actor: &Actor) -> Result<String, AppError> {
    let (Some(grant), Some(owner)) = (actor.grant(), actor.account()) else {
        return Err(AppError::BadRequest("Only an API token can revoke itself.".into()));
    };
    let names = [grant.name.clone()];
    let mut revoked = delete(state, actor, owner, Some(&names)).await?;
    revoked.pop().ok_or_else(|| AppError::NoSuchToken(grant.name.clone()))
}

/// Deletes the named tokens of `owner` (`None`: all of them) with a `token.revoke` event each, in one transaction;
/// answers the names deleted. Naming only tokens that do not exist is "not found".
async fn delete(
    state: &Core,
    actor: &Actor,
    owner: &Account,
    names: Option<&[String]>,
) -> Result<Vec<String>, AppError> {
    let txn = store::begin_write(&state.db).await?;
    let done: Result<_, AppError> = async {
        let revoked = match names {
            Some(names) => tokens::delete_by_names(&txn, owner.id, names).await?,
            None => tokens::delete_all(&txn, owner.id).await?,
        };
        if let Some(names) = names
            && revoked.is_empty()
        {
            return Err(AppError::NoSuchToken(names.join(", ")));
        }
        for name in &revoked {
            record(&txn, state, actor.event("token.revoke", name)).await?;
            let data = json!({"account": owner.username, "token": {"name": name}, "by": actor.name()});
            notify::emit(&txn, state, Event { kind: "token.revoked", data, mail: None }).await?;
        }
        Ok(revoked)
    }
    .await;
    let revoked = store::finish(txn, done).await?;
    state.verification_changed();
    state.notifications.wake();
    Ok(revoked)
}
