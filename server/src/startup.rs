//! One start-up path: [`Application::build`] opens the services' core, binds the listener and assembles the web
//! state; `tessera serve` and the test harness both start Tessera through it (the command line opens a bare
//! [`Core`]). Nothing is patched into the state afterwards.

use crate::{
    connections::{self, ConnectionLimits},
    router,
    serve::redact,
};
use anyhow::Context;
use app::{
    api::client_ip::TrustedProxies,
    services::oidc::{SingleSignOn, SsoSettings},
    services::{Core, CoreConfig},
    state::{WebParts, WebSettings, WebState},
};
use leptos::config::{LeptosOptions, get_config_from_str};
use std::{future::Future, net::SocketAddr, sync::Arc};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Leptos.toml, embedded: the run-time site options (output name, pkg dir).
const LEPTOS_TOML: &str = include_str!("../../Leptos.toml");

/// The site options from the embedded Leptos.toml, listening on `addr`.
pub fn site_options(addr: SocketAddr) -> anyhow::Result<LeptosOptions> {
    let mut options = get_config_from_str(LEPTOS_TOML).context("reading the embedded Leptos.toml")?;
    options.site_addr = addr;
    Ok(options)
}

/// Everything Tessera's server is started with.
pub struct Config {
    pub core: CoreConfig,
    /// Where to listen (port 0: any free port).
    pub addr: SocketAddr,
    pub web: WebSettings,
    pub trusted_proxies: TrustedProxies,
    pub limits: ConnectionLimits,
    /// Serve HTTPS with this.
    pub tls: Option<TlsAcceptor>,
    /// Single sign-on through this OpenID Connect provider.
    pub sso: Option<SsoSettings>,
}

/// A built server: its state, listening, not yet serving.
pub struct Application {
    state: WebState,
    listener: TcpListener,
    limits: ConnectionLimits,
    tls: Option<TlsAcceptor>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let database = redact(&config.core.database_url);
        let core = Core::open(config.core).await.with_context(|| format!("opening the database {database}"))?;
        let listener = TcpListener::bind(config.addr).await.with_context(|| format!("listening on {}", config.addr))?;
        let local = listener.local_addr()?;
        let state = WebState::new(WebParts {
            core,
            leptos_options: site_options(local)?,
            trusted_proxies: Arc::new(config.trusted_proxies),
            web: Arc::new(config.web),
            sso: config.sso.map(SingleSignOn::new).transpose().map_err(anyhow::Error::msg)?.map(Arc::new),
        });
        Ok(Self { state, listener, limits: config.limits, tls: config.tls })
    }

    pub fn state(&self) -> &WebState {
        &self.state
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.state.leptos_options.site_addr
    }

    /// `https` when serving TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// Serves until `shutdown` completes.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        connections::serve(self.listener, router::app(self.state), self.limits, self.tls, shutdown).await
    }
}
