//! Headers that make the browser part of the defence (issue 11 item 5): a Content-Security-Policy on every
//! HTML page, with a fresh nonce per response for the inline scripts Leptos writes (hydration, streamed
//! resources), so nothing else can run; `Cache-Control: no-store` on every answer that may carry a secret or a
//! person's data (server functions, the token APIs, HTML pages); and HSTS when configured.

use crate::same_origin::token_api;
use app::{services::random::base62, state::WebState};
use axum::{
    body::Body,
    extract::State,
    http::{HeaderValue, Request, header},
    middleware::Next,
    response::Response,
};

/// The nonce of one response's Content-Security-Policy, handed to the Leptos render through the request.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// The policy for a page whose inline scripts carry `nonce`. WebAssembly needs `wasm-unsafe-eval` (compiling a
/// module); nothing else is relaxed: no inline styles, no other origins, no framing.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// Gives Leptos this request's nonce (call inside the render's context), so its inline scripts carry it.
pub fn provide_nonce() {
    use leptos::prelude::{provide_context, use_context};
    if let Some(nonce) =
        use_context::<axum::http::request::Parts>().and_then(|p| p.extensions.get::<CspNonce>().cloned())
    {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
}

pub async fn security_headers(State(state): State<WebState>, mut request: Request<Body>, next: Next) -> Response {
    let path = request.uri().path();
    let token_api = token_api(path);
    let personal = token_api || path.starts_with("/rpc/");
    // The token APIs (forward-auth and introspection among them, Tessera's hot path) never answer with a page:
    // no nonce to draw for them.
    let nonce = (!token_api).then(|| base62(22));
    if let Some(nonce) = &nonce {
        request.extensions_mut().insert(CspNonce(nonce.clone()));
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("text/html"));
    if html
        && let Some(nonce) = &nonce
        && let Ok(policy) = HeaderValue::from_str(&content_security_policy(nonce))
    {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    if html || personal {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(max_age) = state.web.hsts_max_age
        && let Ok(value) = HeaderValue::from_str(&format!("max-age={max_age}"))
    {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, value);
    }
    response
}
