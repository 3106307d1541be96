//! Accounts (SPEC §1–2): create, list, suspend and unsuspend, rename, set privileges, reset or change a
//! password, delete. Every operation checks that the acting admin holds the privilege it needs, never lets
//! anyone grant a privilege they do not hold, never touches an account holding privileges the admin lacks,
//! and keeps at least one active administrator (an account holding `all`). The web app, the WHM API and the
//! CLI all come through here.

use sea_orm::{ConnectionTrait, DatabaseTransaction};

use super::{
    password::Password,
    random::{base62, sha256_hex},
};
use crate::{
    domain::{ALL, AccountName, PASSWORD_MAX_LEN, PASSWORD_MIN_LEN, PrivilegeSet},
    error::AppError,
    error::OnConstraint,
    model::{
        accounts::{AccountPage, AccountQuery, AccountSummary},
        tokens::PAGE_SIZES,
    },
    services::{Actor, Core},
    store::{
        self as store,
        accounts::{self, Account, Changes},
        audit::{self, NewEvent},
        privileges, sessions,
    },
};

/// The account created on first start.
pub const ADMIN_NAME: &str = "admin";

/// The privileges each account operation needs (WHM's ACL names, from the domain's catalogue).
pub use crate::domain::{
    CHANGE_PASSWORDS, CREATE_ACCOUNTS, DELETE_ACCOUNTS, EDIT_ACCOUNTS, LIST_ACCOUNTS, SUSPEND_ACCOUNTS,
};

pub fn check_password(password: &Password, username: &str) -> Result<(), AppError> {
    check_password_field("password", password, username)
}

/// NIST SP 800-63B §5.1.1.2: a length range, not the account's name, not a commonly used password.
fn check_password_field(field: &str, password: &Password, username: &str) -> Result<(), AppError> {
    match password.len() {
        n if n < PASSWORD_MIN_LEN => {
            Err(AppError::invalid(field, format!("The password must be at least {PASSWORD_MIN_LEN} characters long.")))
        }
        n if n > PASSWORD_MAX_LEN => {
            Err(AppError::invalid(field, format!("The password must be at most {PASSWORD_MAX_LEN} characters long.")))
        }
        _ if password.is_name(username) => Err(AppError::invalid(field, "The password cannot be the account's name.")),
        _ if password.is_common() => Err(AppError::invalid(
            field,
            "This is one of the most commonly used passwords, the first an attacker tries: choose another. \
             A few unrelated words make a strong, memorable one.",
        )),
        _ => Ok(()),
    }
}

fn name_in_use(name: &AccountName) -> AppError {
    AppError::conflict("name", format!("The name “{name}” is already in use."))
}

async fn hash(
    state: &Core,
    password: Password,
) -> Result<crate::store::entities::account::StoredPasswordHash, AppError> {
    state.passwords.hash(password).await.map_err(|err| {
        tracing::error!(error = %err, "hashing a password");
        AppError::Internal
    })
}

async fn parse_privileges(state: &Core, names: &[String]) -> Result<PrivilegeSet, AppError> {
    let catalog = privileges::catalog(&state.db).await?;
    catalog.parse_names(names).map_err(|e| AppError::invalid("privileges", e))
}

/// Records `event` on `db`: the transaction of the change it describes, so both are kept or neither.
async fn record(
    db: &impl ConnectionTrait,
    state: &Core,
    event: NewEvent<'_>,
    subject: Option<i64>,
    detail: Option<String>,
) -> Result<(), AppError> {
    Ok(audit::record_about(db, event, subject, detail, state.clock.now()).await?)
}

/// The account named `name` (any case), or a clear error naming it.
pub async fn find(state: &Core, name: &str) -> Result<Account, AppError> {
    accounts::find_by_name(&state.db, name)
        .await?
        .ok_or_else(|| AppError::invalid("account", format!("There is no account named “{name}”.")))
}

/// Creates an account. The name is unique regardless of case, enforced by the database.
pub async fn create(
    state: &Core,
    actor: &Actor,
    name: &AccountName,
    password: Password,
    privileges: &[String],
) -> Result<Account, AppError> {
    create_with_contact(state, actor, name, password, privileges, "").await
}

/// [`create`] with a contact e-mail (empty: none), set in the same transaction.
pub async fn create_with_contact(
    state: &Core,
    actor: &Actor,
    name: &AccountName,
    password: Password,
    privileges: &[String],
    contact_email: &str,
) -> Result<Account, AppError> {
    actor.require(CREATE_ACCOUNTS)?;
    let contact_email = parse_contact_email(contact_email)?;
    check_password(&password, name.as_str())?;
    let privileges = parse_privileges(state, privileges).await?;
    actor.may_grant(&privileges)?;
    let hash = hash(state, password).await?;
    let now = state.clock.now();
    let txn = store::begin_write(&state.db).await?;
    let created: Result<_, AppError> = async {
        let account =
            accounts::insert(&txn, name, hash, &privileges, now).await.on_unique_violation(|| name_in_use(name))?;
        let detail = format!("privileges: {}", privileges.to_storage());
        record(&txn, state, actor.event("account.create", &account.username), Some(account.id), Some(detail)).await?;
        if let Some(email) = &contact_email {
            store::contacts::set(&txn, account.id, Some(email)).await?;
        }
        Ok(account)
    }
    .await;
    let account = store::finish(txn, created).await?;
    tracing::info!(account = %account.username, by = %actor.name(), "account created");
    Ok(account)
}

/// Every account, by name (the CLI's list).
pub async fn list(state: &Core) -> Result<Vec<Account>, AppError> {
    Ok(accounts::list(&state.db).await?)
}

pub fn summary(account: &Account, token_count: u64, actor: &Actor) -> AccountSummary {
    AccountSummary {
        username: account.username.clone(),
        privileges: PrivilegeSet::from_storage(&account.privileges).iter().map(str::to_owned).collect(),
        suspended: account.suspended,
        created_at: account.created_at,
        token_count,
        is_self: actor.is_self(account),
        locked_until: None,
        second_factor: false,
    }
}

/// One page of accounts matching the search, with how many tokens each owns.
pub async fn page(state: &Core, actor: &Actor, query: &AccountQuery) -> Result<AccountPage, AppError> {
    actor.require(LIST_ACCOUNTS)?;
    let offset = super::paging::offset(query.page, query.per_page, &PAGE_SIZES, "accounts")?;
    let (found, total) = accounts::page(&state.db, &query.search, offset, query.per_page).await?;
    let ids: Vec<i64> = found.iter().map(|a| a.id).collect();
    let counts = accounts::token_counts(&state.db, &ids).await?;
    Ok(AccountPage {
        accounts: found.iter().map(|a| summary(a, counts.get(&a.id).copied().unwrap_or_default(), actor)).collect(),
        total,
        page: query.page,
        per_page: query.per_page,
    })
}

/// Every account whose name contains `search`, with its token count (WHM `listaccts`).
pub async fn list_all(state: &Core, actor: &Actor, search: &str) -> Result<Vec<AccountSummary>, AppError> {
    actor.require(LIST_ACCOUNTS)?;
    let (found, _) = accounts::page(&state.db, search, 0, u64::MAX >> 1).await?;
    let ids: Vec<i64> = found.iter().map(|a| a.id).collect();
    let counts = accounts::token_counts(&state.db, &ids).await?;
    Ok(found.iter().map(|a| summary(a, counts.get(&a.id).copied().unwrap_or_default(), actor)).collect())
}

/// One account as an admin sees it, with its token count; `NotFound` when there is none of that name.
pub async fn get(state: &Core, actor: &Actor, name: &str) -> Result<AccountSummary, AppError> {
    actor.require(LIST_ACCOUNTS)?;
    let account = accounts::find_by_name(&state.db, name).await?.ok_or(AppError::NotFound)?;
    let counts = accounts::token_counts(&state.db, &[account.id]).await?;
    let lock = crate::store::sign_in::active_lock(&state.db, &account.username.to_ascii_lowercase(), state.clock.now())
        .await?;
    let second_factor = super::second_factor::required(state, &account).await?;
    let summary = summary(&account, counts.get(&account.id).copied().unwrap_or_default(), actor);
    Ok(AccountSummary { locked_until: lock.map(|lock| lock.locked_until), second_factor, ..summary })
}

fn is_admin(account: &Account) -> bool {
    !account.suspended && PrivilegeSet::from_storage(&account.privileges).holds_all()
}

fn last_admin(account: &Account, what: &str) -> AppError {
    AppError::conflict(
        "account",
        format!(
            "“{}” is the last administrator (the only active account holding “all”), so it cannot be {what}. \
             Make another account an administrator first.",
            account.username
        ),
    )
}

/// Applies `changes` in `txn` (begun by `store::begin_account_change`), refused when no active administrator
/// would remain.
async fn update_keeping_an_admin(
    txn: &DatabaseTransaction,
    state: &Core,
    account: &Account,
    changes: Changes<'_>,
    what: &str,
) -> Result<Account, AppError> {
    let updated = accounts::update(txn, account.id, changes, state.clock.now()).await?;
    if is_admin(account) && !is_admin(&updated) && accounts::active_admins(txn).await?.is_empty() {
        return Err(last_admin(account, what));
    }
    Ok(updated)
}

/// Suspends or unsuspends an account. Suspending ends its sessions; its tokens are refused until unsuspended.
pub async fn set_suspended(state: &Core, actor: &Actor, name: &str, suspended: bool) -> Result<Account, AppError> {
    actor.require(SUSPEND_ACCOUNTS)?;
    let account = find(state, name).await?;
    actor.may_act_on(&account)?;
    if suspended && actor.is_self(&account) {
        return Err(AppError::invalid("account", "You cannot suspend your own account."));
    }
    if account.suspended == suspended {
        return Ok(account);
    }
    let changes = Changes { suspended: Some(suspended), ..Changes::default() };
    let action = if suspended { "account.suspend" } else { "account.unsuspend" };
    let txn = store::begin_account_change(&state.db).await?;
    let done: Result<_, AppError> = async {
        let updated = update_keeping_an_admin(&txn, state, &account, changes, "suspended").await?;
        if suspended {
            sessions::delete_for_account(&txn, account.id).await?;
            let data = serde_json::json!({"account": updated.username, "by": actor.name()});
            let event = super::notify::Event { kind: "account.suspended", data, mail: None };
            super::notify::emit(&txn, state, event).await?;
        }
        record(&txn, state, actor.event(action, &updated.username), Some(updated.id), None).await?;
        Ok(updated)
    }
    .await;
    let updated = store::finish(txn, done).await?;
    state.verification_changed();
    state.notifications.wake();
    tracing::info!(account = %updated.username, by = %actor.name(), suspended, "account suspension changed");
    Ok(updated)
}

/// Lifts an account's sign-in lock (after too many failed sign-ins) before it runs out and forgets its failures.
/// Answers whether it was locked.
pub async fn unlock(state: &Core, actor: &Actor, name: &str) -> Result<bool, AppError> {
    actor.require(SUSPEND_ACCOUNTS)?;
    let account = find(state, name).await?;
    actor.may_act_on(&account)?;
    let key = account.username.to_ascii_lowercase();
    super::sign_in_limits::unlock(state, &key, actor).await
}

/// Renames an account. Its tokens keep working; API clients send the new name from now on.
pub async fn rename(state: &Core, actor: &Actor, name: &str, new: &AccountName) -> Result<Account, AppError> {
    actor.require(EDIT_ACCOUNTS)?;
    let account = find(state, name).await?;
    actor.may_act_on(&account)?;
    if new.as_str() == account.username {
        return Ok(account);
    }
    let now = state.clock.now();
    let txn = store::begin_write(&state.db).await?;
    let done: Result<_, AppError> = async {
        let updated = accounts::update(&txn, account.id, Changes { name: Some(new), ..Changes::default() }, now)
            .await
            .on_unique_violation(|| name_in_use(new))?;
        let detail = format!("renamed from {}", account.username);
        record(&txn, state, actor.event("account.rename", &updated.username), Some(updated.id), Some(detail)).await?;
        Ok(updated)
    }
    .await;
    let updated = store::finish(txn, done).await?;
    state.verification_changed();
    Ok(updated)
}

/// Checks a contact e-mail address (an empty one means "none"): one address, as SMTP takes it, at most 254
/// characters.
pub fn parse_contact_email(raw: &str) -> Result<Option<String>, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.len() > 254 {
        return Err(AppError::invalid("email", "An e-mail address is at most 254 characters."));
    }
    let address: lettre::Address = raw
        .parse()
        .map_err(|_| AppError::invalid("email", format!("“{raw}” is not an e-mail address (name@example.com).")))?;
    Ok(Some(address.to_string()))
}

/// The account's contact e-mail: its own, or any through `edit-accounts`.
pub async fn contact_email(state: &Core, actor: &Actor, name: &str) -> Result<Option<String>, AppError> {
    let account = find(state, name).await?;
    if !actor.is_self(&account) {
        actor.require(EDIT_ACCOUNTS)?;
        actor.may_act_on(&account)?;
    }
    Ok(store::contacts::get(&state.db, account.id).await?)
}

/// Sets the contact e-mail where expiry warnings and leak notices go (empty: none). An account sets its own; an
/// administrator with `edit-accounts` sets anyone's they may act on.
pub async fn set_contact_email(
    state: &Core,
    actor: &Actor,
    name: &str,
    email: &str,
) -> Result<Option<String>, AppError> {
    let account = find(state, name).await?;
    if !actor.is_self(&account) {
        actor.require(EDIT_ACCOUNTS)?;
        actor.may_act_on(&account)?;
    }
    let email = parse_contact_email(email)?;
    let txn = store::begin_write(&state.db).await?;
    let done: Result<_, AppError> = async {
        store::contacts::set(&txn, account.id, email.as_deref()).await?;
        let detail = match &email {
            Some(email) => format!("contact e-mail set to {email}"),
            None => "contact e-mail removed".to_owned(),
        };
        record(&txn, state, actor.event("account.contact", &account.username), Some(account.id), Some(detail)).await?;
        Ok(email)
    }
    .await;
    store::finish(txn, done).await
}

/// Replaces an account's privileges. Added privileges must be held by the admin; the last administrator keeps
/// `all`. Tokens lose removed privileges at once (their effective set is intersected with the owner's).
pub async fn set_privileges(state: &Core, actor: &Actor, name: &str, names: &[String]) -> Result<Account, AppError> {
    actor.require(EDIT_ACCOUNTS)?;
    let account = find(state, name).await?;
    actor.may_act_on(&account)?;
    let privileges = parse_privileges(state, names).await?;
    actor.may_grant(&privileges)?;
    let changes = Changes { privileges: Some(&privileges), ..Changes::default() };
    let detail = format!("privileges: {} (were: {})", privileges.to_storage(), account.privileges);
    let txn = store::begin_account_change(&state.db).await?;
    let done: Result<_, AppError> = async {
        let updated = update_keeping_an_admin(&txn, state, &account, changes, "stripped of “all”").await?;
        let event = actor.event("account.privileges", &updated.username);
        record(&txn, state, event, Some(updated.id), Some(detail)).await?;
        Ok(updated)
    }
    .await;
    let updated = store::finish(txn, done).await?;
    state.verification_changed();
    Ok(updated)
}

/// Sets a new password for another account (an admin's reset). Ends every session of that account.
pub async fn reset_password(state: &Core, actor: &Actor, name: &str, password: Password) -> Result<(), AppError> {
    actor.require(CHANGE_PASSWORDS)?;
    let account = find(state, name).await?;
    actor.may_act_on(&account)?;
    if actor.is_self(&account) {
        // Re-authentication (ASVS 2.1.6): one's own password changes only with the current one, even with
        // `passwd`, so a stolen session or token cannot take the account over.
        return Err(AppError::invalid(
            "password",
            "To change your own password, use the Account page: it asks for your current password.",
        ));
    }
    check_password(&password, &account.username)?;
    let hash = hash(state, password).await?;
    let changes = Changes { password_hash: Some(hash), ..Changes::default() };
    let txn = store::begin_write(&state.db).await?;
    let done: Result<_, AppError> = async {
        accounts::update(&txn, account.id, changes, state.clock.now()).await?;
        sessions::delete_for_account(&txn, account.id).await?;
        record(&txn, state, actor.event("account.password.reset", &account.username), Some(account.id), None).await
    }
    .await;
    store::finish(txn, done).await
}

/// An account changes its own password; the current one is required. Every other session of the account
/// ends; `keep_session` (the cookie of the session making the change) stays signed in.
pub async fn change_own_password(
    state: &Core,
    account: &Account,
    current: Password,
    new: Password,
    keep_session: Option<&str>,
    client_ip: Option<&str>,
) -> Result<(), AppError> {
    check_password_field("new_password", &new, &account.username)?;
    if !state.passwords.verify(current, Some(account.password_hash.clone())).await {
        return Err(AppError::invalid("current_password", "The current password is not right."));
    }
    let hash = hash(state, new).await?;
    let changes = Changes { password_hash: Some(hash), ..Changes::default() };
    let keep = keep_session.map(sha256_hex);
    let event = NewEvent::by("account.password.change", account).target(account.username.as_str()).from_ip(client_ip);
    let txn = store::begin_write(&state.db).await?;
    let done: Result<_, AppError> = async {
        accounts::update(&txn, account.id, changes, state.clock.now()).await?;
        sessions::delete_for_account_except(&txn, account.id, keep.as_deref()).await?;
        record(&txn, state, event, Some(account.id), None).await
    }
    .await;
    store::finish(txn, done).await
}

/// Deletes an account: every token it owns is revoked and every session ends. Returns how many tokens went.
pub async fn delete(state: &Core, actor: &Actor, name: &str) -> Result<u64, AppError> {
    actor.require(DELETE_ACCOUNTS)?;
    let account = find(state, name).await?;
    actor.may_act_on(&account)?;
    if actor.is_self(&account) {
        return Err(AppError::invalid("account", "You cannot delete your own account."));
    }
    let txn = store::begin_account_change(&state.db).await?;
    let done: Result<_, AppError> = async {
        let counts = accounts::token_counts(&txn, &[account.id]).await?;
        let tokens = counts.get(&account.id).copied().unwrap_or_default();
        accounts::delete(&txn, account.id).await?;
        if is_admin(&account) && accounts::active_admins(&txn).await?.is_empty() {
            return Err(last_admin(&account, "deleted"));
        }
        let detail = format!("{tokens} token(s) revoked");
        record(&txn, state, actor.event("account.delete", &account.username), Some(account.id), Some(detail)).await?;
        Ok(tokens)
    }
    .await;
    let tokens = store::finish(txn, done).await?;
    state.verification_changed();
    tracing::info!(account = %account.username, by = %actor.name(), tokens, "account deleted");
    Ok(tokens)
}

/// On an empty database, creates `admin` with every privilege. Returns the password when it was generated
/// here (so the caller can show it once); `None` when `admin_password` was given or accounts already exist.
pub async fn bootstrap_admin(state: &Core, admin_password: Option<String>) -> Result<Option<String>, AppError> {
    if accounts::count(&state.db).await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match admin_password {
        Some(password) => (password, None),
        None => {
            let password = base62(20);
            (password.clone(), Some(password))
        }
    };
    let name = AccountName::parse(ADMIN_NAME).map_err(|_| AppError::Internal)?;
    match create(state, &Actor::operator(), &name, Password::new(password), &[ALL.to_owned()]).await {
        Ok(_) => Ok(generated),
        // Another instance sharing the database created it first.
        Err(AppError::Conflict { .. }) => Ok(None),
        Err(err) => Err(err),
    }
}
