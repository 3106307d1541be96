//! What every request handler and server function shares: the database, the password hasher, the clock,
//! the session settings, the last-used recorder, the trusted proxies, the fast token reader and the metrics.

use crate::{
    api::client_ip::TrustedProxies,
    services::{
        auth::SessionSettings, clock::Clock, last_used::LastUsedRecorder, metrics::Metrics, password::Passwords,
    },
    store::token_reader::TokenReader,
};
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub passwords: Passwords,
    pub clock: Arc<dyn Clock>,
    pub sessions: Arc<SessionSettings>,
    /// Tokens expire at 23:59:59 of their expiry date in this zone.
    pub time_zone: chrono_tz::Tz,
    pub leptos_options: LeptosOptions,
    /// Writes tokens' "last used" time and IP off the request path.
    pub last_used: LastUsedRecorder,
    /// Reverse proxies whose forwarding header is believed, and which header that is.
    pub trusted_proxies: Arc<TrustedProxies>,
    /// Token look-ups for verification on a SQLite file (`TokenReader::open`); `None`: through `db` (PostgreSQL).
    pub token_reader: Option<Arc<TokenReader>>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
