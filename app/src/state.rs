//! What every request handler and server function shares: the database, the password hasher, the clock and
//! the session settings.

use crate::services::{auth::SessionSettings, clock::Clock, password::Passwords};
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
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
