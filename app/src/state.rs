//! `WebState`: what the server's handlers and the web app's server functions share: the services' [`Core`],
//! plus what only the web needs (the Leptos site options, the trusted proxies, the cookie and origin settings).
//! It dereferences to `Core`, so a handler passes `&state` straight to a service, which sees only the core.
//! Cloning it (axum does, for every request and every layer that takes the state) is one reference count.

use crate::{api::client_ip::TrustedProxies, services::Core};
use leptos::config::LeptosOptions;
use std::{ops::Deref, sync::Arc};

#[derive(Clone)]
pub struct WebState(Arc<WebParts>);

impl WebState {
    pub fn new(parts: WebParts) -> Self {
        Self(Arc::new(parts))
    }
}

pub struct WebParts {
    pub core: Core,
    pub leptos_options: LeptosOptions,
    /// Reverse proxies whose forwarding header is believed, and which header that is.
    pub trusted_proxies: Arc<TrustedProxies>,
    pub web: Arc<WebSettings>,
    /// Single sign-on through an OpenID Connect provider, when set up (`--oidc-issuer`).
    pub sso: Option<Arc<crate::services::oidc::SingleSignOn>>,
}

/// How the web app is reached: over HTTPS or not, from which origin.
#[derive(Debug, Clone, Default)]
pub struct WebSettings {
    /// Mark the session cookie `Secure` and `__Host-` (served over TLS, directly or behind a proxy).
    pub secure_cookie: bool,
    /// The origin the web app is served from (`--public-url`, e.g. `https://tessera.example.com`): state changes
    /// from any other origin are refused. `None`: the request's own `Host`.
    pub public_origin: Option<String>,
    /// `Strict-Transport-Security: max-age=…` on every answer (HTTPS only).
    pub hsts_max_age: Option<u64>,
    /// The PEM text of the public keys leak reports must be signed with (`--leak-report-key`); `None`: unsigned
    /// reports are accepted (a report can only revoke).
    pub leak_report_keys: Option<String>,
}

impl Deref for WebState {
    type Target = WebParts;

    fn deref(&self) -> &WebParts {
        &self.0
    }
}

impl Deref for WebParts {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}

impl axum::extract::FromRef<WebState> for LeptosOptions {
    fn from_ref(state: &WebState) -> Self {
        state.leptos_options.clone()
    }
}
