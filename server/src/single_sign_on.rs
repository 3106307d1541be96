//! The browser's side of single sign-on (`services::oidc`): `/auth/oidc/start` sends the browser to the identity
//! provider with a `state` cookie; `/auth/oidc/callback` is where the provider sends it back. Every outcome is a
//! page of our own that moves on to the next (the tokens page, the second-factor step, or the sign-in page with
//! a plain message), never a redirect: the session cookie is `SameSite=Strict`, and a browser does not send it
//! with a redirect chain that began at another site, so the next page must be asked for by a page of ours.

use app::{
    api::{
        client_ip::web_client,
        session_cookie::{
            clear_sso_header, request_cookie_values, set_challenge_header, set_cookie_header, set_sso_header,
        },
    },
    services::{
        auth::{self, SignIn},
        oidc::{Callback, Finished, SingleSignOn, SsoError},
    },
    state::WebState,
};
use axum::{
    Router,
    extract::{ConnectInfo, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use std::net::SocketAddr;

/// Where the provider sends the browser back (register this, on the public URL, at the provider).
pub const CALLBACK_PATH: &str = "/auth/oidc/callback";

pub fn routes() -> Router<WebState> {
    Router::new().route("/auth/oidc/start", get(start)).route(CALLBACK_PATH, get(callback))
}

#[derive(Debug, Default, serde::Deserialize)]
struct StartQuery {
    /// Re-confirm the signed-in person (sudo mode) instead of signing in.
    #[serde(default)]
    confirm: bool,
    /// The local page to go back to after a re-confirmation.
    return_to: Option<String>,
}

async fn start(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<StartQuery>,
    headers: HeaderMap,
) -> Response {
    let (sso, redirect_url, ip) = match setting_out(&state, peer, &headers) {
        Ok(found) => found,
        Err(refused) => return refused.into_response(),
    };
    let confirm = if query.confirm {
        // The session to re-confirm: the one this browser is signed in with (a same-site request: it is sent).
        let values = request_cookie_values(&headers, state.web.cookie_name());
        match auth::resolve_session(&state, &values).await {
            Ok(Some((_, cookie))) => Some((cookie, local_path(query.return_to.as_deref()))),
            Ok(None) => return moving_on("/login", Vec::new()),
            Err(err) => return failed(SsoError::from(err)),
        }
    } else {
        None
    };
    let confirm = confirm.as_ref().map(|(cookie, return_to)| (cookie.as_str(), return_to.clone()));
    match sso.begin(&state, &redirect_url, &ip, confirm).await {
        Ok(authorization) => {
            let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, authorization.url)]).into_response();
            append_cookie(&mut response, &set_sso_header(&authorization.state, &state.web));
            response
        }
        Err(err) => failed(err),
    }
}

async fn callback(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<Callback>,
    headers: HeaderMap,
) -> Response {
    let (sso, redirect_url, ip) = match setting_out(&state, peer, &headers) {
        Ok(found) => found,
        Err(refused) => return refused.into_response(),
    };
    // The newest wins if a browser sends several (a planted one comes first).
    let cookie_state = request_cookie_values(&headers, state.web.sso_cookie_name()).pop();
    let web = &state.web;
    let finished = sso.finish(&state, &redirect_url, cookie_state.as_deref(), query, Some(&ip)).await;
    let mut cookies = vec![clear_sso_header(web)];
    match finished {
        Ok(Finished::SignIn(SignIn::Session(_, session))) => {
            cookies.push(set_cookie_header(&session, web));
            moving_on("/tokens", cookies)
        }
        Ok(Finished::SignIn(SignIn::SecondFactor(challenge))) => {
            cookies.push(set_challenge_header(&challenge, web));
            moving_on("/login/code", cookies)
        }
        Ok(Finished::Confirmed { return_to }) => moving_on(&local_path(Some(&return_to)), cookies),
        Err(err) => {
            let mut response = failed(err);
            append_cookie(&mut response, &cookies[0]);
            response
        }
    }
}

/// The sign-in page with the failure's plain message.
fn failed(err: SsoError) -> Response {
    moving_on(&format!("/login?sso={}", err.code()), Vec::new())
}

/// A page of ours that sets `cookies` and asks for `path` at once (a same-site navigation, so the browser sends
/// the `Strict` session cookie with it), with a link for a browser that does not follow the refresh.
fn moving_on(path: &str, cookies: Vec<String>) -> Response {
    let path = html_escape(path);
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url={path}\">\
         <title>Tessera</title></head><body><p><a href=\"{path}\">Continue</a></p></body></html>"
    );
    let mut response =
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], body)
            .into_response();
    for cookie in &cookies {
        append_cookie(&mut response, cookie);
    }
    response
}

fn append_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// What both ends of a single sign-on need: the provider (404 when single sign-on is off), the callback's URL
/// (400 without a usable host) and the client's address.
fn setting_out<'a>(
    state: &'a WebState,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<(&'a SingleSignOn, String, String), (StatusCode, &'static str)> {
    let Some(sso) = state.sso.as_deref() else {
        return Err((StatusCode::NOT_FOUND, "Single sign-on is not set up on this server."));
    };
    let Some(redirect_url) = redirect_url(state, headers) else {
        return Err((StatusCode::BAD_REQUEST, "The request names no valid host."));
    };
    Ok((sso, redirect_url, web_client(peer.ip(), headers, &state.trusted_proxies)))
}

/// The callback's absolute URL: on the public URL when one is set, else on the host the browser asked for (the
/// provider accepts only the URLs registered with it, so a forged `Host` leads nowhere).
fn redirect_url(state: &WebState, headers: &HeaderMap) -> Option<String> {
    if let Some(origin) = &state.web.public_origin {
        return Some(format!("{origin}{CALLBACK_PATH}"));
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let valid = !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    let scheme = if state.web.secure_cookie { "https" } else { "http" };
    valid.then(|| format!("{scheme}://{host}{CALLBACK_PATH}"))
}

/// `raw` if it is a path on this site (`/…`, not `//…` nor `/\…`, which browsers read as another host), else the
/// tokens page.
fn local_path(raw: Option<&str>) -> String {
    match raw {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && path.len() <= 512
                && path.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            path.to_owned()
        }
        _ => "/tokens".to_owned(),
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_gone_back_to() {
        assert_eq!(local_path(Some("/tokens/new")), "/tokens/new");
        assert_eq!(local_path(Some("/tokens/abc?tab=usage")), "/tokens/abc?tab=usage");
        for outside in ["https://evil.example", "//evil.example", "/\\evil.example", "tokens", "/a b", ""] {
            assert_eq!(local_path(Some(outside)), "/tokens", "{outside}");
        }
        assert_eq!(local_path(None), "/tokens");
    }

    #[test]
    fn the_page_moving_on_escapes_its_path() {
        let response = moving_on("/login?sso=expired&x=\"", vec!["a=b; Path=/".into()]);
        assert_eq!(response.headers().get_all(header::SET_COOKIE).iter().count(), 1);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    }
}
