//! The command line for operators and scripts: `tessera account ...`. Exit codes: 0 success, 1 refused by a
//! rule (message on stderr), 2 usage error (from clap).

use crate::{
    config::{AccountCommand, TokenCommand},
    serve,
};
use app::{
    api::{NewToken, TokenQuery, TokenSort},
    domain::Expiry,
    services::tokens::{self, Caller},
    state::AppState,
    store::accounts as account_store,
};
use app::{
    domain::PrivilegeSet,
    error::AppError,
    services::{
        accounts::{self, Actor},
        auth::SessionSettings,
        password::Password,
        random::base62,
    },
};
use chrono_tz::Tz;
use std::io::BufRead;

/// What a command produced: text for stdout, or a refusal for stderr.
pub type Outcome = Result<String, CliError>;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A rule refused the request (exit code 1).
    #[error("{0}")]
    Refused(String),
    /// Anything else that stopped the command (exit code 1).
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<AppError> for CliError {
    fn from(err: AppError) -> Self {
        Self::Refused(err.to_string())
    }
}

/// The state a command needs: the database, password hashing and the time zone; no address to listen on.
async fn open(database_url: &str, time_zone: Tz) -> Result<AppState, CliError> {
    Ok(serve::state(database_url, SessionSettings::default(), time_zone, ([127, 0, 0, 1], 0).into()).await?)
}

pub async fn account(database_url: &str, time_zone: Tz, command: AccountCommand) -> Outcome {
    let state = open(database_url, time_zone).await?;
    match command {
        AccountCommand::Create { name, privileges, password_stdin } => {
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).map_err(anyhow::Error::from)?;
                (line.trim_end_matches(['\r', '\n']).to_owned(), None)
            } else {
                let password = base62(20);
                (password.clone(), Some(password))
            };
            let account =
                accounts::create(&state, &Actor::operator(), &name, Password::new(password), &privileges).await?;
            Ok(match generated {
                Some(password) => {
                    format!("Created account {}.\nPassword (shown only once): {password}\n", account.username)
                }
                None => format!("Created account {}.\n", account.username),
            })
        }
        AccountCommand::List { json } => {
            let accounts = accounts::list(&state).await?;
            if json {
                let rows: Vec<_> = accounts
                    .iter()
                    .map(|a| {
                        serde_json::json!({
                            "name": a.username,
                            "privileges": PrivilegeSet::from_storage(&a.privileges).iter().collect::<Vec<_>>(),
                            "suspended": a.suspended,
                            "created_at": a.created_at.timestamp(),
                        })
                    })
                    .collect();
                Ok(serde_json::to_string_pretty(&rows).map_err(anyhow::Error::from)? + "\n")
            } else {
                let mut out = format!("{:<50}  {:<9}  {:<20}  PRIVILEGES\n", "NAME", "STATE", "CREATED (UTC)");
                for a in &accounts {
                    let state = if a.suspended { "suspended" } else { "active" };
                    out += &format!(
                        "{:<50}  {state:<9}  {:<20}  {}\n",
                        a.username,
                        a.created_at.format("%Y-%m-%d %H:%M:%S"),
                        PrivilegeSet::from_storage(&a.privileges).to_storage().replace(' ', ",")
                    );
                }
                Ok(out)
            }
        }
    }
}

/// The account a token command acts for, looked up by name.
async fn caller_for(state: &AppState, account: &str) -> Result<Caller, CliError> {
    let found = account_store::find_by_name(&state.db, account).await.map_err(anyhow::Error::from)?;
    found.map(Caller::cli).ok_or_else(|| CliError::Refused(format!("There is no account named “{account}”.")))
}

pub async fn token(database_url: &str, time_zone: Tz, command: TokenCommand) -> Outcome {
    let state = open(database_url, time_zone).await?;
    match command {
        TokenCommand::Create { account, name, expires, ips, privileges } => {
            let caller = caller_for(&state, &account).await?;
            let expires = expires.unwrap_or_else(|| Expiry::default_for(tokens::today(&state)).to_string());
            let new = NewToken { name, expires, allowlist: ips.join("\n"), privileges };
            let issued = tokens::create(&state, &caller, &new).await?;
            // The secret alone, so `$(tessera token create ...)` captures exactly it.
            Ok(format!("{}\n", issued.secret))
        }
        TokenCommand::List { account, json } => {
            let caller = caller_for(&state, &account).await?;
            let mut all = Vec::new();
            let mut query =
                TokenQuery { sort: TokenSort::Name, descending: false, per_page: 100, ..TokenQuery::default() };
            loop {
                let page = tokens::list(&state, &caller, &query).await?;
                let done = page.tokens.len() < 100;
                all.extend(page.tokens);
                if done {
                    break;
                }
                query.page += 1;
            }
            if json {
                return Ok(serde_json::to_string_pretty(&all).map_err(anyhow::Error::from)? + "\n");
            }
            let mut out = format!("{:<50}  {:<19}  {:<19}  {:<24}  PRIVILEGES\n", "NAME", "CREATED", "EXPIRES", "IPS");
            for t in &all {
                let local = |at: chrono::DateTime<chrono::Utc>| {
                    at.with_timezone(&time_zone).format("%Y-%m-%d %H:%M:%S").to_string()
                };
                let expires = t.expires_at.map_or_else(|| "never".to_owned(), local);
                let ips = if t.allowlist.is_empty() { "any".to_owned() } else { t.allowlist.join(",") };
                out += &format!(
                    "{:<50}  {:<19}  {:<19}  {:<24}  {}\n",
                    t.name,
                    local(t.created_at),
                    expires,
                    ips,
                    t.privileges.join(",")
                );
            }
            Ok(out)
        }
        TokenCommand::Rename { account, old, new } => {
            let caller = caller_for(&state, &account).await?;
            let token = tokens::rename(&state, &caller, &old, &new).await.map_err(|e| not_found_as(e, &old))?;
            Ok(format!("Renamed {old} to {}.\n", token.name))
        }
        TokenCommand::Revoke { account, all, names } => {
            let caller = caller_for(&state, &account).await?;
            if all {
                let count = tokens::revoke_all(&state, &caller).await?;
                return Ok(format!("Revoked {count} token{}.\n", if count == 1 { "" } else { "s" }));
            }
            let revoked =
                tokens::revoke(&state, &caller, &names).await.map_err(|e| not_found_as(e, &names.join(", ")))?;
            let missing: Vec<_> =
                names.iter().filter(|n| !revoked.iter().any(|r| r.eq_ignore_ascii_case(n))).cloned().collect();
            if missing.is_empty() {
                Ok(format!("Revoked {}.\n", revoked.join(", ")))
            } else {
                Err(CliError::Refused(format!(
                    "Revoked {}; no token named {}.",
                    revoked.join(", "),
                    missing.join(", ")
                )))
            }
        }
    }
}

/// "Not found" with the name that was not found.
fn not_found_as(err: AppError, name: &str) -> CliError {
    match err {
        AppError::NotFound => CliError::Refused(format!("There is no token named “{name}”.")),
        other => other.into(),
    }
}
