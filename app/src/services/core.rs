//! `Core`: what every service works with (the database, the fast token reader, the password hasher, the clock,
//! the session rules, the time zone, the last-used recorder and the metrics), opened in one place. The server
//! wraps it in its web state; the command line uses it alone. Services never see anything of the web.

use super::{
    auth::SessionSettings,
    clock::{Clock, SystemClock},
    last_used::LastUsedRecorder,
    metrics::Metrics,
    notify::{NotificationSettings, Notifications, NotifyError},
    password::{PasswordError, Passwords},
    rate_limits::RateLimiter,
    usage::UsageRecorder,
};
use crate::store::{self, name_index::NameIndex, token_lookup::TokenLookup};
use sea_orm::{DatabaseConnection, DbErr};
use std::{sync::Arc, time::Duration};

#[derive(Clone)]
pub struct Core {
    pub db: DatabaseConnection,
    pub passwords: Passwords,
    pub clock: Arc<dyn Clock>,
    pub sessions: Arc<SessionSettings>,
    /// Tokens expire at 23:59:59 of their expiry date in this zone.
    pub time_zone: chrono_tz::Tz,
    /// Writes tokens' "last used" time and IP off the request path.
    pub last_used: LastUsedRecorder,
    /// Token look-ups for verification, cached per backend (`store::token_lookup`).
    pub token_lookup: Arc<TokenLookup>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Webhooks and e-mail (`services::notify`).
    pub notifications: Arc<Notifications>,
    /// Verification outcomes per token, counted in memory and written in batches (`services::usage`).
    pub usage: UsageRecorder,
    /// Days of usage kept.
    pub usage_retention_days: u32,
    /// Tokens' rate limits, per instance (`services::rate_limits`).
    pub rate_limiter: RateLimiter,
    /// Big accounts' token names, searched in memory (`store::name_index`).
    pub names: Arc<NameIndex>,
}

/// How to open a [`Core`].
pub struct CoreConfig {
    pub database_url: String,
    pub time_zone: chrono_tz::Tz,
    pub sessions: SessionSettings,
    pub clock: Arc<dyn Clock>,
    /// Argon2id hashes at once (each holds 19 MiB).
    pub hash_concurrency: usize,
    /// Record tokens' last use, writing every this often; `None` (the command line): do not record.
    pub last_used_flush: Option<Duration>,
    /// Database connections kept open at most on PostgreSQL (SQLite uses 8).
    pub database_pool_size: u32,
    /// Keep verified rows in memory, kept fresh by the database's change feed (the server; not the command line,
    /// which verifies nothing and would only hold a listening connection open).
    pub cache_verifications: bool,
    /// Webhooks, e-mail, and whether this process runs the delivery worker and expiry scan.
    pub notifications: NotificationSettings,
    /// Days of usage counters kept (pruned after).
    pub usage_retention_days: u32,
    /// Count verifications per token (when last use is recorded too).
    pub count_usage: bool,
    /// Write the usage counters this often (and prune them, hourly, from the same task).
    pub usage_flush: Duration,
}

impl CoreConfig {
    /// The defaults: the system clock, default session rules, one hash per core, no last-use recording.
    pub fn new(database_url: impl Into<String>, time_zone: chrono_tz::Tz) -> Self {
        Self {
            database_url: database_url.into(),
            time_zone,
            sessions: SessionSettings::default(),
            clock: Arc::new(SystemClock),
            hash_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            last_used_flush: None,
            cache_verifications: false,
            database_pool_size: store::DEFAULT_POOL_SIZE,
            notifications: NotificationSettings::default(),
            usage_retention_days: 90,
            count_usage: true,
            // Once a minute, like a token's last use (issue 15's cost: each write upserts a counter per token and
            // hour in use, and moves each token's requests window, however many calls it had; every 30 s cost the
            // verification rate a percent more). Reports write what is waiting first, and a stop writes the rest.
            usage_flush: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("opening the database: {0}")]
    Database(#[from] DbErr),
    #[error("setting up password hashing: {0}")]
    Passwords(#[from] PasswordError),
    #[error("setting up notifications: {0}")]
    Notifications(#[from] NotifyError),
}

impl Core {
    /// A change that may alter a verification's answer was committed here (see `TokenLookup::changed_here`).
    pub fn verification_changed(&self) {
        self.token_lookup.changed_here();
    }

    /// Opens (and migrates) the database and sets everything up.
    pub async fn open(config: CoreConfig) -> Result<Self, OpenError> {
        let db = store::connect_with(&config.database_url, config.database_pool_size).await?;
        let token_lookup = Arc::new(TokenLookup::open(&config.database_url, config.cache_verifications)?);
        let last_used = match config.last_used_flush {
            Some(every) => LastUsedRecorder::spawn(db.clone(), every),
            None => LastUsedRecorder::disabled(),
        };
        let every = config.notifications.every;
        let counting = config.last_used_flush.is_some() && config.count_usage;
        let usage = if counting { UsageRecorder::enabled() } else { UsageRecorder::disabled() };
        let core = Self {
            db,
            passwords: Passwords::new(config.hash_concurrency)?,
            clock: config.clock,
            sessions: Arc::new(config.sessions),
            time_zone: config.time_zone,
            last_used,
            token_lookup,
            metrics: Arc::default(),
            notifications: Arc::new(Notifications::new(config.notifications)?),
            usage,
            usage_retention_days: config.usage_retention_days,
            rate_limiter: RateLimiter::default(),
            names: Arc::default(),
        };
        if config.last_used_flush.is_some() {
            super::usage::spawn(core.clone(), config.usage_flush);
        }
        if let Some(every) = every {
            super::notify::spawn(core.clone(), every);
        }
        Ok(core)
    }
}
