//! The command line for operators and scripts: `tessera account ...`. Exit codes: 0 success, 1 refused by a
//! rule (message on stderr), 2 usage error (from clap).

use crate::{
    config::{AccountCommand, AuditArgs, PrivilegeCommand, TokenCommand, WebhookCommand},
    serve,
};
use anyhow::Context;
use app::{
    api::{NewToken, TokenSort},
    domain::Expiry,
    model::accounts::parse_account_name,
    services::{Actor, tokens},
    store::accounts as account_store,
};
use app::{
    domain::PrivilegeSet,
    error::AppError,
    services::{Core, CoreConfig, accounts, audit as audit_service, password::Password, privileges, random::base62},
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

/// What a command needs: the services' core (database, password hashing, time zone); nothing of the web.
async fn open(database_url: &str, time_zone: Tz) -> Result<Core, CliError> {
    let database = serve::redact(database_url);
    Ok(Core::open(CoreConfig::new(database_url, time_zone))
        .await
        .map_err(anyhow::Error::from)
        .with_context(|| format!("opening the database {database}"))?)
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
            let account = accounts::create(
                &state,
                &Actor::operator(),
                &parse_account_name(&name)?,
                Password::new(password),
                &[privileges],
            )
            .await?;
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
        AccountCommand::Suspend { name } => {
            let account = accounts::set_suspended(&state, &Actor::operator(), &name, true).await?;
            Ok(format!("Suspended {}: it cannot sign in, and its tokens are refused.\n", account.username))
        }
        AccountCommand::Unsuspend { name } => {
            let account = accounts::set_suspended(&state, &Actor::operator(), &name, false).await?;
            Ok(format!("Unsuspended {}.\n", account.username))
        }
        AccountCommand::Reset2fa { name } => {
            Ok(if app::services::second_factor::reset(&state, &Actor::operator(), &name).await? {
                format!(
                    "Removed the second factors of {name}: the password alone signs in until new ones are set up.\n"
                )
            } else {
                format!("{name} has no second factor.\n")
            })
        }
        AccountCommand::Unlock { name } => Ok(if accounts::unlock(&state, &Actor::operator(), &name).await? {
            format!("Unlocked {name}: it can sign in again.\n")
        } else {
            format!("{name} was not locked; its failed sign-ins are forgotten.\n")
        }),
        AccountCommand::Rename { old, new } => {
            let account = accounts::rename(&state, &Actor::operator(), &old, &parse_account_name(&new)?).await?;
            Ok(format!("Renamed {old} to {}. Its tokens keep working with the new name.\n", account.username))
        }
        AccountCommand::Delete { name } => {
            let tokens = accounts::delete(&state, &Actor::operator(), &name).await?;
            Ok(format!("Deleted {name} and revoked {tokens} token{}.\n", if tokens == 1 { "" } else { "s" }))
        }
        AccountCommand::Passwd { name, password_stdin } => {
            let (password, generated) = read_or_generate_password(password_stdin)?;
            accounts::reset_password(&state, &Actor::operator(), &name, Password::new(password)).await?;
            Ok(match generated {
                Some(password) => format!("Set a new password for {name}.\nPassword (shown only once): {password}\n"),
                None => format!("Set a new password for {name}.\n"),
            })
        }
        AccountCommand::SetEmail { name, email } => {
            match accounts::set_contact_email(&state, &Actor::operator(), &name, &email).await? {
                Some(email) => Ok(format!("{name}'s contact e-mail is now {email}.\n")),
                None => Ok(format!("{name} has no contact e-mail now.\n")),
            }
        }
        AccountCommand::Grant { name, privileges } => {
            let account = accounts::find(&state, &name).await?;
            let mut held: Vec<String> =
                PrivilegeSet::from_storage(&account.privileges).iter().map(str::to_owned).collect();
            held.extend(privileges);
            let account = accounts::set_privileges(&state, &Actor::operator(), &name, &held).await?;
            Ok(format!("{} now holds: {}.\n", account.username, account.privileges.replace(' ', ", ")))
        }
        AccountCommand::RevokePrivilege { name, privileges } => {
            let account = accounts::find(&state, &name).await?;
            let held = PrivilegeSet::from_storage(&account.privileges);
            if let Some(missing) = privileges.iter().find(|p| !held.iter().any(|h| h == p.as_str())) {
                return Err(CliError::Refused(format!("{} does not hold “{missing}”.", account.username)));
            }
            let kept: Vec<String> =
                held.iter().filter(|h| !privileges.iter().any(|p| p == h)).map(str::to_owned).collect();
            if kept.is_empty() {
                return Err(CliError::Refused(format!(
                    "{} would hold no privilege at all; suspend or delete the account instead.",
                    account.username
                )));
            }
            let account = accounts::set_privileges(&state, &Actor::operator(), &name, &kept).await?;
            Ok(format!("{} now holds: {}.\n", account.username, account.privileges.replace(' ', ", ")))
        }
    }
}

/// A password from the first line of stdin, or a generated one (returned twice so it can be shown once).
fn read_or_generate_password(from_stdin: bool) -> Result<(String, Option<String>), CliError> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(anyhow::Error::from)?;
        Ok((line.trim_end_matches(['\r', '\n']).to_owned(), None))
    } else {
        let password = base62(20);
        Ok((password.clone(), Some(password)))
    }
}

pub async fn webhook(database_url: &str, time_zone: Tz, command: WebhookCommand) -> Outcome {
    use app::services::webhooks;
    let mut state = open(database_url, time_zone).await?;
    let operator = Actor::operator();
    match command {
        WebhookCommand::Add { url, events, allow_http } => {
            if allow_http {
                let settings = app::services::notify::NotificationSettings {
                    allow_http_webhooks: true,
                    ..state.notifications.settings.clone()
                };
                let notifications = app::services::notify::Notifications::new(settings).map_err(anyhow::Error::from)?;
                state.notifications = std::sync::Arc::new(notifications);
            }
            let added = webhooks::add(&state, &operator, &url, &events).await?;
            Ok(format!(
                "Added webhook {} for {} ({}).\nSigning secret (shown only now): {}\n",
                added.webhook.id,
                added.webhook.url,
                added.webhook.events.join(", "),
                added.secret
            ))
        }
        WebhookCommand::List { json } => {
            let screen = webhooks::screen(&state, &operator).await?;
            if json {
                return Ok(serde_json::to_string_pretty(&screen.webhooks).map_err(anyhow::Error::from)? + "\n");
            }
            let mut out = String::new();
            for hook in &screen.webhooks {
                out += &format!("{}  {}  {}\n", hook.id, hook.url, hook.events.join(","));
                for d in &hook.deliveries {
                    let code = d.last_status_code.map_or_else(String::new, |c| format!(" {c}"));
                    let error = d.last_error.as_deref().map_or_else(String::new, |e| format!(" ({e})"));
                    out += &format!(
                        "    {}  {:<18} {:<9} attempts {}{code}{error}\n",
                        d.created, d.event_type, d.status, d.attempts
                    );
                }
            }
            if out.is_empty() {
                out = "No webhooks.\n".into();
            }
            Ok(out)
        }
        WebhookCommand::Remove { id } => {
            webhooks::remove(&state, &operator, id).await?;
            Ok(format!("Removed webhook {id}.\n"))
        }
        WebhookCommand::Test { id } => {
            webhooks::send_test(&state, &operator, id).await?;
            Ok(format!("Queued a test event for webhook {id}; the running server sends it.\n"))
        }
    }
}

pub async fn privilege(database_url: &str, time_zone: Tz, command: PrivilegeCommand) -> Outcome {
    let state = open(database_url, time_zone).await?;
    match command {
        PrivilegeCommand::Add { name, label, dangerous } => {
            let added = privileges::add(&state, &Actor::operator(), &name, &label, dangerous).await?;
            Ok(format!("Added privilege {}.\n", added.name))
        }
        PrivilegeCommand::List { json } => {
            let catalog = privileges::catalog(&state).await?;
            if json {
                let rows: Vec<_> = catalog.iter().collect();
                return Ok(serde_json::to_string_pretty(&rows).map_err(anyhow::Error::from)? + "\n");
            }
            let mut out = format!("{:<40}  {:<8}  {:<9}  LABEL\n", "NAME", "KIND", "DANGEROUS");
            for p in catalog.iter() {
                let kind = if p.builtin { "built-in" } else { "custom" };
                let dangerous = if p.dangerous { "yes" } else { "" };
                out += &format!("{:<40}  {kind:<8}  {dangerous:<9}  {}\n", p.name, p.label);
            }
            Ok(out)
        }
        PrivilegeCommand::Remove { name } => {
            let removed = privileges::remove(&state, &Actor::operator(), &name).await?;
            Ok(format!(
                "Removed privilege {name}; taken from {} account(s) and {} token(s).\n",
                removed.accounts, removed.tokens
            ))
        }
    }
}

/// `--since`: a date (server zone), an RFC 3339 time, or an age like `30m`, `12h`, `7d`.
fn parse_since(
    raw: &str,
    now: chrono::DateTime<chrono::Utc>,
    zone: Tz,
) -> Result<chrono::DateTime<chrono::Utc>, CliError> {
    let raw = raw.trim();
    if let Ok(date) = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Ok(audit_service::start_of(date, zone));
    }
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(raw) {
        return Ok(at.with_timezone(&chrono::Utc));
    }
    let (number, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len()));
    let amount: i64 = number.parse().map_err(|_| since_error(raw))?;
    let age = match unit {
        "s" => chrono::Duration::try_seconds(amount),
        "m" => chrono::Duration::try_minutes(amount),
        "h" => chrono::Duration::try_hours(amount),
        "d" => chrono::Duration::try_days(amount),
        _ => None,
    }
    .ok_or_else(|| since_error(raw))?;
    now.checked_sub_signed(age).ok_or_else(|| since_error(raw))
}

fn since_error(raw: &str) -> CliError {
    CliError::Refused(format!(
        "“{raw}” is not a time: use YYYY-MM-DD, an RFC 3339 time (2026-11-23T10:00:00Z) or an age like 30m, 12h, 7d."
    ))
}

pub async fn audit(database_url: &str, time_zone: Tz, args: AuditArgs) -> Outcome {
    let state = open(database_url, time_zone).await?;
    let since = args.since.as_deref().map(|raw| parse_since(raw, state.clock.now(), time_zone)).transpose()?;
    let filter = app::store::audit::Filter {
        actor: args.actor.unwrap_or_default(),
        action: args.action.unwrap_or_default(),
        target: args.target.unwrap_or_default(),
        since,
        ..Default::default()
    };
    let (events, _) = app::store::audit::page(&state.db, &filter, 0, args.limit).await.map_err(anyhow::Error::from)?;
    let entries: Vec<_> = events.into_iter().map(|e| audit_service::entry(e, time_zone)).collect();
    if args.json {
        return Ok(serde_json::to_string_pretty(&entries).map_err(anyhow::Error::from)? + "\n");
    }
    let mut out = format!(
        "{:<25}  {:<24}  {:<26}  {:<24}  {:<8}  {:<15}  DETAIL\n",
        "TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME", "IP"
    );
    for e in &entries {
        let actor = match &e.via_token {
            Some(token) => format!("{} ({token})", e.actor),
            None => e.actor.clone(),
        };
        out += &format!(
            "{:<25}  {actor:<24}  {:<26}  {:<24}  {:<8}  {:<15}  {}\n",
            e.at_iso,
            e.action,
            e.target.as_deref().unwrap_or("-"),
            e.outcome,
            e.client_ip.as_deref().unwrap_or("-"),
            e.detail.as_deref().unwrap_or("")
        );
    }
    Ok(out)
}

/// `tessera token revoke-leaked`: one line per secret, saying what became of it (the operator may know more than a
/// scanner is told). Fails when a secret was not a Tessera token at all, so a script notices a bad paste.
async fn revoke_leaked(state: &Core, secrets: Vec<String>, url: Option<String>) -> Outcome {
    use app::services::leaks::{self, LeakReport, Outcome as Leak, Reporter};
    let mut given = Vec::new();
    for secret in secrets {
        if secret == "-" {
            for line in std::io::stdin().lock().lines() {
                let line = line.map_err(anyhow::Error::from)?;
                if !line.trim().is_empty() {
                    given.push(line.trim().to_owned());
                }
            }
        } else {
            given.push(secret);
        }
    }
    let reports: Vec<LeakReport> = given
        .iter()
        .map(|token| LeakReport { token: token.clone(), url: url.clone(), ..LeakReport::default() })
        .collect();
    let outcomes = leaks::report(state, &reports, &Reporter::Operator).await?;
    let mut out = String::new();
    let mut malformed = 0;
    for (report, outcome) in reports.iter().zip(&outcomes) {
        // Never the whole secret back on the terminal: its public prefix and first characters identify it.
        let shown: String = report.token.chars().take(10).collect();
        let line = match outcome {
            Leak::Revoked { account, token } => format!("{shown}…  revoked: token “{token}” of {account}"),
            Leak::AlreadyRevoked => format!("{shown}…  already revoked after an earlier report"),
            Leak::Unknown => format!("{shown}…  no token has this secret (never issued, revoked or replaced)"),
            Leak::Malformed => {
                malformed += 1;
                format!("{shown}…  not a Tessera token (wrong form or checksum)")
            }
        };
        out += &line;
        out.push('\n');
    }
    if malformed > 0 {
        return Err(CliError::Refused(format!("{out}{malformed} of the secrets given are not Tessera tokens.")));
    }
    Ok(out)
}

fn bucket_title(bucket: app::services::usage::Bucket) -> &'static str {
    match bucket {
        app::services::usage::Bucket::Day => "DAY",
        app::services::usage::Bucket::Hour => "HOUR",
    }
}

/// The account a token command acts for, looked up by name.
async fn caller_for(state: &Core, account: &str) -> Result<Actor, CliError> {
    let found = account_store::find_by_name(&state.db, account).await.map_err(anyhow::Error::from)?;
    found.map(Actor::operator_for).ok_or_else(|| CliError::Refused(format!("There is no account named “{account}”.")))
}

pub async fn token(database_url: &str, time_zone: Tz, command: TokenCommand) -> Outcome {
    let state = open(database_url, time_zone).await?;
    match command {
        TokenCommand::Create { account, name, expires, ips, privileges, rate_limit } => {
            let caller = caller_for(&state, &account).await?;
            let expires = expires.unwrap_or_else(|| Expiry::default_for(tokens::today(&state)).to_string());
            let new = NewToken {
                name,
                expires,
                allowlist: ips.join("\n"),
                privileges,
                rate_limit: rate_limit.unwrap_or_default(),
            };
            let issued = tokens::create(&state, &caller, new.parse(tokens::today(&state))?).await?;
            // The secret alone, so `$(tessera token create ...)` captures exactly it.
            Ok(format!("{}\n", issued.secret))
        }
        TokenCommand::List { account, json } => {
            let caller = caller_for(&state, &account).await?;
            let all = tokens::list_all(&state, &caller, TokenSort::Name, false).await?;
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
            let token = tokens::rename(&state, &caller, &old, &new).await?;
            Ok(format!("Renamed {old} to {}.\n", token.name))
        }
        TokenCommand::RevokeLeaked { secrets, url } => revoke_leaked(&state, secrets, url).await,
        TokenCommand::Usage { account, name, days, bucket, json } => {
            use app::services::usage::{self, Bucket};
            let caller = caller_for(&state, &account).await?;
            let bucket: Bucket = bucket.parse()?;
            let to = state.clock.now();
            let from = to - chrono::Duration::days(i64::from(days));
            let report = usage::report(&state, &caller, &name, Some(from), Some(to), bucket).await?;
            if json {
                return Ok(serde_json::to_string_pretty(&report).map_err(anyhow::Error::from)? + "\n");
            }
            let format = if matches!(bucket, Bucket::Day) { "%Y-%m-%d" } else { "%Y-%m-%d %H:00" };
            let mut out = format!("{:<16}  {:>10}  {:>10}  REFUSED FOR\n", bucket_title(bucket), "ACCEPTED", "REFUSED");
            for b in report.buckets.iter().filter(|b| b.accepted + b.refused > 0) {
                let reasons: Vec<String> = b
                    .outcomes
                    .iter()
                    .filter(|(name, _)| name.as_str() != "accepted")
                    .map(|(name, n)| format!("{name} {n}"))
                    .collect();
                let start = b.start.with_timezone(&time_zone).format(format).to_string();
                out += &format!("{start:<16}  {:>10}  {:>10}  {}\n", b.accepted, b.refused, reasons.join(", "));
            }
            let total: u64 = report.buckets.iter().map(|b| b.accepted + b.refused).sum();
            out += &format!("{total} call(s) in the last {days} day(s).\n");
            if !report.addresses.is_empty() {
                out += "\nADDRESS                                   FIRST SEEN           LAST SEEN\n";
                for a in &report.addresses {
                    let local = |at: chrono::DateTime<chrono::Utc>| {
                        at.with_timezone(&time_zone).format("%Y-%m-%d %H:%M:%S").to_string()
                    };
                    out += &format!("{:<40}  {}  {}\n", a.ip, local(a.first_seen), local(a.last_seen));
                }
            }
            Ok(out)
        }
        TokenCommand::Revoke { account, all, names } => {
            let caller = caller_for(&state, &account).await?;
            if all {
                let count = tokens::revoke_all(&state, &caller).await?;
                return Ok(format!("Revoked {count} token{}.\n", if count == 1 { "" } else { "s" }));
            }
            let revoked = tokens::revoke(&state, &caller, &names).await?;
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
