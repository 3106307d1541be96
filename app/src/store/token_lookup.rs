//! How verification finds a token by its secret's hash, per backend: the same answer as
//! [`super::tokens::find_verifying`] in every case, from memory when the backend's change feed says nothing
//! has changed (`verification_cache`).

use super::{
    pg_changes::PgLookup,
    token_reader::TokenReader,
    tokens::{SecretHash, Verifying},
    verification_cache::VerificationCache,
};
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DbErr};

#[allow(clippy::large_enum_variant)] // one per process, behind an `Arc`
pub enum TokenLookup {
    /// A SQLite file: synchronous reads, and a feed of this process's changes and the database's commits
    /// (`token_reader`).
    Sqlite(TokenReader),
    /// PostgreSQL: SeaORM reads and the `LISTEN`/`NOTIFY` feed (`pg_changes`).
    Postgres(PgLookup),
    /// No cache: every look-up reads the database (an in-memory SQLite database, or the command line, which
    /// verifies nothing).
    Direct,
}

impl TokenLookup {
    /// The look-up for the database at `url`; `cache`: keep rows in memory (the server), else read each time.
    pub fn open(url: &str, cache: bool) -> Result<Self, DbErr> {
        if !cache {
            return Ok(Self::Direct);
        }
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            return Ok(Self::Postgres(PgLookup::start(url)));
        }
        Ok(TokenReader::open(url)?.map_or(Self::Direct, Self::Sqlite))
    }

    /// The reads through SeaORM are boxed: their futures take kilobytes, and every verification's future (and
    /// the handler's around it) would carry them, allocated and moved on every call, even when memory answers.
    pub async fn find_by_secret_hash(
        &self,
        db: &DatabaseConnection,
        hash: &SecretHash,
    ) -> Result<Option<Verifying>, DbErr> {
        match self {
            Self::Sqlite(reader) => reader.find_by_secret_hash(hash),
            Self::Postgres(lookup) => match lookup.cached(hash) {
                Ok(found) => Ok(Some(found)),
                Err(generation) => Box::pin(lookup.read(db, hash, generation)).await,
            },
            Self::Direct => Box::pin(super::tokens::find_verifying(db, hash)).await,
        }
    }

    /// This process committed a change that may alter a verification's answer: both feeds are told at once,
    /// rather than when SQLite's watch next looks or PostgreSQL's own notification comes back.
    pub fn changed_here(&self) {
        match self {
            Self::Sqlite(reader) => reader.changed_here(),
            Self::Postgres(lookup) => lookup.changed_here(),
            Self::Direct => {}
        }
    }

    /// The rows kept in memory, whichever backend's feed keeps them fresh; `None` without a cache.
    fn cache(&self) -> Option<&VerificationCache> {
        match self {
            Self::Sqlite(reader) => Some(reader.cache()),
            Self::Postgres(lookup) => Some(lookup.cache()),
            Self::Direct => None,
        }
    }

    /// The token whose secret hashes to `hash` was last used at `at`, as the last-use recorder noted it: a row
    /// held in memory keeps it (`VerificationCache::noted`).
    pub fn noted(&self, hash: &SecretHash, at: DateTime<Utc>) {
        if let Some(cache) = self.cache() {
            cache.noted(hash, at);
        }
    }

    /// Rows held in memory (for `/metrics`); `None` without a cache.
    pub fn cached_entries(&self) -> Option<usize> {
        self.cache().map(VerificationCache::len)
    }

    /// Look-ups answered from memory since start; `None` without a cache.
    pub fn cache_hits(&self) -> Option<u64> {
        self.cache().map(VerificationCache::hits)
    }

    /// PostgreSQL: whether the change listener is listening; `None` on other backends.
    pub fn feed_listening(&self) -> Option<bool> {
        match self {
            Self::Postgres(lookup) => Some(lookup.is_listening()),
            Self::Sqlite(_) | Self::Direct => None,
        }
    }

    /// On SQLite, the bytes its library holds now, for all connections (sqlx's and the readers') together.
    pub fn sqlite_memory_used(&self) -> Option<i64> {
        match self {
            // SAFETY: reads one of SQLite's status counters; safe from any thread.
            Self::Sqlite(_) => Some(unsafe { rusqlite::ffi::sqlite3_memory_used() }),
            Self::Postgres(_) | Self::Direct => None,
        }
    }

    /// Whether the cache can be used now: always on SQLite; on PostgreSQL while the listener is listening.
    pub fn is_caching(&self) -> bool {
        match self {
            Self::Sqlite(_) => true,
            Self::Postgres(lookup) => lookup.is_listening(),
            Self::Direct => false,
        }
    }
}
