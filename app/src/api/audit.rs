//! The Audit log screen's server function and the types it exchanges with the web app.

use crate::error::AppError;

use leptos::prelude::*;

pub use crate::model::audit::{AuditEntry, AuditPage, AuditQuery};

#[server(prefix = "/rpc", endpoint = "audit_log")]
pub async fn load_audit(query: AuditQuery) -> Result<AuditPage, AppError> {
    let (state, caller) = super::context::token_caller().await?;
    let admin = crate::services::accounts::Admin::from_caller(&caller);
    crate::services::audit::page(&state, &admin, &query).await
}
