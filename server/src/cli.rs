//! The command line for operators and scripts: `tessera account ...`. Exit codes: 0 success, 1 refused by a
//! rule (message on stderr), 2 usage error (from clap).

use crate::{config::AccountCommand, serve};
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

pub async fn account(database_url: &str, command: AccountCommand) -> Outcome {
    // The CLI only needs the database and password hashing; the address is irrelevant.
    let state = serve::state(database_url, SessionSettings::default(), ([127, 0, 0, 1], 0).into()).await?;
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
