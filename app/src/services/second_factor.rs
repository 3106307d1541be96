//! Second factors (issue 19): an account enrols an authenticator app (TOTP, RFC 6238), confirmed by one code
//! before it counts, and gets ten single-use recovery codes, shown once and stored hashed. Removing the factor
//! or making new recovery codes asks for the account's password again. Only a person signed in to the web app
//! manages their own factors: API tokens never do.
//!
//! At sign-in (`auth`), an account with a confirmed authenticator gets a session only after a current code or an
//! unused recovery code; [`check`] is that test.

use super::{Actor, Core, accounts, password::Password, random::sha256_hex};
use crate::{
    domain::{
        PrivilegeSet, SecondFactorPolicy,
        totp::{self, Code, RECOVERY_CODES, RecoveryCode, TotpSecret},
    },
    error::AppError,
    store::{
        self,
        accounts::Account,
        audit::{self, NewEvent},
        second_factors, settings,
    },
};

/// What the account page shows about the signed-in account's second factors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// An authenticator app is enrolled and confirmed.
    pub totp: bool,
    /// Recovery codes not used yet.
    pub recovery_codes_left: u64,
}

/// An enrolment waiting for its first code: what the authenticator app needs.
pub struct Enrolment {
    /// The secret in base32, for typing into the app by hand.
    pub secret: String,
    /// The `otpauth://` URI the QR code holds.
    pub uri: String,
}

/// The name apps show beside the account.
const ISSUER: &str = "Tessera";

/// The person signed in to the web app, or a refusal: factors are not managed through API tokens or by the
/// operator acting for someone.
pub(crate) fn person(actor: &Actor) -> Result<&Account, AppError> {
    match (actor.via(), actor.account()) {
        (super::actor::Via::Session, Some(account)) => Ok(account),
        _ => Err(AppError::Forbidden("a sign-in to the web app".into())),
    }
}

pub async fn status(state: &Core, actor: &Actor) -> Result<Status, AppError> {
    let account = person(actor)?;
    Ok(Status {
        totp: has_app(state, account).await?,
        recovery_codes_left: second_factors::recovery_codes_left(&state.db, account.id).await?,
    })
}

/// Whether the account must give a second factor to sign in: it has an authenticator app or a passkey.
pub async fn required(state: &Core, account: &Account) -> Result<bool, AppError> {
    Ok(has_app(state, account).await? || super::passkeys::any(state, account.id).await?)
}

/// Whether the account has a confirmed authenticator app.
pub async fn has_app(state: &Core, account: &Account) -> Result<bool, AppError> {
    Ok(second_factors::totp(&state.db, account.id).await?.is_some_and(|factor| factor.confirmed_at.is_some()))
}

/// The second-factor policy in force (nobody, until an administrator sets one).
pub async fn policy(state: &Core) -> Result<SecondFactorPolicy, AppError> {
    let stored = settings::get(&state.db, settings::SECOND_FACTOR_POLICY).await?;
    Ok(stored.map_or_else(SecondFactorPolicy::default, |stored| SecondFactorPolicy::from_storage(&stored)))
}

/// The policy as an administrator holding `all` sees it.
pub async fn policy_for(state: &Core, actor: &Actor) -> Result<SecondFactorPolicy, AppError> {
    actor.require_all()?;
    policy(state).await
}

/// Sets who must sign in with a second factor: `required` is `nobody`, `everyone` or `holding` (then
/// `privileges`, separated by commas, names at least one privilege of the catalog). Needs `all`; audited.
pub async fn set_policy(
    state: &Core,
    actor: &Actor,
    required: &str,
    privileges: &str,
) -> Result<SecondFactorPolicy, AppError> {
    actor.require_all()?;
    let policy = match required {
        "nobody" => SecondFactorPolicy::Nobody,
        "everyone" => SecondFactorPolicy::Everyone,
        "holding" => {
            let catalog = super::privileges::catalog(state).await?;
            let chosen = catalog.parse(privileges).map_err(|err| match err {
                crate::domain::PrivilegeError::Empty => {
                    AppError::invalid("privileges", "Choose at least one privilege, or another option.")
                }
                other => AppError::invalid("privileges", other),
            })?;
            SecondFactorPolicy::Holding(chosen)
        }
        other => {
            return Err(AppError::invalid(
                "required",
                format!("“{other}” is not a choice: send nobody, everyone or holding."),
            ));
        }
    };
    let now = state.clock.now();
    let stored = policy.to_storage();
    let txn = store::begin_write(&state.db).await?;
    let done: Result<(), AppError> = async {
        settings::set(&txn, settings::SECOND_FACTOR_POLICY, stored.clone(), now).await?;
        audit::record(&txn, actor.event("policy.second_factor", &stored), now).await?;
        Ok(())
    }
    .await;
    store::finish(txn, done).await?;
    Ok(policy)
}

/// Whether the policy covers `account` and it has no second factor yet: then it may only set one up.
pub async fn must_enrol(state: &Core, account: &Account) -> Result<bool, AppError> {
    let covered = policy(state).await?.applies_to(&PrivilegeSet::from_storage(&account.privileges));
    Ok(covered && !required(state, account).await?)
}

/// Starts enrolling an authenticator app (a new secret each time, replacing an unconfirmed one). Refused while
/// one is enrolled: remove it first.
pub async fn start_totp(state: &Core, actor: &Actor) -> Result<Enrolment, AppError> {
    let account = person(actor)?;
    if has_app(state, account).await? {
        return Err(AppError::conflict(
            "totp",
            "An authenticator app is already set up. Remove it first to set up another.",
        ));
    }
    let secret = TotpSecret::generate();
    let encoded = secret.to_base32();
    second_factors::start_totp(&state.db, account.id, encoded.clone(), state.clock.now()).await?;
    Ok(Enrolment { uri: secret.otpauth_uri(ISSUER, &account.username), secret: encoded })
}

/// Confirms the enrolment with a code from the app; answers the new recovery codes (shown once).
pub async fn confirm_totp(state: &Core, actor: &Actor, code: &str) -> Result<Vec<String>, AppError> {
    let account = person(actor)?;
    let code = Code::parse(code).map_err(|err| AppError::invalid("code", err))?;
    let Some(factor) = second_factors::totp(&state.db, account.id).await? else {
        return Err(AppError::invalid("code", "Start the set-up again: it was not found."));
    };
    if factor.confirmed_at.is_some() {
        return Err(AppError::conflict("totp", "An authenticator app is already set up."));
    }
    let secret = TotpSecret::from_base32(&factor.secret).map_err(|err| {
        tracing::error!(error = %err, account = %account.username, "a stored TOTP secret does not decode");
        AppError::Internal
    })?;
    let now = state.clock.now();
    let Some(step) = totp::verify(&secret, &code, now.timestamp(), None) else {
        return Err(AppError::invalid(
            "code",
            "That code does not match. Check that the app shows Tessera's entry and that this device's clock is right.",
        ));
    };
    // Recovery codes come with the first second factor; a passkey enrolled before brought them already.
    let first = !super::passkeys::any(state, account.id).await?;
    let (codes, hashes) = if first { new_recovery_codes() } else { (Vec::new(), Vec::new()) };
    let event =
        NewEvent::by("account.second_factor.enrol", account).target("authenticator app").from_ip(actor.client_ip());
    let txn = store::begin_write(&state.db).await?;
    let done: Result<(), AppError> = async {
        if !second_factors::confirm_totp(&txn, account.id, step, now).await? {
            return Err(AppError::conflict("totp", "An authenticator app is already set up."));
        }
        if first {
            second_factors::replace_recovery_codes(&txn, account.id, hashes, now).await?;
        }
        audit::record(&txn, event, now).await?;
        Ok(())
    }
    .await;
    store::finish(txn, done).await?;
    Ok(codes)
}

/// Removes the authenticator app, after the password; the recovery codes too unless a passkey remains.
pub async fn remove(state: &Core, actor: &Actor, password: Password) -> Result<(), AppError> {
    let account = person(actor)?;
    confirm_password(state, account, password).await?;
    let now = state.clock.now();
    let event =
        NewEvent::by("account.second_factor.remove", account).target("authenticator app").from_ip(actor.client_ip());
    let txn = store::begin_write(&state.db).await?;
    let done: Result<bool, AppError> = async {
        let removed = if store::passkeys::count(&txn, account.id).await? > 0 {
            second_factors::remove_totp(&txn, account.id).await?
        } else {
            second_factors::remove_all(&txn, account.id).await?
        };
        if removed {
            audit::record(&txn, event, now).await?;
        }
        Ok(removed)
    }
    .await;
    if !store::finish(txn, done).await? {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// An administrator removes another account's second factors (it lost its app and its recovery codes): the
/// password alone signs in until new ones are set up. Audited; answers whether there were any. Needs the right to
/// edit accounts, within the actor's reach, like other account changes.
pub async fn reset(state: &Core, actor: &Actor, name: &str) -> Result<bool, AppError> {
    actor.require(crate::domain::EDIT_ACCOUNTS)?;
    let account = accounts::find(state, name).await?;
    actor.may_act_on(&account)?;
    let now = state.clock.now();
    let txn = store::begin_write(&state.db).await?;
    let done: Result<bool, AppError> = async {
        let app = second_factors::remove_all(&txn, account.id).await?;
        let keys = store::passkeys::delete_all(&txn, account.id).await? > 0;
        let removed = app || keys;
        if removed {
            let event = actor.event("account.second_factor.reset", &account.username);
            audit::record_about(&txn, event, Some(account.id), None, now).await?;
        }
        Ok(removed)
    }
    .await;
    store::finish(txn, done).await
}

/// Replaces the recovery codes with ten new ones (shown once), after the password.
pub async fn regenerate_recovery_codes(
    state: &Core,
    actor: &Actor,
    password: Password,
) -> Result<Vec<String>, AppError> {
    let account = person(actor)?;
    confirm_password(state, account, password).await?;
    if !required(state, account).await? {
        return Err(AppError::invalid(
            "password",
            "Set up an authenticator app or a passkey first: recovery codes go with them.",
        ));
    }
    let now = state.clock.now();
    let (codes, hashes) = new_recovery_codes();
    let event =
        NewEvent::by("account.recovery_codes.regenerate", account).target("recovery codes").from_ip(actor.client_ip());
    let txn = store::begin_write(&state.db).await?;
    let done: Result<(), AppError> = async {
        second_factors::replace_recovery_codes(&txn, account.id, hashes, now).await?;
        audit::record(&txn, event, now).await?;
        Ok(())
    }
    .await;
    store::finish(txn, done).await?;
    Ok(codes)
}

pub(crate) async fn confirm_password(state: &Core, account: &Account, password: Password) -> Result<(), AppError> {
    if state.passwords.verify(password, Some(account.password_hash.clone())).await {
        Ok(())
    } else {
        Err(AppError::invalid("password", "The password is not right."))
    }
}

/// Ten recovery codes as shown, and the hashes of their normalised forms as stored.
pub(crate) fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    (0..RECOVERY_CODES)
        .map(|_| {
            let code = RecoveryCode::generate();
            (code.to_string(), sha256_hex(code.canonical()))
        })
        .unzip()
}

/// How a second factor was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    AuthenticatorApp,
    RecoveryCode,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthenticatorApp => "authenticator app",
            Self::RecoveryCode => "recovery code",
        }
    }
}

/// Checks a second factor typed at sign-in: a current code from the app (each code works once), or an unused
/// recovery code (used up by this). `Ok(None)`: neither. Input that is neither shape is the caller's 422.
pub async fn check(state: &Core, account: &Account, input: &str) -> Result<Option<Method>, AppError> {
    let now = state.clock.now();
    if let Ok(code) = Code::parse(input) {
        let Some(factor) = second_factors::totp(&state.db, account.id).await? else { return Ok(None) };
        if factor.confirmed_at.is_none() {
            return Ok(None);
        }
        let Ok(secret) = TotpSecret::from_base32(&factor.secret) else {
            tracing::error!(account = %account.username, "a stored TOTP secret does not decode");
            return Err(AppError::Internal);
        };
        let Some(step) = totp::verify(&secret, &code, now.timestamp(), factor.last_step) else { return Ok(None) };
        // The conditional update decides a race between two sign-ins with the same code.
        return Ok(second_factors::use_totp_step(&state.db, account.id, step)
            .await?
            .then_some(Method::AuthenticatorApp));
    }
    let Some(canonical) = RecoveryCode::normalize(input) else {
        return Err(AppError::invalid(
            "code",
            "Enter the 6-digit code from your authenticator app, or one of your recovery codes (like abcde-fghjk).",
        ));
    };
    let used = second_factors::use_recovery_code(&state.db, account.id, &sha256_hex(&canonical), now).await?;
    Ok(used.then_some(Method::RecoveryCode))
}
