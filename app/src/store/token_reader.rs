//! The fast path of token look-ups on SQLite: the same answer as [`super::tokens::find_verifying`], in a few
//! microseconds instead of a round trip through SeaORM and sqlx's connection worker.
//!
//! - Synchronous reads on the calling thread with rusqlite (same bundled libsqlite3 as sqlx), prepared
//!   statements cached per connection, a small pool of read-only (`query_only`) connections. A WAL read never
//!   waits for the writer.
//! - Rows already read are kept in memory (`verification_cache`, shared with PostgreSQL), but only while nothing
//!   that could change a verification's answer has been committed: each look-up first asks SQLite whether
//!   anything at all was committed since the last look, by any connection in any process (`PRAGMA data_version`),
//!   and, when something was, reads the verification generation that triggers bump with every relevant token or
//!   account change (migration m0003). (Reading the WAL-index header from the mapped `-shm` file instead was
//!   measured in `make bench` and did not beat `data_version`, so it was removed.) A new generation empties the cache. A revocation, suspension, rename or
//!   privilege change committed by anyone is therefore seen by the next look-up that starts after the commit.
//!   There is no time-based expiry to go stale.

use super::{
    accounts::Account,
    entities::account::StoredPasswordHash,
    tokens::{Token, Verifying},
    verification_cache::VerificationCache,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row};
use sea_orm::DbErr;
use std::{
    path::{Path, PathBuf},
    sync::{Mutex, MutexGuard},
    time::Duration,
};
/// Idle connections kept open; more are opened when requests overlap, and closed afterwards.
const IDLE_CONNECTIONS: usize = 8;
/// Each connection's page cache, in KiB (SQLite's own default is 2,048).
const READ_CACHE_KIB: i64 = 256;

const FIND: &str = "SELECT t.id, t.account_id, t.name, t.name_key, t.secret_hash, t.hint, t.created_at, \
    t.expires_at, t.allowlist, t.privileges, t.previous_secret_hash, t.previous_valid_until, t.last_used_at, \
    t.last_used_ip, a.id, a.username, a.username_key, a.password_hash, a.privileges, a.suspended, a.created_at, \
    a.updated_at, t.rate_limit, t.requests_30d \
    FROM tokens t JOIN accounts a ON a.id = t.account_id \
    WHERE t.secret_hash = ?1 OR t.previous_secret_hash = ?1 LIMIT 1";
const GENERATION: &str = "SELECT value FROM verification_generation WHERE id = 1";
const DATA_VERSION: &str = "PRAGMA data_version";

pub struct TokenReader {
    path: PathBuf,
    idle: Mutex<Vec<ReadConnection>>,
    cache: VerificationCache,
}

struct ReadConnection {
    conn: Connection,
    /// `PRAGMA data_version` when this connection last read the generation.
    data_version: Option<i64>,
    /// The generation as this connection last read it: current as long as `data_version` has not moved.
    generation: i64,
}

impl TokenReader {
    /// A reader for the SQLite database at `url`, or `None` when it is not a SQLite file (PostgreSQL, or an
    /// in-memory database, which only its own connection can see). Call after `store::connect` (the schema,
    /// with its triggers, must exist).
    pub fn open(url: &str) -> Result<Option<Self>, DbErr> {
        let Some(path) = sqlite_file(url) else { return Ok(None) };
        let reader = Self { path, idle: Mutex::new(Vec::new()), cache: VerificationCache::default() };
        // Open one now, so a wrong path fails at start, not on the first request.
        let first = reader.connect()?;
        lock(&reader.idle).push(first);
        Ok(Some(reader))
    }

    /// Rows held in memory now (for `/metrics`).
    pub fn cached_entries(&self) -> usize {
        self.cache.len()
    }

    /// Look-ups answered from memory since start (for `/metrics`).
    pub fn cache_hits(&self) -> u64 {
        self.cache.hits()
    }

    fn connect(&self) -> Result<ReadConnection, DbErr> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(db_err)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(db_err)?;
        // This connection only ever reads; SQLite enforces it.
        conn.pragma_update(None, "query_only", true).map_err(db_err)?;
        // Its pages are read on a cache miss only (the rows stay in `cache`): a smaller page cache than SQLite's
        // 2 MiB per connection, which eight of these filled with the random pages of 100,000 look-ups.
        conn.pragma_update(None, "cache_size", -READ_CACHE_KIB).map_err(db_err)?;
        Ok(ReadConnection { conn, data_version: None, generation: 0 })
    }

    /// The token whose current or previous secret hashes to `hash`, with its owner (see
    /// [`super::tokens::find_verifying`]). Blocks for a few microseconds: SQLite reads in WAL mode do not wait
    /// for writers, so this runs on the async worker rather than paying for a hop to a blocking thread.
    pub fn find_by_secret_hash(&self, hash: &str) -> Result<Option<Verifying>, DbErr> {
        let popped = lock(&self.idle).pop();
        let mut read = match popped {
            Some(read) => read,
            None => self.connect()?,
        };
        let found = self.find_with(&mut read, hash);
        // A connection that failed may be broken: only healthy ones go back.
        if found.is_ok() {
            let mut idle = lock(&self.idle);
            if idle.len() < IDLE_CONNECTIONS {
                idle.push(read);
            }
        }
        found
    }

    fn find_with(&self, read: &mut ReadConnection, hash: &str) -> Result<Option<Verifying>, DbErr> {
        let data_version: i64 =
            read.conn.prepare_cached(DATA_VERSION).and_then(|mut s| s.query_row([], |r| r.get(0))).map_err(db_err)?;
        if read.data_version != Some(data_version) {
            read.generation =
                read.conn.prepare_cached(GENERATION).and_then(|mut s| s.query_row([], |r| r.get(0))).map_err(db_err)?;
            read.data_version = Some(data_version);
        }
        let generation = read.generation;
        if let Some(found) = self.cache.get(generation, hash) {
            return Ok(Some(found));
        }
        let found = read
            .conn
            .prepare_cached(FIND)
            .and_then(|mut s| s.query_row([hash], row_to_found).optional())
            .map_err(db_err)?
            .and_then(|(token, account)| Verifying::new(&token, account, hash));
        if let Some(found) = &found {
            self.cache.insert(generation, hash, found);
        }
        Ok(found)
    }
}

fn row_to_found(row: &Row<'_>) -> rusqlite::Result<(Token, Account)> {
    let token = Token {
        id: row.get(0)?,
        account_id: row.get(1)?,
        name: row.get(2)?,
        name_key: row.get(3)?,
        secret_hash: row.get(4)?,
        hint: row.get(5)?,
        created_at: row.get(6)?,
        expires_at: row.get(7)?,
        allowlist: row.get(8)?,
        privileges: row.get(9)?,
        previous_secret_hash: row.get(10)?,
        previous_valid_until: row.get(11)?,
        last_used_at: row.get(12)?,
        last_used_ip: row.get(13)?,
        rate_limit: row.get(22)?,
        requests_30d: row.get(23)?,
    };
    let account = Account {
        id: row.get(14)?,
        username: row.get(15)?,
        username_key: row.get(16)?,
        password_hash: StoredPasswordHash(row.get(17)?),
        privileges: row.get(18)?,
        suspended: row.get(19)?,
        created_at: row.get(20)?,
        updated_at: row.get(21)?,
    };
    Ok((token, account))
}

/// The file of a `sqlite:` URL (`sqlite://path`, `sqlite:path?mode=rwc`), or `None` for in-memory and other
/// databases.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = path.strip_prefix("//").unwrap_or(path);
    let in_memory = path.is_empty() || path == ":memory:" || query.split('&').any(|kv| kv == "mode=memory");
    (!in_memory).then(|| Path::new(path).to_path_buf())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn db_err(err: rusqlite::Error) -> DbErr {
    DbErr::Custom(format!("reading a token from SQLite: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sqlite_files_get_a_fast_reader() {
        assert_eq!(sqlite_file("sqlite://data/tessera.db"), Some(PathBuf::from("data/tessera.db")));
        assert_eq!(sqlite_file("sqlite:///var/lib/t.db?mode=rwc"), Some(PathBuf::from("/var/lib/t.db")));
        assert_eq!(sqlite_file("sqlite:t.db"), Some(PathBuf::from("t.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://t.db?mode=memory"), None);
        assert_eq!(sqlite_file("postgres://u:p@db/tessera"), None);
    }
}
