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
    pub leptos_options: LeptosOptions,
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
