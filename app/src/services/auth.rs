//! Signing in and out of the web app: password checks (throttled, see `sign_in_limits`) and server-side
//! sessions with idle and absolute timeouts. The cookie that carries a session is the web's business
//! (`api::session_cookie`); here a session is known by its value only.

use super::{
    passkeys,
    password::Password,
    second_factor,
    sign_in_limits::{self, SignInLimits},
};
use crate::{
    domain::AccountName,
    error::AppError,
    services::Core,
    store::{
        accounts::{self, Account},
        audit::{self, NewEvent, Outcome},
        second_factors, sessions,
    },
};
use chrono::Duration;

use super::random::{base62, sha256_hex};

/// How long sessions live.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// A session unused this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, however active.
    pub absolute_timeout: Duration,
    /// Failed sign-ins allowed before an account name is locked or an address must wait.
    pub sign_in_limits: SignInLimits,
    /// Giving a token a dangerous privilege asks the person to confirm it is them once their last confirmation
    /// (the password at sign-in, or since) is older than this.
    pub reconfirm_after: Duration,
    /// Who may sign in with a password.
    pub password_sign_in: PasswordSignIn,
}

/// Who may sign in with a password.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PasswordSignIn {
    /// Everyone.
    #[default]
    Everyone,
    /// Only this account (its name's case-folded key), the break-glass account for when the identity provider
    /// is down; `None`: nobody. Everyone else signs in through single sign-on (`services::oidc`).
    BreakGlassOnly(Option<String>),
}

impl PasswordSignIn {
    /// Whether the account with this name key may sign in (or confirm it is them) with its password.
    pub fn allows(&self, key: &str) -> bool {
        match self {
            Self::Everyone => true,
            Self::BreakGlassOnly(account) => account.as_deref() == Some(key),
        }
    }
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::minutes(30),
            absolute_timeout: Duration::hours(12),
            sign_in_limits: SignInLimits::default(),
            reconfirm_after: Duration::minutes(10),
            password_sign_in: PasswordSignIn::Everyone,
        }
    }
}

/// Last-seen times are written at most this often, so reading pages does not mean writing the database.
const TOUCH_INTERVAL: Duration = Duration::seconds(60);

/// The secret value of a new session cookie. Only its hash is stored.
pub struct SessionCookie(pub String);

/// Checks a username and password and opens a session. Every failure answers "Invalid username or password",
/// after the same amount of work whether or not the account exists. An address with too many recent failures
/// is told to wait; a locked account name is refused before its password is looked at, exists or not.
pub async fn login(
    state: &Core,
    username: &str,
    password: Password,
    client_ip: Option<&str>,
) -> Result<SignIn, AppError> {
    if let Some(ip) = client_ip {
        sign_in_limits::check_address(state, ip).await?;
    }
    let name = AccountName::parse(username).ok();
    let key = name.as_ref().map(AccountName::key);
    if let Some(key) = &key {
        sign_in_limits::check_account(state, key, client_ip).await?;
    }
    let account = match &name {
        Some(name) => accounts::find_by_name(&state.db, name.as_str()).await?,
        None => None,
    };
    let verified = state.passwords.verify(password, account.as_ref().map(|a| a.password_hash.clone())).await;
    let now = state.clock.now();
    // An invalid name may be a password typed into the wrong box: never record it.
    let attempted = name.as_ref().map_or("(invalid name)", |n| n.as_str());
    fn event<'a>(
        actor: Option<&'a Account>,
        attempted: &'a str,
        ip: Option<&'a str>,
        outcome: Outcome,
    ) -> NewEvent<'a> {
        let by = actor.map_or_else(|| NewEvent::new("login", attempted, None), |a| NewEvent::by("login", a));
        by.from_ip(ip).outcome(outcome)
    }
    let password_allowed = key.as_deref().is_some_and(|key| state.sessions.password_sign_in.allows(key));
    let account = match account {
        Some(account) if verified && password_allowed => account,
        _ => {
            audit::record(&state.db, event(None, attempted, client_ip, Outcome::Failure), now).await?;
            sign_in_limits::record_failure(state, key.as_deref(), client_ip).await?;
            return Err(match state.sessions.password_sign_in {
                PasswordSignIn::Everyone => AppError::InvalidCredentials,
                PasswordSignIn::BreakGlassOnly(_) => AppError::PasswordSignInOff,
            });
        }
    };
    if account.suspended {
        audit::record(&state.db, event(Some(&account), attempted, client_ip, Outcome::Refused), now).await?;
        return Err(AppError::AccountSuspended);
    }
    sign_in_confirmed(state, account, client_ip, None).await
}

/// Goes on with a sign-in whose first step (`how`: the password when `None`) confirmed `account`, which is not
/// suspended: asks for the second factor if the account has one, else opens the session.
pub(crate) async fn sign_in_confirmed(
    state: &Core,
    account: Account,
    client_ip: Option<&str>,
    how: Option<&'static str>,
) -> Result<SignIn, AppError> {
    let now = state.clock.now();
    if second_factor::required(state, &account).await? {
        // The name's failures are forgotten only after the second factor: a password alone must not reset the
        // count that limits guessing codes.
        let cookie = ChallengeCookie(base62(43));
        second_factors::insert_challenge(&state.db, sha256_hex(&cookie.0), account.id, now, now + CHALLENGE_LIFETIME)
            .await?;
        return Ok(SignIn::SecondFactor(cookie));
    }
    sign_in_limits::record_success(state, &account.username_key).await?;
    let cookie = open_session(state, &account, client_ip, how).await?;
    Ok(SignIn::Session(account, cookie))
}

/// How long a sign-in waits for its second factor after the password.
pub const CHALLENGE_LIFETIME: Duration = Duration::minutes(5);

/// What a right password leads to.
pub enum SignIn {
    /// Signed in.
    Session(Account, SessionCookie),
    /// The account has a second factor: it is asked for next, and this cookie carries the sign-in until then.
    SecondFactor(ChallengeCookie),
}

/// The secret value of a sign-in waiting for its second factor. Only its hash is stored.
pub struct ChallengeCookie(pub String);

async fn open_session(
    state: &Core,
    account: &Account,
    client_ip: Option<&str>,
    how: Option<&'static str>,
) -> Result<SessionCookie, AppError> {
    let now = state.clock.now();
    let cookie = SessionCookie(base62(43));
    let settings = &state.sessions;
    sessions::insert(&state.db, sha256_hex(&cookie.0), account.id, now, now + settings.absolute_timeout).await?;
    let event = NewEvent::by("login", account).target(how).from_ip(client_ip);
    audit::record(&state.db, event.outcome(Outcome::Success), now).await?;
    tracing::info!(account = %account.username, "signed in");
    Ok(cookie)
}

/// Completes a sign-in waiting for its second factor (`challenge`: its cookie's value) with `code`: a code from
/// the authenticator app or a recovery code. A wrong code counts as a failed sign-in for the name and the
/// address (the same throttling as passwords); an ended or unknown challenge means signing in again.
pub async fn complete_sign_in(
    state: &Core,
    challenge: &str,
    code: &str,
    client_ip: Option<&str>,
) -> Result<(Account, SessionCookie), AppError> {
    complete_with(state, challenge, client_ip, AppError::InvalidCode, async |account: &Account| {
        Ok(second_factor::check(state, account, code).await?.map(second_factor::Method::as_str))
    })
    .await
}

/// [`complete_sign_in`] with a passkey: `handle` names the challenge [`passkey_challenge`] gave, `credential` is
/// the browser's answer (JSON). An answer that does not pass counts as a failed sign-in.
pub async fn complete_sign_in_with_passkey(
    state: &Core,
    challenge: &str,
    relying_party: &passkeys::RelyingParty,
    handle: &str,
    credential: &str,
    client_ip: Option<&str>,
) -> Result<(Account, SessionCookie), AppError> {
    complete_with(state, challenge, client_ip, AppError::PasskeyRefused, async |account: &Account| {
        let passed = passkeys::check_sign_in(state, account, relying_party, handle, credential).await?;
        Ok(passed.then_some("passkey"))
    })
    .await
}

/// The account a sign-in waiting for its second factor belongs to, or `SignInExpired`.
pub async fn waiting_account(state: &Core, challenge: &str) -> Result<Account, AppError> {
    let id = sha256_hex(challenge);
    let Some(found) = second_factors::find_challenge(&state.db, &id).await? else {
        return Err(AppError::SignInExpired);
    };
    let account = accounts::find_by_id(&state.db, found.account_id).await?;
    match account.filter(|_| state.clock.now() < found.expires_at) {
        Some(account) => Ok(account),
        None => {
            second_factors::delete_challenge(&state.db, &id).await?;
            Err(AppError::SignInExpired)
        }
    }
}

/// A challenge for one of the passkeys of the account a waiting sign-in belongs to.
pub async fn passkey_challenge(
    state: &Core,
    challenge: &str,
    relying_party: &passkeys::RelyingParty,
) -> Result<passkeys::Challenge, AppError> {
    let account = waiting_account(state, challenge).await?;
    passkeys::start_sign_in(state, &account, relying_party).await
}

/// The second step of a sign-in, whatever the factor: `check` says how the account proved itself (`None`: it
/// did not, which counts as a failed sign-in and answers `refused`).
async fn complete_with(
    state: &Core,
    challenge: &str,
    client_ip: Option<&str>,
    refused: AppError,
    check: impl AsyncFnOnce(&Account) -> Result<Option<&'static str>, AppError>,
) -> Result<(Account, SessionCookie), AppError> {
    let now = state.clock.now();
    let id = sha256_hex(challenge);
    let account = waiting_account(state, challenge).await?;
    if let Some(ip) = client_ip {
        sign_in_limits::check_address(state, ip).await?;
    }
    let key = account.username_key.clone();
    sign_in_limits::check_account(state, &key, client_ip).await?;
    if account.suspended {
        second_factors::delete_challenge(&state.db, &id).await?;
        return Err(AppError::AccountSuspended);
    }
    let Some(how) = check(&account).await? else {
        let event = NewEvent::by("login", &account).target(Some("second factor")).from_ip(client_ip);
        audit::record(&state.db, event.outcome(Outcome::Failure), now).await?;
        sign_in_limits::record_failure(state, Some(&key), client_ip).await?;
        return Err(refused);
    };
    second_factors::delete_challenge(&state.db, &id).await?;
    sign_in_limits::record_success(state, &key).await?;
    let cookie = open_session(state, &account, client_ip, Some(how)).await?;
    Ok((account, cookie))
}

/// The signed-in account for the session cookies a request carries, with the cookie value that won, if one of
/// their sessions is still alive. Ended sessions are deleted. When a browser sends several (a cookie planted
/// for a longer path comes first), the newest live session wins: the one just issued, not an older plant.
pub async fn resolve_session(state: &Core, cookie_values: &[String]) -> Result<Option<(Account, String)>, AppError> {
    let mut newest: Option<(sessions::Session, Account, &String)> = None;
    for value in cookie_values {
        let Some((session, account)) = live_session(state, value).await? else { continue };
        if newest.as_ref().is_none_or(|(best, _, _)| session.created_at > best.created_at) {
            newest = Some((session, account, value));
        }
    }
    Ok(newest.map(|(_, account, value)| (account, value.clone())))
}

async fn live_session(state: &Core, cookie_value: &str) -> Result<Option<(sessions::Session, Account)>, AppError> {
    let id = sha256_hex(cookie_value);
    let Some(session) = sessions::find(&state.db, &id).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    let settings = &state.sessions;
    if now >= session.expires_at || now - session.last_seen_at >= settings.idle_timeout {
        sessions::delete(&state.db, &id).await?;
        return Ok(None);
    }
    let account = accounts::find_by_id(&state.db, session.account_id).await?;
    let Some(account) = account.filter(|a| !a.suspended) else {
        sessions::delete(&state.db, &id).await?;
        return Ok(None);
    };
    if now - session.last_seen_at >= TOUCH_INTERVAL {
        sessions::touch(&state.db, &id, now).await?;
    }
    Ok(Some((session, account)))
}

/// Refuses with [`AppError::ConfirmationRequired`] when `privileges` holds a dangerous one and the session's last
/// confirmation is older than the settings allow (sudo mode, as GitHub asks before sensitive acts).
pub async fn require_recent_confirmation<'a>(
    state: &Core,
    cookie_value: &str,
    privileges: impl IntoIterator<Item = &'a str>,
) -> Result<(), AppError> {
    let catalog = super::privileges::catalog(state).await?;
    let dangerous = privileges.into_iter().any(|name| catalog.get(name).is_some_and(|p| p.dangerous));
    if !dangerous {
        return Ok(());
    }
    let session = sessions::find(&state.db, &sha256_hex(cookie_value)).await?.ok_or(AppError::Unauthenticated)?;
    let now = state.clock.now();
    match session.confirmed_at {
        Some(at) if now - at < state.sessions.reconfirm_after && now >= at => Ok(()),
        _ => Err(AppError::ConfirmationRequired),
    }
}

/// The person behind a session proves it is them again: with the account's password, or a current code from its
/// authenticator app. A wrong one counts as a failed sign-in (the same throttling), so a session left open
/// cannot be used to guess the password.
pub async fn confirm_identity(
    state: &Core,
    account: &Account,
    cookie_value: &str,
    proof: &str,
    client_ip: Option<&str>,
) -> Result<(), AppError> {
    let by_code = crate::domain::totp::Code::parse(proof).is_ok() && second_factor::has_app(state, account).await?;
    if !by_code && !state.sessions.password_sign_in.allows(&account.username_key) {
        let message = "Passwords are turned off here: enter a code from your authenticator app, use a passkey, or confirm through single sign-on.";
        return Err(AppError::invalid("confirmation", message));
    }
    confirm_with(state, account, cookie_value, client_ip, None, async || {
        let confirmed = if by_code {
            second_factor::check(state, account, proof).await? == Some(second_factor::Method::AuthenticatorApp)
        } else {
            state.passwords.verify(Password::new(proof.to_owned()), Some(account.password_hash.clone())).await
        };
        let message = if by_code { "That code is not right." } else { "The password is not right." };
        Ok(confirmed.then_some(()).ok_or_else(|| AppError::invalid("confirmation", message)))
    })
    .await
}

/// [`confirm_identity`] with one of the account's passkeys: `handle` names the challenge
/// [`passkeys::start_sign_in`] gave, `credential` is the browser's answer.
pub async fn confirm_identity_with_passkey(
    state: &Core,
    account: &Account,
    cookie_value: &str,
    relying_party: &passkeys::RelyingParty,
    handle: &str,
    credential: &str,
    client_ip: Option<&str>,
) -> Result<(), AppError> {
    confirm_with(state, account, cookie_value, client_ip, Some("passkey"), async || {
        let passed = passkeys::check_sign_in(state, account, relying_party, handle, credential).await?;
        Ok(passed.then_some(()).ok_or(AppError::PasskeyRefused))
    })
    .await
}

/// A re-confirmation, whatever the proof: `check` answers `Ok(Err(refusal))` when the proof is wrong, which
/// counts as a failed sign-in; audited either way (`how`: the proof, when not the password or a code).
async fn confirm_with(
    state: &Core,
    account: &Account,
    cookie_value: &str,
    client_ip: Option<&str>,
    how: Option<&str>,
    check: impl AsyncFnOnce() -> Result<Result<(), AppError>, AppError>,
) -> Result<(), AppError> {
    let key = account.username_key.clone();
    if let Some(ip) = client_ip {
        sign_in_limits::check_address(state, ip).await?;
    }
    sign_in_limits::check_account(state, &key, client_ip).await?;
    let outcome = check().await?;
    let now = state.clock.now();
    let event = NewEvent::by("session.confirm", account).target(how).from_ip(client_ip);
    if let Err(refusal) = outcome {
        audit::record(&state.db, event.outcome(Outcome::Failure), now).await?;
        sign_in_limits::record_failure(state, Some(&key), client_ip).await?;
        return Err(refusal);
    }
    sessions::confirm(&state.db, &sha256_hex(cookie_value), now).await?;
    audit::record(&state.db, event.outcome(Outcome::Success), now).await?;
    Ok(())
}

/// Ends the session behind a cookie value (if any).
pub async fn logout(state: &Core, cookie_value: &str, client_ip: Option<&str>) -> Result<(), AppError> {
    let account = live_session(state, cookie_value).await?.map(|(_, account)| account);
    sessions::delete(&state.db, &sha256_hex(cookie_value)).await?;
    if let Some(account) = account {
        let event = NewEvent::by("logout", &account).from_ip(client_ip);
        audit::record(&state.db, event, state.clock.now()).await?;
    }
    Ok(())
}
