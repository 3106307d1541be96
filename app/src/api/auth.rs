//! Signing in and out, and who is signed in.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the web app may know about the signed-in account. Never holds the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub username: String,
    pub privileges: Vec<String>,
}

#[cfg(feature = "ssr")]
impl From<&crate::store::accounts::Account> for AccountView {
    fn from(account: &crate::store::accounts::Account) -> Self {
        let privileges = crate::domain::PrivilegeSet::from_storage(&account.privileges);
        Self { username: account.username.clone(), privileges: privileges.iter().map(str::to_owned).collect() }
    }
}

/// Checks the credentials, opens a session (cookie) and sends the browser to the tokens page.
#[server(prefix = "/rpc", endpoint = "login")]
pub async fn login(username: String, password: String) -> Result<(), AppError> {
    use super::context::{client_ip, set_cookie, state};
    use crate::services::{auth, password::Password};

    let state = state()?;
    let ip = client_ip();
    let response = leptos::prelude::use_context::<leptos_axum::ResponseOptions>();
    let (_, cookie) = match auth::login(&state, &username, Password::new(password), ip.as_deref()).await {
        Ok(signed_in) => signed_in,
        Err(err) => {
            if let (AppError::TooManyAttempts { retry_after_seconds }, Some(response)) = (&err, response) {
                response.insert_header(axum::http::header::RETRY_AFTER, (*retry_after_seconds).into());
            }
            return Err(err);
        }
    };
    set_cookie(&super::session_cookie::set_cookie_header(&cookie, &state.web));
    leptos_axum::redirect("/tokens");
    Ok(())
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
        use super::context::{signed_in, state};

        let state = state()?;
        match signed_in(&state).await {
            Ok(account) => Ok(Some(AccountView::from(&account))),
            Err(AppError::Unauthenticated) => Ok(None),
            Err(err) => Err(err),
        }
    })
    .await
}
