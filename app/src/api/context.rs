//! What a server function knows about its request: the shared state, the session cookie, the client address,
//! and how to answer with the right HTTP status.

use crate::{error::AppError, services::auth, state::WebState, store::accounts::Account};
use axum::{
    extract::ConnectInfo,
    http::{HeaderValue, header, request::Parts},
};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;
use std::net::SocketAddr;

pub fn state() -> Result<WebState, AppError> {
    use_context::<WebState>().ok_or_else(|| {
        tracing::error!("WebState is missing from the server function context");
        AppError::Internal
    })
}

/// The WebAuthn relying party of this request: the public URL's host and origin, else the host the browser asked
/// for (over HTTPS when the cookies are Secure).
pub fn relying_party(state: &WebState) -> Result<crate::services::passkeys::RelyingParty, AppError> {
    let origin = match &state.web.public_origin {
        Some(origin) => origin.clone(),
        None => {
            let parts = use_context::<Parts>().ok_or(AppError::Internal)?;
            let host = parts.headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or_default();
            let scheme = if state.web.secure_cookie { "https" } else { "http" };
            format!("{scheme}://{host}")
        }
    };
    let authority = origin.split_once("://").map_or("", |(_, rest)| rest);
    // The host without its port (an IPv6 literal keeps its brackets, and is refused as a relying party anyway).
    let id = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !host.ends_with(':') => host,
        _ => authority,
    };
    Ok(crate::services::passkeys::RelyingParty { id: id.to_ascii_lowercase(), origin })
}

/// Every value of the session cookie on this request (usually one; a planted cookie makes two).
pub fn session_cookies(state: &WebState) -> Vec<String> {
    cookies(state.web.cookie_name())
}

/// Every value of the cookie `name` on this request.
pub fn cookies(name: &str) -> Vec<String> {
    use_context::<Parts>()
        .map_or_else(Vec::new, |parts| super::session_cookie::request_cookie_values(&parts.headers, name))
}

/// The value of the cookie carrying a sign-in that waits for its second factor, or `SignInExpired`. The newest
/// wins if a browser sends several (as for sessions, a planted one comes first).
pub fn waiting_sign_in(state: &WebState) -> Result<String, AppError> {
    cookies(state.web.challenge_cookie_name()).pop().ok_or(AppError::SignInExpired)
}

/// The client's address: the socket peer, or the client a trusted proxy names (as the HTTP API sees it). A
/// trusted proxy's unreadable header counts as the proxy's own address.
pub fn client_ip() -> Option<String> {
    let parts = use_context::<Parts>()?;
    let ConnectInfo(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>()?;
    let proxies = use_context::<WebState>().map(|state| state.trusted_proxies.clone()).unwrap_or_default();
    Some(super::client_ip::web_client(peer.ip(), &parts.headers, &proxies))
}

/// The signed-in account, or `Unauthenticated`; `SecondFactorRequired` while the policy makes it set up a
/// second factor first.
pub async fn signed_in(state: &WebState) -> Result<Account, AppError> {
    Ok(signed_in_session(state).await?.0)
}

/// The signed-in account and the value of the session cookie it signed in with, or `Unauthenticated`;
/// `SecondFactorRequired` while the policy makes it set up a second factor first.
pub async fn signed_in_session(state: &WebState) -> Result<(Account, String), AppError> {
    let (account, cookie) = signed_in_enrolling(state).await?;
    if crate::services::second_factor::must_enrol(state, &account).await? {
        return Err(AppError::SecondFactorRequired);
    }
    Ok((account, cookie))
}

/// The signed-in account even while it must set up a second factor: for that set-up and for saying who is
/// signed in, nothing else.
pub async fn signed_in_enrolling(state: &WebState) -> Result<(Account, String), AppError> {
    let cookies = session_cookies(state);
    auth::resolve_session(state, &cookies).await?.ok_or(AppError::Unauthenticated)
}

/// Adds a `Set-Cookie` header to the response.
pub fn set_cookie(value: &str) {
    if let (Some(response), Ok(value)) = (use_context::<ResponseOptions>(), HeaderValue::from_str(value)) {
        response.append_header(header::SET_COOKIE, value);
    }
}

/// The state and the signed-in account acting through the web app.
pub async fn acting() -> Result<(WebState, crate::services::Actor), AppError> {
    // Everything from the request context is read before the first await.
    let state = state()?;
    let ip = client_ip();
    let account = signed_in(&state).await?;
    Ok((state, crate::services::Actor::session(account, ip)))
}

/// [`acting`], with the value of the session cookie (for acts that check how recent its confirmation is).
pub async fn acting_in_session() -> Result<(WebState, crate::services::Actor, String), AppError> {
    let state = state()?;
    let ip = client_ip();
    let (account, cookie) = signed_in_session(&state).await?;
    Ok((state, crate::services::Actor::session(account, ip), cookie))
}

/// [`acting`], also while the policy makes the account set up a second factor first (that set-up only).
pub async fn acting_enrolling() -> Result<(WebState, crate::services::Actor), AppError> {
    let state = state()?;
    let ip = client_ip();
    let (account, _) = signed_in_enrolling(&state).await?;
    Ok((state, crate::services::Actor::session(account, ip)))
}

/// Runs the work of a server function that a page loads through a resource, turning a panic inside it into a
/// logged [`AppError::Internal`]. In the browser's calls a panic is caught by the HTTP layer, but during the
/// server-side render the resource's task would just die, leaving the page waiting for data that never comes until
/// the request timeout; with this guard the page renders its error state at once.
pub async fn guarded<T>(
    server_function: &'static str,
    work: impl Future<Output = Result<T, AppError>>,
) -> Result<T, AppError> {
    use std::{
        panic::{AssertUnwindSafe, catch_unwind},
        task::Poll,
    };
    let mut work = std::pin::pin!(work);
    std::future::poll_fn(|cx| match catch_unwind(AssertUnwindSafe(|| work.as_mut().poll(cx))) {
        Ok(poll) => poll,
        Err(_) => {
            tracing::error!(server_function, "a panic while loading page data; answered as an internal error");
            Poll::Ready(Err(AppError::Internal))
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_while_loading_is_an_internal_error_not_a_task_that_never_ends() {
        let answer: Result<u8, AppError> = guarded("test", async {
            tokio::task::yield_now().await;
            panic!("a bug in page data loading");
        })
        .await;
        assert_eq!(answer, Err(AppError::Internal));
        assert_eq!(guarded("test", async { Ok(7) }).await, Ok(7));
    }
}
