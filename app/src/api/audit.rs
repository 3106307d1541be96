//! The Audit log screen's server function and the types it exchanges with the web app.

use crate::error::AppError;

use leptos::prelude::*;

pub use crate::model::audit::{AuditEntry, AuditPage, AuditQuery};

#[server(prefix = "/rpc", endpoint = "audit_log")]
pub async fn load_audit(query: AuditQuery) -> Result<AuditPage, AppError> {
    super::context::guarded("load_audit", async move {
        let (state, viewer) = super::context::acting().await?;
        crate::services::audit::page(&state, &viewer, &query).await
    })
    .await
}

/// The busiest tokens of every account over the last 30 days (administrators).
#[server(prefix = "/rpc", endpoint = "busiest_tokens")]
pub async fn load_busiest_tokens() -> Result<Vec<crate::model::usage::BusyToken>, AppError> {
    super::context::guarded("load_busiest_tokens", async move {
        let (state, actor) = super::context::acting().await?;
        crate::services::usage::busiest(&state, &actor, 20).await
    })
    .await
}
