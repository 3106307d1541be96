//! Webhook endpoints and their deliveries, as the admin screen and the command line show them.

use serde::{Deserialize, Serialize};

/// Every event an endpoint can subscribe to, with what it means (the admin form's labels, the docs).
pub const EVENT_TYPES: &[(&str, &str)] = &[
    ("token.created", "A token was created"),
    ("token.revoked", "A token was revoked (by its owner, an administrator, or itself)"),
    ("token.expiring", "A token expires in 30, 7 or 1 day(s)"),
    ("token.expired", "A token has expired"),
    ("token.leaked", "A token was reported found in public, and revoked"),
    ("account.suspended", "An account was suspended"),
];

/// The event "Send test event" sends, to one endpoint only.
pub const TEST_EVENT: &str = "webhook.test";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookView {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    /// When it was added, in the server's time zone.
    pub created: String,
    /// The latest deliveries, newest first.
    pub deliveries: Vec<DeliveryView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub id: i64,
    pub event_type: String,
    pub message_id: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    /// When the event happened, in the server's time zone.
    pub created: String,
    /// When the next attempt is due, if one is.
    pub next_attempt: Option<String>,
}

/// A newly added endpoint with its signing secret, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddedWebhook {
    pub webhook: WebhookView,
    pub secret: String,
}

/// The webhooks screen: every endpoint, and the events on offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhooksScreen {
    pub webhooks: Vec<WebhookView>,
    pub event_types: Vec<(String, String)>,
    /// Whether plain `http://` URLs are accepted (`--allow-http-webhooks`).
    pub allow_http: bool,
}
