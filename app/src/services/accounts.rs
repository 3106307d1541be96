//! Accounts: creation (CLI and first start), listing. Suspension, renaming and deletion come with the
//! accounts issue.

use super::{internal, password::Password, random::base62};
use crate::{
    domain::{ALL, AccountName, PrivilegeSet},
    error::AppError,
    state::AppState,
    store::{
        accounts::{self, Account},
        audit::{self, NewEvent, Outcome},
    },
};
use sea_orm::SqlErr;

/// Passwords shorter than this are refused (NIST SP 800-63B's minimum).
pub const PASSWORD_MIN_LEN: usize = 8;
/// Longer ones are refused too: Argon2 would accept them, but nobody types them and they cost memory.
pub const PASSWORD_MAX_LEN: usize = 1024;

/// The account created on first start.
pub const ADMIN_NAME: &str = "admin";

/// Who is acting, for authorisation and the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub account_id: Option<i64>,
    pub name: String,
    pub client_ip: Option<String>,
}

impl Actor {
    /// The operator at the command line (or the server at start-up).
    pub fn operator() -> Self {
        Self { account_id: None, name: "(operator)".into(), client_ip: None }
    }
}

pub fn check_password(password: &Password) -> Result<(), AppError> {
    match password.len() {
        n if n < PASSWORD_MIN_LEN => Err(AppError::invalid(
            "password",
            format!("The password must be at least {PASSWORD_MIN_LEN} characters long."),
        )),
        n if n > PASSWORD_MAX_LEN => Err(AppError::invalid(
            "password",
            format!("The password must be at most {PASSWORD_MAX_LEN} characters long."),
        )),
        _ => Ok(()),
    }
}

/// Creates an account. The name is unique regardless of case, enforced by the database.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    name: &str,
    password: Password,
    privileges: &str,
) -> Result<Account, AppError> {
    let name = AccountName::parse(name).map_err(|e| AppError::invalid("name", e))?;
    let privileges = PrivilegeSet::parse_builtin(privileges).map_err(|e| AppError::invalid("privileges", e))?;
    check_password(&password)?;
    let hash = state.passwords.hash(password).await.map_err(|err| {
        tracing::error!(error = %err, "hashing a new account's password");
        AppError::Internal
    })?;
    let now = state.clock.now();
    let account = match accounts::insert(&state.db, &name, hash, &privileges, now).await {
        Ok(account) => account,
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(AppError::conflict("name", format!("The name “{name}” is already in use.")));
        }
        Err(err) => return Err(internal("creating an account")(err)),
    };
    let event = NewEvent {
        actor_account_id: actor.account_id,
        actor_name: &actor.name,
        via_token: None,
        action: "account.create",
        target: Some(account.username.as_str()),
        client_ip: actor.client_ip.as_deref(),
        outcome: Outcome::Success,
    };
    audit::record(&state.db, event, now).await.map_err(internal("recording an account creation"))?;
    Ok(account)
}

pub async fn list(state: &AppState) -> Result<Vec<Account>, AppError> {
    accounts::list(&state.db).await.map_err(internal("listing accounts"))
}

/// On an empty database, creates `admin` with every privilege. Returns the password when it was generated
/// here (so the caller can show it once); `None` when `admin_password` was given or accounts already exist.
pub async fn bootstrap_admin(state: &AppState, admin_password: Option<String>) -> Result<Option<String>, AppError> {
    if accounts::count(&state.db).await.map_err(internal("counting accounts"))? > 0 {
        return Ok(None);
    }
    let (password, generated) = match admin_password {
        Some(password) => (password, None),
        None => {
            let password = base62(20);
            (password.clone(), Some(password))
        }
    };
    match create(state, &Actor::operator(), ADMIN_NAME, Password::new(password), ALL).await {
        Ok(_) => Ok(generated),
        // Another instance sharing the database created it first.
        Err(AppError::Conflict { .. }) => Ok(None),
        Err(err) => Err(err),
    }
}
