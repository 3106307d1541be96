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
use tokio::net::{TcpListener, TcpSocket};
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

/// Connections the kernel completes and holds for the server before it accepts them (Linux caps it at
/// `net.core.somaxconn`, 4,096 on current kernels). tokio's `TcpListener::bind` asks for 128, as the standard library
/// does: when more than that connect while the server is busy for a moment (a usage write on a one-core server, a
/// burst of new clients, the connection cap reached), the kernel drops the rest of the SYNs and each of those clients
/// waits a full second for its retry (seen with the bench's open-loop client at 10,000 req/s and 100,000 tokens in
/// use: the minute's usage write held the one core for a moment, 300 connections were opened, 92 calls answered
/// after 1.0 s).
const LISTEN_BACKLOG: u32 = 1_024;

/// A listener on `addr` with [`LISTEN_BACKLOG`] (and `SO_REUSEADDR`, as `TcpListener::bind` sets it).
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
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
        let listener = listen(config.addr).with_context(|| format!("listening on {}", config.addr))?;
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
