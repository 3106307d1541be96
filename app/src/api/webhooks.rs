//! The Webhooks screen's server functions (administrators: the `all` privilege).

use crate::error::AppError;
use leptos::prelude::*;

pub use crate::model::webhooks::{AddedWebhook, DeliveryView, WebhookView, WebhooksScreen};

#[server(prefix = "/rpc", endpoint = "webhooks_screen")]
pub async fn load_webhooks() -> Result<WebhooksScreen, AppError> {
    super::context::guarded("load_webhooks", async move {
        let (state, actor) = super::context::acting().await?;
        crate::services::webhooks::screen(&state, &actor).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "add_webhook")]
pub async fn add_webhook(url: String, events: Vec<String>) -> Result<AddedWebhook, AppError> {
    let (state, actor) = super::context::acting().await?;
    crate::services::webhooks::add(&state, &actor, &url, &events).await
}

#[server(prefix = "/rpc", endpoint = "remove_webhook")]
pub async fn remove_webhook(id: i64) -> Result<(), AppError> {
    let (state, actor) = super::context::acting().await?;
    crate::services::webhooks::remove(&state, &actor, id).await
}

#[server(prefix = "/rpc", endpoint = "send_test_webhook")]
pub async fn send_test_webhook(id: i64) -> Result<(), AppError> {
    let (state, actor) = super::context::acting().await?;
    crate::services::webhooks::send_test(&state, &actor, id).await
}
