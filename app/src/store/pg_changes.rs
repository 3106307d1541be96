//! The PostgreSQL change feed of the verification cache: every change that can alter a verification's answer
//! sends a `NOTIFY` on [`CHANNEL`] from a trigger (migration m0005), in the changing transaction, so it is
//! delivered on commit only, whichever instance, command line or administrator made it. Each instance `LISTEN`s on
//! a dedicated connection and moves its generation on with every notification; the shared
//! [`VerificationCache`] empties itself on a new generation.
//!
//! Fail safe: while the listener is not connected (at start, after its connection dropped, until it has
//! reconnected and is listening again) the cache is not used at all and every look-up reads the database. A
//! reconnect starts a new generation, so rows read before it are never trusted after it: notifications sent
//! while nobody listened are lost, and the cache starts empty instead.
//!
//! Changes made by this process also move the generation on at once ([`PgLookup::changed_here`]), so the
//! instance that revoked a token refuses it on the very next request, without waiting for its own notification.

use super::{
    tokens::{self, SecretHash, Verifying},
    verification_cache::VerificationCache,
};
use sea_orm::{DatabaseConnection, DbErr, sqlx::postgres::PgListener};
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicI64, Ordering},
    },
    time::Duration,
};

/// The channel the triggers notify on.
pub const CHANNEL: &str = "tessera_verification";
/// Shown in `pg_stat_activity` for the listening connection.
pub const APPLICATION_NAME: &str = "tessera-listener";
/// The first wait before reconnecting; doubled on each failure up to [`RECONNECT_MAX`].
const RECONNECT_FIRST: Duration = Duration::from_millis(200);
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// The generation, and whether it can be trusted.
#[derive(Default)]
struct Feed {
    generation: AtomicI64,
    listening: AtomicBool,
}

impl Feed {
    /// The current generation while listening; `None` while the cache must not be used.
    fn current(&self) -> Option<i64> {
        // Read `listening` after the generation: a disconnect sets it false after moving the generation on, so a
        // generation read here while listening is at worst one a later check will see as old.
        let generation = self.generation.load(Ordering::SeqCst);
        self.listening.load(Ordering::SeqCst).then_some(generation)
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn set_listening(&self, listening: bool) {
        self.changed();
        self.listening.store(listening, Ordering::SeqCst);
        self.changed();
    }
}

/// Token look-ups on PostgreSQL: through SeaORM, with the rows cached while the listener vouches for them.
pub struct PgLookup {
    feed: Arc<Feed>,
    cache: VerificationCache,
    listener: tokio::task::JoinHandle<()>,
}

impl PgLookup {
    /// Starts listening for changes on the database at `url` (in the background: the cache is used once the
    /// listener is connected).
    pub fn start(url: &str) -> Self {
        let feed = Arc::new(Feed::default());
        let listener = tokio::spawn(listen(listener_url(url), feed.clone()));
        Self { feed, cache: VerificationCache::default(), listener }
    }

    /// The row for `hash` from memory, while the listener vouches for it; `Err` with the generation to cache the
    /// database's answer under (`None`: the listener is away, nothing is cached) when memory cannot answer.
    pub fn cached(&self, hash: &SecretHash) -> Result<Verifying, Option<i64>> {
        let generation = self.feed.current().ok_or(None)?;
        self.cache.get(generation, hash).ok_or(Some(generation))
    }

    /// See [`super::tokens::find_verifying`]: the database's answer when [`Self::cached`] had none, kept for
    /// the next look-ups under `generation`.
    pub async fn read(
        &self,
        db: &DatabaseConnection,
        hash: &SecretHash,
        generation: Option<i64>,
    ) -> Result<Option<Verifying>, DbErr> {
        let found = tokens::find_verifying(db, hash).await?;
        if let (Some(generation), Some(found)) = (generation, &found) {
            self.cache.insert(generation, hash, found);
        }
        Ok(found)
    }

    /// A change committed by this process: the next look-up reads the database.
    pub fn changed_here(&self) {
        self.feed.changed();
    }

    /// The generation now: it moves on with every change heard of or made here, and every reconnect.
    pub fn generation(&self) -> i64 {
        self.feed.generation.load(Ordering::SeqCst)
    }

    /// Whether the listener is connected and listening (the cache is in use).
    pub fn is_listening(&self) -> bool {
        self.feed.current().is_some()
    }

    /// The rows kept in memory.
    pub(super) fn cache(&self) -> &VerificationCache {
        &self.cache
    }
}

impl Drop for PgLookup {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

/// The database URL with the listener's application name, so operators (and tests) can tell its connection.
fn listener_url(url: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}application_name={APPLICATION_NAME}")
}

async fn listen(url: String, feed: Arc<Feed>) {
    let mut wait = RECONNECT_FIRST;
    loop {
        match connect(&url).await {
            Ok(mut listener) => {
                feed.set_listening(true);
                wait = RECONNECT_FIRST;
                tracing::info!("listening for verification changes on PostgreSQL");
                let why = loop {
                    match listener.try_recv().await {
                        Ok(Some(_)) => feed.changed(),
                        Ok(None) => break "the connection was lost".to_owned(),
                        Err(err) => break err.to_string(),
                    }
                };
                feed.set_listening(false);
                tracing::warn!(reason = %why, "stopped listening for verification changes; verifying from the database until reconnected");
            }
            Err(err) => tracing::warn!(error = %err, retry_in = ?wait, "cannot listen for verification changes"),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(RECONNECT_MAX);
    }
}

async fn connect(url: &str) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    // Reconnecting is this module's job: a reconnect must start a new generation.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_trusted_until_listening_and_every_change_moves_the_generation_on() {
        let feed = Feed::default();
        assert_eq!(feed.current(), None);
        feed.set_listening(true);
        let first = feed.current().expect("listening");
        feed.changed();
        assert!(feed.current().expect("listening") > first);
        let before = feed.current().expect("listening");
        feed.set_listening(false);
        assert_eq!(feed.current(), None);
        feed.set_listening(true);
        assert!(feed.current().expect("listening") > before, "a reconnect starts a new generation");
    }

    #[test]
    fn the_listener_names_itself() {
        assert_eq!(listener_url("postgres://db/t"), "postgres://db/t?application_name=tessera-listener");
        assert_eq!(
            listener_url("postgres://db/t?sslmode=require"),
            "postgres://db/t?sslmode=require&application_name=tessera-listener"
        );
    }
}
