//! Notifications (issue 14): events (a token created, revoked, expiring, expired, leaked; an account suspended)
//! go into the deliveries outbox in the same transaction as the change that caused them, one webhook call per
//! subscribed endpoint and, for what its owner must hear about, one e-mail to the account's contact address. A
//! background worker sends what is due, retrying with backoff for about a day; the outbox lives in the database,
//! so deliveries survive restarts and several instances share the work without sending an attempt twice.
//!
//! Nothing here runs on a request's path but the enqueueing: a slow or dead receiver delays only its own
//! deliveries.

use super::{Core, random};
use crate::{
    model::webhooks::{EVENT_TYPES, TEST_EVENT},
    store::{
        contacts,
        webhooks::{self as store, Delivery, NewDelivery},
    },
};
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor, message::Mailbox};
use sea_orm::{ConnectionTrait, DbErr};
use serde_json::json;
use std::{sync::Arc, time::Duration};

/// How notifications go out.
#[derive(Debug, Clone, Default)]
pub struct NotificationSettings {
    /// `smtp://host:port` (or `smtps://`, or `smtp://…?tls=required` for STARTTLS): e-mail goes out through it.
    pub smtp_url: Option<String>,
    /// The sender of those e-mails.
    pub mail_from: Option<String>,
    /// Accept `http://` webhook URLs (tests, a receiver on the same host); otherwise `https://` only.
    pub allow_http_webhooks: bool,
    /// The web app's public URL, for links in e-mails.
    pub public_url: Option<String>,
    /// Run the delivery worker and the expiry scan every this often; `None` (the command line): queue only.
    pub every: Option<Duration>,
}

/// The retry schedule after each failed attempt: about a day in all (Standard Webhooks' suggestion), then the
/// delivery is marked failed.
pub const RETRY_AFTER: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];
/// How long a claimed attempt holds its delivery: if the instance dies mid-attempt, another retries after it.
const LEASE: Duration = Duration::from_secs(5 * 60);
/// A receiver has this long to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries picked up per round (they are sent concurrently).
const BATCH: u64 = 32;
/// Finished deliveries (delivered or failed) are kept this long in the log, then deleted.
pub const KEEP_FINISHED_DAYS: i64 = 30;

pub struct Notifications {
    pub settings: NotificationSettings,
    mailer: Option<(AsyncSmtpTransport<Tokio1Executor>, Mailbox)>,
    http: reqwest::Client,
    wake: tokio::sync::Notify,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("--smtp-url: {0}")]
    SmtpUrl(String),
    #[error("--mail-from: {0}")]
    MailFrom(String),
    #[error("the HTTP client for webhooks: {0}")]
    Http(String),
}

impl Notifications {
    pub fn new(settings: NotificationSettings) -> Result<Self, NotifyError> {
        let mailer = match &settings.smtp_url {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|err| NotifyError::SmtpUrl(err.to_string()))?
                    .timeout(Some(TIMEOUT))
                    .build();
                let from = settings.mail_from.as_deref().ok_or_else(|| {
                    NotifyError::MailFrom("give the sender address of the e-mails (--mail-from)".into())
                })?;
                let from: Mailbox = from.parse().map_err(|err| NotifyError::MailFrom(format!("{from}: {err}")))?;
                Some((transport, from))
            }
            None => None,
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .user_agent(concat!("Tessera-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| NotifyError::Http(err.to_string()))?;
        Ok(Self { settings, mailer, http, wake: tokio::sync::Notify::new() })
    }

    /// Whether e-mail events are queued: when this process sends mail, and also when it runs no worker (the
    /// command line), since the server that sends what it queues may well send mail.
    pub fn queues_mail(&self) -> bool {
        self.mailer.is_some() || self.settings.every.is_none()
    }

    /// Something was queued: the worker looks at once instead of at its next round.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// An e-mail to an account's owner about one of its tokens.
pub struct Mail {
    pub account_id: i64,
    pub subject: String,
    pub text: String,
}

/// An event about to be queued.
pub struct Event {
    pub kind: &'static str,
    pub data: serde_json::Value,
    /// Also tell the owner by e-mail (when e-mail is set up and the account has a contact address).
    pub mail: Option<Mail>,
}

/// Queues `event` for every endpoint subscribed to it (and its e-mail), in the caller's transaction. The worker
/// is woken by [`Core::notifications`]`.wake()` once the caller has committed.
pub async fn emit(db: &impl ConnectionTrait, state: &Core, event: Event) -> Result<(), DbErr> {
    let now = state.clock.now();
    let message_id = format!("msg_{}", random::base62(24));
    let payload = json!({
        "type": event.kind,
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": event.data,
    })
    .to_string();
    for endpoint in store::endpoints(db).await? {
        if endpoint.events.split(' ').any(|kind| kind == event.kind) {
            let new = NewDelivery {
                endpoint_id: Some(endpoint.id),
                recipient: None,
                event_type: event.kind,
                message_id: &message_id,
                payload: &payload,
            };
            store::enqueue(db, new, now).await?;
        }
    }
    if let Some(mail) = event.mail
        && state.notifications.queues_mail()
        && let Some(address) = contacts::get(db, mail.account_id).await?
    {
        let payload = json!({"subject": mail.subject, "text": mail.text}).to_string();
        let new = NewDelivery {
            endpoint_id: None,
            recipient: Some(&address),
            event_type: event.kind,
            message_id: &message_id,
            payload: &payload,
        };
        store::enqueue(db, new, now).await?;
    }
    Ok(())
}

/// Queues a `webhook.test` event for one endpoint.
pub async fn enqueue_test(db: &impl ConnectionTrait, state: &Core, endpoint_id: i64) -> Result<(), DbErr> {
    let now = state.clock.now();
    let message_id = format!("msg_{}", random::base62(24));
    let payload = json!({
        "type": TEST_EVENT,
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": {"message": "A test event from Tessera. If you can read this, your endpoint works."},
    })
    .to_string();
    let new = NewDelivery {
        endpoint_id: Some(endpoint_id),
        recipient: None,
        event_type: TEST_EVENT,
        message_id: &message_id,
        payload: &payload,
    };
    store::enqueue(db, new, now).await.map(drop)
}

/// Whether `kind` is an event type endpoints may subscribe to.
pub fn is_event_type(kind: &str) -> bool {
    EVENT_TYPES.iter().any(|(known, _)| *known == kind)
}

/// The Standard Webhooks signature of one message: `v1,` and the base64 of HMAC-SHA256, keyed with the secret's
/// decoded bytes, over `{id}.{timestamp}.{body}`.
pub fn sign(secret: &str, message_id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_")?).ok()?;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{message_id}.{timestamp}.{body}").as_bytes());
    Some(format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())))
}

/// Runs the worker and the expiry scan until the last other holder of `core` is gone.
pub fn spawn(core: Core, every: Duration) {
    tokio::spawn(async move {
        let mut pruned: Option<DateTime<Utc>> = None;
        loop {
            if Arc::strong_count(&core.notifications) <= 1 {
                return;
            }
            let now = core.clock.now();
            if pruned.is_none_or(|at| now - at >= chrono::Duration::hours(1)) {
                pruned = Some(now);
                let before = now - chrono::Duration::days(KEEP_FINISHED_DAYS);
                if let Err(err) = store::prune_finished(&core.db, before).await {
                    tracing::warn!(error = %err, "pruning finished deliveries failed");
                }
            }
            if let Err(err) = super::expiry_warnings::scan(&core).await {
                tracing::warn!(error = %err, "the expiry warning scan failed; trying again next round");
            }
            if let Err(err) = deliver_due(&core).await {
                tracing::warn!(error = %err, "the delivery worker failed; trying again next round");
            }
            let _ = tokio::time::timeout(every, core.notifications.wake.notified()).await;
        }
    });
}

/// One round: claims the deliveries due now and attempts them all at once.
pub async fn deliver_due(core: &Core) -> Result<usize, DbErr> {
    let now = core.clock.now();
    let due = store::due(&core.db, now, BATCH).await?;
    let lease_until = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
    let mut attempts = tokio::task::JoinSet::new();
    for delivery in due {
        if store::claim(&core.db, &delivery, lease_until).await? {
            let core = core.clone();
            attempts.spawn(async move { attempt(&core, delivery).await });
        }
    }
    let mut count = 0;
    while let Some(done) = attempts.join_next().await {
        if let Ok(Err(err)) = done {
            tracing::warn!(error = %err, "recording a delivery attempt failed");
        }
        count += 1;
    }
    Ok(count)
}

/// What one attempt came to.
struct Attempt {
    delivered: bool,
    status_code: Option<i32>,
    error: Option<String>,
    /// Retrying cannot help (e-mail is not set up here): failed at once.
    final_failure: bool,
}

impl Attempt {
    fn delivered(status_code: Option<i32>) -> Self {
        Self { delivered: true, status_code, error: None, final_failure: false }
    }

    fn failed(status_code: Option<i32>, error: impl Into<String>) -> Self {
        Self { delivered: false, status_code, error: Some(error.into()), final_failure: false }
    }
}

async fn attempt(core: &Core, delivery: Delivery) -> Result<(), DbErr> {
    let outcome = match delivery.endpoint_id {
        Some(endpoint_id) => match store::endpoint(&core.db, endpoint_id).await? {
            Some(endpoint) => call(&core.notifications, &endpoint, &delivery).await,
            None => return Ok(()), // removed meanwhile, with its deliveries
        },
        None => mail(&core.notifications, &delivery).await,
    };
    let now = core.clock.now();
    // `attempts` was counted by the claim: this was attempt number `delivery.attempts + 1`.
    let retry_at = (!outcome.delivered && !outcome.final_failure)
        .then(|| RETRY_AFTER.get(usize::try_from(delivery.attempts).unwrap_or(usize::MAX)))
        .flatten()
        .map(|after| now + chrono::Duration::from_std(*after).unwrap_or_default());
    if !outcome.delivered {
        tracing::info!(
            delivery = delivery.id,
            event = %delivery.event_type,
            error = outcome.error.as_deref().unwrap_or(""),
            retry = retry_at.is_some(),
            "a delivery attempt failed"
        );
    }
    let error = outcome.error.as_deref();
    store::finish_attempt(&core.db, delivery.id, outcome.delivered, retry_at, outcome.status_code, error, now).await
}

async fn call(notifications: &Notifications, endpoint: &store::Endpoint, delivery: &Delivery) -> Attempt {
    // The signature's time is the wall clock's: receivers check it against theirs.
    let timestamp = Utc::now().timestamp();
    let Some(signature) = sign(&endpoint.secret, &delivery.message_id, timestamp, &delivery.payload) else {
        return Attempt::failed(None, "the endpoint's secret is unreadable");
    };
    let sent = notifications
        .http
        .post(&endpoint.url)
        .header("content-type", "application/json")
        .header("webhook-id", &delivery.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(delivery.payload.clone())
        .send()
        .await;
    match sent {
        Ok(response) => {
            let status = response.status();
            let code = Some(i32::from(status.as_u16()));
            if status.is_success() {
                Attempt::delivered(code)
            } else if status.is_redirection() {
                Attempt::failed(code, format!("answered {status}: redirects are not followed"))
            } else {
                Attempt::failed(code, format!("answered {status}"))
            }
        }
        Err(err) if err.is_timeout() => Attempt::failed(None, format!("no answer within {} s", TIMEOUT.as_secs())),
        Err(err) => {
            tracing::debug!(error = %err, "webhook request");
            Attempt::failed(None, if err.is_connect() { "could not connect" } else { "the request failed" })
        }
    }
}

async fn mail(notifications: &Notifications, delivery: &Delivery) -> Attempt {
    let failed = |error: String| Attempt::failed(None, error);
    let Some((transport, from)) = &notifications.mailer else {
        let error = "e-mail is not set up on this server (--smtp-url)".to_owned();
        return Attempt { final_failure: true, ..Attempt::failed(None, error) };
    };
    let Some(recipient) = delivery.recipient.as_deref() else { return failed("no recipient".into()) };
    let Ok(to) = recipient.parse::<Mailbox>() else { return failed(format!("{recipient} is not an address")) };
    let content: serde_json::Value = serde_json::from_str(&delivery.payload).unwrap_or_default();
    let subject = content["subject"].as_str().unwrap_or("Tessera");
    let text = content["text"].as_str().unwrap_or_default().to_owned();
    let message = lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject)
        .message_id(Some(format!("<{}@tessera>", delivery.message_id)))
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(text);
    let message = match message {
        Ok(message) => message,
        Err(err) => return failed(format!("the message could not be built: {err}")),
    };
    match transport.send(message).await {
        Ok(response) if response.is_positive() => Attempt::delivered(None),
        Ok(response) => failed(format!("the mail server answered {}", response.code())),
        Err(err) => failed(format!("the mail server refused or failed: {err}")),
    }
}

/// The web app's address of a path, for e-mails (the path alone without `--public-url`).
pub fn link(core: &Core, path: &str) -> String {
    match &core.notifications.settings.public_url {
        Some(base) => format!("{}{path}", base.trim_end_matches('/')),
        None => path.to_owned(),
    }
}

/// `now`, formatted for people in the server's time zone.
pub fn local(core: &Core, at: DateTime<Utc>) -> String {
    at.with_timezone(&core.time_zone).format("%Y-%m-%d %H:%M %Z").to_string()
}
