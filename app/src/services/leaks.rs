//! Leaked tokens (issue 14): a secret scanner (GitHub's secret scanning partner programme, gitleaks in CI, an
//! operator at the command line) reports secrets it found in public; each one that is a Tessera token is revoked
//! at once, in the same request, audited with where it was found, and shown to its owner until dismissed.
//!
//! Reporting can only revoke, so the endpoint is safe to expose without authentication. A token is revoked
//! whichever of its secrets leaked (the current one, or the previous one still inside its rotation grace period),
//! and whether or not it has expired: an expired token can be given a new expiry, a leaked one must not come back.

use super::{
    Core,
    notify::{self, Event, Mail},
    random::sha256_hex,
    verify::secret_matches,
};
use crate::{
    domain::TokenSecret,
    error::AppError,
    store::{
        self,
        audit::{self, NewEvent},
        leaks::{self, NewLeak},
        tokens,
    },
};
use serde::{Deserialize, Serialize};

/// The most secrets one report may carry.
pub const MAX_REPORTED: usize = 1_000;
/// The longest `url` or `source` kept from a report; longer ones are cut (they are only shown).
const MAX_TEXT: usize = 2_000;
/// How many open leaks an owner is shown at most.
const SHOWN: u64 = 20;

/// One secret a scanner found, in GitHub's secret scanning partner format.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LeakReport {
    pub token: String,
    /// The scanner's name for the kind of secret (GitHub's `type`), echoed back.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Where it was found.
    #[serde(default)]
    pub url: Option<String>,
    /// What was scanned (GitHub: `content`, `commit`, `pull_request`, …).
    #[serde(default)]
    pub source: Option<String>,
}

/// GitHub's verdicts: `true_positive` for a Tessera token (now revoked), `false_positive` for anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    TruePositive,
    FalsePositive,
}

/// The answer for one reported secret, in GitHub's expected shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub token_raw: String,
    pub token_type: String,
    pub label: Label,
}

/// What happened to one reported secret, for the command line (which may say more than the public answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A token found by this secret was revoked now: its owner's name and its name.
    Revoked { account: String, token: String },
    /// Reported before: its token was revoked then. Nothing changed.
    AlreadyRevoked,
    /// Not a Tessera token's form or checksum.
    Malformed,
    /// Well formed, but no token has it (never issued, revoked, or replaced past its grace period).
    Unknown,
}

impl Outcome {
    pub fn label(&self) -> Label {
        match self {
            Self::Revoked { .. } | Self::AlreadyRevoked => Label::TruePositive,
            Self::Malformed | Self::Unknown => Label::FalsePositive,
        }
    }
}

/// Who reported: a scanner over HTTP (its address) or the operator at the command line.
#[derive(Debug, Clone)]
pub enum Reporter {
    Scanner { client_ip: Option<String> },
    Operator,
}

impl Reporter {
    fn name(&self) -> &'static str {
        match self {
            Self::Scanner { .. } => "secret scanning",
            Self::Operator => super::actor::OPERATOR,
        }
    }

    fn client_ip(&self) -> Option<&str> {
        match self {
            Self::Scanner { client_ip } => client_ip.as_deref(),
            Self::Operator => None,
        }
    }
}

fn clipped(text: Option<&str>) -> Option<&str> {
    let text = text?.trim();
    if text.is_empty() {
        return None;
    }
    let mut end = text.len().min(MAX_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(&text[..end])
}

/// Handles a report: revokes every live token it names, each with a `token.leaked` event and a notice for its
/// owner, in one transaction (all of it is kept, or none). Answers one outcome per reported secret, in order.
pub async fn report(state: &Core, reports: &[LeakReport], reporter: &Reporter) -> Result<Vec<Outcome>, AppError> {
    if reports.len() > MAX_REPORTED {
        return Err(AppError::BadRequest(format!(
            "A report may carry at most {MAX_REPORTED} secrets; this one has {}. Split it.",
            reports.len()
        )));
    }
    let now = state.clock.now();
    let txn = store::begin_write(&state.db).await?;
    let done: Result<_, AppError> = async {
        let mut outcomes = Vec::with_capacity(reports.len());
        for report in reports {
            let Ok(secret) = TokenSecret::parse(report.token.trim()) else {
                outcomes.push(Outcome::Malformed);
                continue;
            };
            let hash = sha256_hex(secret.expose());
            let found = tokens::find_by_secret_hash(&txn, &hash).await?;
            let Some((token, owner)) = found.filter(|(token, _)| secret_matches(token, &hash, now)) else {
                let known = leaks::was_reported(&txn, &hash).await?;
                outcomes.push(if known { Outcome::AlreadyRevoked } else { Outcome::Unknown });
                continue;
            };
            let (token, owner) = (&token, &owner);
            tokens::delete_by_names(&txn, owner.id, std::slice::from_ref(&token.name)).await?;
            let (url, source) = (clipped(report.url.as_deref()), clipped(report.source.as_deref()));
            let event = NewEvent::new("token.leaked", reporter.name(), None)
                .target(token.name.as_str())
                .from_ip(reporter.client_ip());
            let detail = match (url, source) {
                (Some(url), Some(source)) => Some(format!("found at {url} ({source})")),
                (Some(url), None) => Some(format!("found at {url}")),
                (None, Some(source)) => Some(format!("found in {source}")),
                (None, None) => None,
            };
            audit::record_about(&txn, event, Some(owner.id), detail, now).await?;
            let leak = NewLeak { account_id: owner.id, token_name: &token.name, secret_hash: &hash, url, source };
            leaks::insert(&txn, leak, now).await?;
            notify::emit(&txn, state, leaked_event(state, owner, &token.name, url, source)).await?;
            tracing::warn!(account = %owner.username, token = %token.name, url, "revoked a leaked token");
            outcomes.push(Outcome::Revoked { account: owner.username.clone(), token: token.name.clone() });
        }
        Ok(outcomes)
    }
    .await;
    let outcomes = store::finish(txn, done).await?;
    if outcomes.iter().any(|outcome| matches!(outcome, Outcome::Revoked { .. })) {
        state.verification_changed();
        state.notifications.wake();
    }
    Ok(outcomes)
}

/// `token.leaked` for webhooks, and an e-mail to the owner.
fn leaked_event(
    state: &Core,
    owner: &crate::store::accounts::Account,
    token: &str,
    url: Option<&str>,
    source: Option<&str>,
) -> Event {
    let place = url.unwrap_or("an unnamed place");
    Event {
        kind: "token.leaked",
        data: serde_json::json!({"account": owner.username, "token": {"name": token}, "url": url, "source": source}),
        mail: Some(Mail {
            account_id: owner.id,
            subject: format!("Your Tessera API token “{token}” was found in public and has been revoked"),
            text: format!(
                "A secret scanner found the API token “{token}” of account {} at:\n{place}\n\nTessera revoked it at                  once: requests made with it are refused. Create a new token for whatever used it, keep its secret                  out of code and logs, and check where the old one was used:\n{}\n",
                owner.username,
                notify::link(state, "/tokens"),
            ),
        }),
    }
}

/// The answer GitHub expects: one verdict per reported secret, in order.
pub fn verdicts(reports: &[LeakReport], outcomes: &[Outcome]) -> Vec<Verdict> {
    reports
        .iter()
        .zip(outcomes)
        .map(|(report, outcome)| Verdict {
            token_raw: report.token.clone(),
            token_type: report.kind.clone().unwrap_or_else(|| "tessera_api_token".to_owned()),
            label: outcome.label(),
        })
        .collect()
}

pub use crate::model::tokens::LeakNotice;

/// The signed-in account's leaks not yet dismissed, newest first.
pub async fn notices(state: &Core, account_id: i64) -> Result<Vec<LeakNotice>, AppError> {
    let open = leaks::open_for(&state.db, account_id, SHOWN).await?;
    Ok(open
        .into_iter()
        .map(|leak| LeakNotice {
            id: leak.id,
            token_name: leak.token_name,
            url: leak.url,
            source: leak.source,
            reported: leak.reported_at.with_timezone(&state.time_zone).format("%Y-%m-%d %H:%M %Z").to_string(),
        })
        .collect())
}

/// Dismisses one of the account's leak notices.
pub async fn dismiss(state: &Core, account_id: i64, id: i64) -> Result<(), AppError> {
    if leaks::dismiss(&state.db, account_id, id, state.clock.now()).await? { Ok(()) } else { Err(AppError::NotFound) }
}
