//! Webhook endpoints, managed by administrators (the `all` privilege): add one (its signing secret shown once),
//! list them with their latest deliveries, send a test event, remove one. Each change is audited.

use super::{Actor, Core, notify};
use crate::{
    domain::ALL,
    error::AppError,
    model::webhooks::{AddedWebhook, DeliveryView, EVENT_TYPES, WebhookView, WebhooksScreen},
    store::{
        self, audit,
        webhooks::{self as hooks, Delivery, Endpoint},
    },
};
use base64::Engine;

/// Deliveries shown per endpoint.
const LOG: u64 = 20;
/// The longest URL accepted.
const URL_MAX_LEN: usize = 2_000;

/// Checks a webhook URL: absolute, `https://` (or `http://` when allowed), a host, no user name or password in
/// it (they would be shown on the admin screen and sent in the clear by some clients).
pub fn check_url(raw: &str, allow_http: bool) -> Result<String, AppError> {
    let invalid = |message: &str| AppError::invalid("url", message);
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(invalid("Enter the endpoint's URL."));
    }
    if raw.len() > URL_MAX_LEN {
        return Err(invalid("The URL is longer than 2,000 characters."));
    }
    let url =
        reqwest::Url::parse(raw).map_err(|_| invalid("This is not a URL (e.g. https://hooks.example.com/tessera)."))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => {
            return Err(invalid(
                "Use an https:// URL: events carry account and token names. (The operator can allow http:// with \
                 --allow-http-webhooks.)",
            ));
        }
        _ => return Err(invalid("Use an https:// URL.")),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("The URL has no host."));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("Leave credentials out of the URL; check the signature instead."));
    }
    Ok(url.to_string())
}

/// Checks the chosen events: at least one, each a known type; answers them in the catalogue's order.
pub fn check_events(chosen: &[String]) -> Result<Vec<String>, AppError> {
    if let Some(unknown) = chosen.iter().find(|kind| !notify::is_event_type(kind)) {
        let known: Vec<&str> = EVENT_TYPES.iter().map(|(kind, _)| *kind).collect();
        return Err(AppError::invalid(
            "events",
            format!("“{unknown}” is not an event. Choose from: {}.", known.join(", ")),
        ));
    }
    let events: Vec<String> = EVENT_TYPES
        .iter()
        .filter(|(kind, _)| chosen.iter().any(|c| c == kind))
        .map(|(kind, _)| kind.to_string())
        .collect();
    if events.is_empty() {
        return Err(AppError::invalid("events", "Choose at least one event."));
    }
    Ok(events)
}

fn new_secret() -> String {
    let mut key = [0u8; 32];
    if let Err(err) = getrandom::fill(&mut key) {
        panic!("the operating system's random number generator failed ({err}); refusing to make a signing secret");
    }
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key))
}

fn delivery_view(core: &Core, delivery: Delivery) -> DeliveryView {
    DeliveryView {
        id: delivery.id,
        event_type: delivery.event_type,
        message_id: delivery.message_id,
        status: delivery.status,
        attempts: delivery.attempts,
        last_status_code: delivery.last_status_code,
        last_error: delivery.last_error,
        created: notify::local(core, delivery.created_at),
        next_attempt: delivery
            .next_attempt_at
            .filter(|_| delivery.delivered_at.is_none())
            .map(|at| notify::local(core, at)),
    }
}

async fn view(core: &Core, endpoint: Endpoint) -> Result<WebhookView, AppError> {
    let deliveries = hooks::log(&core.db, endpoint.id, LOG).await?;
    Ok(WebhookView {
        id: endpoint.id,
        url: endpoint.url,
        events: endpoint.events.split_whitespace().map(str::to_owned).collect(),
        created: notify::local(core, endpoint.created_at),
        deliveries: deliveries.into_iter().map(|d| delivery_view(core, d)).collect(),
    })
}

/// Adds an endpoint for `events`; its signing secret is in the answer, and nowhere else afterwards.
pub async fn add(core: &Core, actor: &Actor, url: &str, events: &[String]) -> Result<AddedWebhook, AppError> {
    actor.require(ALL)?;
    let url = check_url(url, core.notifications.settings.allow_http_webhooks)?;
    let events = check_events(events)?;
    let secret = new_secret();
    let now = core.clock.now();
    let txn = store::begin_write(&core.db).await?;
    let done: Result<Endpoint, AppError> = async {
        let endpoint = hooks::insert_endpoint(&txn, &url, &secret, &events.join(" "), now).await?;
        audit::record(&txn, actor.event("webhook.add", &url), now).await?;
        Ok(endpoint)
    }
    .await;
    let endpoint = store::finish(txn, done).await?;
    tracing::info!(url = %endpoint.url, by = %actor.name(), "webhook endpoint added");
    Ok(AddedWebhook { webhook: view(core, endpoint).await?, secret })
}

/// Every endpoint with its latest deliveries.
pub async fn screen(core: &Core, actor: &Actor) -> Result<WebhooksScreen, AppError> {
    actor.require(ALL)?;
    let mut webhooks = Vec::new();
    for endpoint in hooks::endpoints(&core.db).await? {
        webhooks.push(view(core, endpoint).await?);
    }
    Ok(WebhooksScreen {
        webhooks,
        event_types: EVENT_TYPES.iter().map(|(kind, label)| (kind.to_string(), label.to_string())).collect(),
        allow_http: core.notifications.settings.allow_http_webhooks,
    })
}

async fn find(core: &Core, id: i64) -> Result<Endpoint, AppError> {
    hooks::endpoint(&core.db, id).await?.ok_or(AppError::NotFound)
}

/// Removes an endpoint and its deliveries (pending ones are not sent).
pub async fn remove(core: &Core, actor: &Actor, id: i64) -> Result<(), AppError> {
    actor.require(ALL)?;
    let endpoint = find(core, id).await?;
    let now = core.clock.now();
    let txn = store::begin_write(&core.db).await?;
    let done: Result<(), AppError> = async {
        hooks::delete_endpoint(&txn, id).await?;
        audit::record(&txn, actor.event("webhook.remove", &endpoint.url), now).await?;
        Ok(())
    }
    .await;
    store::finish(txn, done).await
}

/// Queues a `webhook.test` event for one endpoint; it shows in its delivery log.
pub async fn send_test(core: &Core, actor: &Actor, id: i64) -> Result<(), AppError> {
    actor.require(ALL)?;
    find(core, id).await?;
    notify::enqueue_test(&core.db, core, id).await?;
    core.notifications.wake();
    Ok(())
}
