//! Signing in and out, and who is signed in.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the web app may know about the signed-in account. Never holds the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub username: String,
    pub privileges: Vec<String>,
    /// The second-factor policy covers the account and it has none yet: the app shows only that set-up.
    #[serde(default)]
    pub must_enrol: bool,
}

#[cfg(feature = "ssr")]
impl From<&crate::store::accounts::Account> for AccountView {
    fn from(account: &crate::store::accounts::Account) -> Self {
        let privileges = crate::domain::PrivilegeSet::from_storage(&account.privileges);
        Self {
            username: account.username.clone(),
            privileges: privileges.iter().map(str::to_owned).collect(),
            must_enrol: false,
        }
    }
}

/// Checks the credentials. Without a second factor: opens a session (cookie) and sends the browser to the tokens
/// page; with one: remembers the sign-in for a few minutes (cookie) and sends the browser to ask for the code.
#[server(prefix = "/rpc", endpoint = "login")]
pub async fn login(username: String, password: String) -> Result<(), AppError> {
    use super::context::{client_ip, set_cookie, state};
    use crate::services::{
        auth::{self, SignIn},
        password::Password,
    };

    let state = state()?;
    let ip = client_ip();
    match auth::login(&state, &username, Password::new(password), ip.as_deref()).await {
        Ok(SignIn::Session(_, cookie)) => {
            set_cookie(&super::session_cookie::set_cookie_header(&cookie, &state.web));
            leptos_axum::redirect("/tokens");
            Ok(())
        }
        Ok(SignIn::SecondFactor(challenge)) => {
            set_cookie(&super::session_cookie::set_challenge_header(&challenge, &state.web));
            leptos_axum::redirect("/login/code");
            Ok(())
        }
        Err(err) => Err(with_retry_after(err)),
    }
}

/// Completes a sign-in with its second factor (a code from the authenticator app or a recovery code): opens the
/// session and sends the browser to the tokens page.
#[server(prefix = "/rpc", endpoint = "second_factor")]
pub async fn second_factor(code: String) -> Result<(), AppError> {
    use super::context::{client_ip, state, waiting_sign_in};

    let state = state()?;
    let challenge = waiting_sign_in(&state)?;
    let signed_in = crate::services::auth::complete_sign_in(&state, &challenge, &code, client_ip().as_deref()).await;
    second_step_ended(&state, signed_in)?;
    leptos_axum::redirect("/tokens");
    Ok(())
}

/// The second step of a sign-in has ended: the session cookie replaces the waiting one, or the error is the
/// answer (and a sign-in that cannot go on loses its cookie).
#[cfg(feature = "ssr")]
fn second_step_ended(
    state: &crate::state::WebState,
    ended: Result<(crate::store::accounts::Account, crate::services::auth::SessionCookie), AppError>,
) -> Result<(), AppError> {
    use super::{context::set_cookie, session_cookie};
    let web = &state.web;
    match ended {
        Ok((_, cookie)) => {
            set_cookie(&session_cookie::clear_challenge_header(web));
            set_cookie(&session_cookie::set_cookie_header(&cookie, web));
            Ok(())
        }
        Err(err) => {
            if matches!(err, AppError::SignInExpired | AppError::AccountSuspended | AppError::AccountLocked { .. }) {
                set_cookie(&session_cookie::clear_challenge_header(web));
            }
            Err(with_retry_after(err))
        }
    }
}

/// Adds `Retry-After` to a throttled sign-in's answer.
#[cfg(feature = "ssr")]
fn with_retry_after(err: AppError) -> AppError {
    let response = leptos::prelude::use_context::<leptos_axum::ResponseOptions>();
    if let (AppError::TooManyAttempts { retry_after_seconds }, Some(response)) = (&err, response) {
        response.insert_header(axum::http::header::RETRY_AFTER, (*retry_after_seconds).into());
    }
    err
}

/// What the second step of a sign-in can take: a code from an authenticator app, a passkey, or both (a recovery
/// code always).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInStep {
    pub authenticator_app: bool,
    pub passkeys: bool,
}

/// What the waiting sign-in's account can give as its second factor.
#[server(prefix = "/rpc", endpoint = "load_sign_in_step")]
pub async fn load_sign_in_step() -> Result<SignInStep, AppError> {
    use super::context::{state, waiting_sign_in};
    use crate::services::{auth, passkeys, second_factor};

    let state = state()?;
    let account = auth::waiting_account(&state, &waiting_sign_in(&state)?).await?;
    Ok(SignInStep {
        authenticator_app: second_factor::has_app(&state, &account).await?,
        passkeys: passkeys::any(&state, account.id).await?,
    })
}

/// A challenge for one of the waiting sign-in's passkeys.
#[server(prefix = "/rpc", endpoint = "start_passkey_sign_in")]
pub async fn start_passkey_sign_in() -> Result<super::PasskeyChallenge, AppError> {
    use super::context::{relying_party, state, waiting_sign_in};

    let state = state()?;
    let challenge = waiting_sign_in(&state)?;
    let started = crate::services::auth::passkey_challenge(&state, &challenge, &relying_party(&state)?).await?;
    Ok(super::PasskeyChallenge { handle: started.handle, options: started.options })
}

/// Completes a sign-in with a passkey (the browser's answer to [`start_passkey_sign_in`]'s challenge): opens the
/// session (the page goes on to the tokens itself: passkeys work only with the app loaded).
#[server(prefix = "/rpc", endpoint = "passkey_sign_in")]
pub async fn passkey_sign_in(handle: String, credential: String) -> Result<(), AppError> {
    use super::context::{client_ip, relying_party, state, waiting_sign_in};
    use crate::services::auth;

    let state = state()?;
    let challenge = waiting_sign_in(&state)?;
    let relying_party = relying_party(&state)?;
    let ip = client_ip();
    let signed_in =
        auth::complete_sign_in_with_passkey(&state, &challenge, &relying_party, &handle, &credential, ip.as_deref())
            .await;
    second_step_ended(&state, signed_in)
}

/// How people sign in here: what the sign-in page offers besides the password form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInOptions {
    /// The identity provider's name for the "Sign in with …" button; `None`: no single sign-on.
    pub single_sign_on: Option<String>,
    /// Password sign-in is off except for the break-glass account.
    pub password_for_emergency_only: bool,
    /// The plain message for the failed single sign-on the page was sent back with (`?sso=CODE`), if any.
    pub sso_error: Option<String>,
}

/// What the sign-in page offers, and the message for `sso_error` (a code the single sign-on's return left in the
/// page's address; unknown codes are ignored).
#[server(prefix = "/rpc", endpoint = "load_sign_in_options")]
pub async fn load_sign_in_options(sso_error: Option<String>) -> Result<SignInOptions, AppError> {
    use crate::services::{auth::PasswordSignIn, oidc::SsoError};

    let state = super::context::state()?;
    Ok(SignInOptions {
        single_sign_on: state.sso.as_ref().map(|sso| sso.settings().display_name.clone()),
        password_for_emergency_only: state.sessions.password_sign_in != PasswordSignIn::Everyone,
        sso_error: sso_error.as_deref().and_then(SsoError::from_code).map(|err| err.message().to_owned()),
    })
}

/// Ends the session and sends the browser to the login page.
#[server(prefix = "/rpc", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use super::context::{client_ip, session_cookies, set_cookie, state};
    use crate::services::auth;

    let state = state()?;
    let ip = client_ip();
    for cookie in session_cookies(&state) {
        auth::logout(&state, &cookie, ip.as_deref()).await?;
    }
    set_cookie(&super::session_cookie::clear_cookie_header(&state.web));
    leptos_axum::redirect("/login");
    Ok(())
}

/// The signed-in account, or `None` when nobody is signed in (or the session has ended).
#[server(prefix = "/rpc", endpoint = "current_account")]
pub async fn current_account() -> Result<Option<AccountView>, AppError> {
    super::context::guarded("current_account", async move {
        use super::context::{signed_in_enrolling, state};

        let state = state()?;
        match signed_in_enrolling(&state).await {
            Ok((account, _)) => {
                let must_enrol = crate::services::second_factor::must_enrol(&state, &account).await?;
                Ok(Some(AccountView { must_enrol, ..AccountView::from(&account) }))
            }
            Err(AppError::Unauthenticated) => Ok(None),
            Err(err) => Err(err),
        }
    })
    .await
}
