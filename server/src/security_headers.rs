//! Headers that make the browser part of the defence (issue 11 item 5): a Content-Security-Policy on every
//! HTML page, with a fresh nonce per response for the inline scripts Leptos writes (hydration, streamed
//! resources), so nothing else can run; `Cache-Control: no-store` on every answer that may carry a secret or a
//! person's data (server functions, the token APIs, HTML pages); and HSTS when configured.

use axum::http::{HeaderMap, HeaderValue, header};

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

/// Sets the headers of one response: the CSP with this request's `nonce` on an HTML page, `no-store` on pages and
/// on `personal` answers, HSTS when configured (`hsts`, the header's value, made once at start).
pub fn apply(headers: &mut HeaderMap, nonce: Option<&str>, personal: bool, hsts: Option<&HeaderValue>) {
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("text/html"));
    if html
        && let Some(nonce) = nonce
        && let Ok(policy) = HeaderValue::from_str(&content_security_policy(nonce))
    {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    if html || personal {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(hsts) = hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
    }
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
}
