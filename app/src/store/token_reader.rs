//! The fast path of token look-ups on SQLite: the same answer as [`super::tokens::find_verifying`], in a few
//! microseconds instead of a round trip through SeaORM and sqlx's connection worker.
//!
//! - Synchronous reads on the calling thread with rusqlite (same bundled libsqlite3 as sqlx), prepared
//!   statements cached per connection, a small pool of read-only (`query_only`) connections. A WAL read never
//!   waits for the writer.
//! - Rows already read are kept in memory (`verification_cache`, shared with PostgreSQL), but only while nothing
//!   that could change a verification's answer has been committed. Two feeds move the cache's generation on:
//!   - this process's own changes, at once ([`TokenReader::changed_here`], called by the services after they
//!     commit), so the instance that revoked a token refuses it on the very next request;
//!   - anything committed by anyone else (the command line, another process on the same file, `sqlite3` by
//!     hand): a look-up that finds the last look older than [`WATCH_INTERVAL`] asks SQLite, on a connection kept
//!     for that, whether anything at all was committed since (`PRAGMA data_version`) and, when something was,
//!     reads the verification generation that triggers bump with every relevant token or account change
//!     (migration m0003). Such a change is therefore seen by every look-up that starts a millisecond after its
//!     commit. Asking on every look-up (as before) cost a read transaction, with its two `fcntl` locks on the
//!     WAL index, per request: 15% of a verification's CPU in `make bench`.
//!
//!   A new generation empties the cache. There is no time-based expiry to go stale. (Reading the WAL-index
//!   header from the mapped `-shm` file instead of `data_version` was measured in `make bench` and did not beat
//!   it, so it was removed.)

use super::{
    accounts::Account,
    entities::account::StoredPasswordHash,
    tokens::{SecretHash, Token, Verifying},
    verification_cache::VerificationCache,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row};
use sea_orm::DbErr;
use std::{
    path::{Path, PathBuf},
    sync::{
        Mutex, MutexGuard,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};
/// Idle connections kept open; more are opened when requests overlap, and closed afterwards.
const IDLE_CONNECTIONS: usize = 8;

const FIND: &str = "SELECT t.id, t.account_id, t.name, t.name_key, t.secret_hash, t.hint, t.created_at, \
    t.expires_at, t.allowlist, t.privileges, t.previous_secret_hash, t.previous_valid_until, t.last_used_at, \
    t.last_used_ip, a.id, a.username, a.username_key, a.password_hash, a.privileges, a.suspended, a.created_at, \
    a.updated_at, t.rate_limit \
    FROM tokens t JOIN accounts a ON a.id = t.account_id \
    WHERE t.secret_hash = ?1 OR t.previous_secret_hash = ?1 LIMIT 1";
const GENERATION: &str = "SELECT value FROM verification_generation WHERE id = 1";
const DATA_VERSION: &str = "PRAGMA data_version";
/// How old the last look at the database's commits may be for a look-up to trust the cache: changes committed
/// by other processes are seen by look-ups that start this long after the commit (this process's at once).
pub const WATCH_INTERVAL: Duration = Duration::from_millis(1);

pub struct TokenReader {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    cache: VerificationCache,
    feed: Feed,
}

/// What the cache's generation is: a counter in this process, moved on by this process's changes and by the
/// ones the watch finds in the database.
struct Feed {
    generation: AtomicI64,
    /// [`WATCH_INTERVAL`], in microseconds (longer in tests).
    interval: u64,
    /// When the last look at the database started, in microseconds since `started`.
    looked_at: AtomicU64,
    started: Instant,
    watch: Mutex<Watch>,
}

/// The connection that looks for commits, and what it saw last.
struct Watch {
    conn: Connection,
    /// `PRAGMA data_version` at the last look (it only compares on one connection).
    data_version: Option<i64>,
    /// The database's verification generation at the last look.
    generation: Option<i64>,
}

impl TokenReader {
    /// A reader for the SQLite database at `url`, or `None` when it is not a SQLite file (PostgreSQL, or an
    /// in-memory database, which only its own connection can see). Call after `store::connect` (the schema,
    /// with its triggers, must exist).
    pub fn open(url: &str) -> Result<Option<Self>, DbErr> {
        Self::watching_every(url, WATCH_INTERVAL)
    }

    fn watching_every(url: &str, interval: Duration) -> Result<Option<Self>, DbErr> {
        let Some(path) = sqlite_file(url) else { return Ok(None) };
        // The watch's connection is opened now, so a wrong path fails at start, not on the first request.
        let watch = Watch { conn: connect(&path)?, data_version: None, generation: None };
        let feed = Feed {
            generation: AtomicI64::new(0),
            interval: u64::try_from(interval.as_micros()).unwrap_or(u64::MAX),
            looked_at: AtomicU64::new(0),
            started: Instant::now(),
            watch: Mutex::new(watch),
        };
        let reader = Self { path, idle: Mutex::new(Vec::new()), cache: VerificationCache::default(), feed };
        // The first look-up looks at the database whatever the time.
        reader.feed.look(&mut lock(&reader.feed.watch), 0)?;
        Ok(Some(reader))
    }

    /// This process committed a change that may alter a verification's answer: the next look-up reads the
    /// database. The watch takes note of the commit now, so its next look does not empty the cache again.
    pub fn changed_here(&self) {
        self.feed.generation.fetch_add(1, Ordering::SeqCst);
        let now = self.feed.now();
        if let Err(err) = self.feed.look(&mut lock(&self.feed.watch), now) {
            // The next look-up's look tries again (and fails the look-up if it fails too).
            tracing::warn!(error = %err, "could not look at the database after a change");
        }
    }

    /// The rows kept in memory.
    pub(super) fn cache(&self) -> &VerificationCache {
        &self.cache
    }

    /// The token whose current or previous secret hashes to `hash`, with its owner (see
    /// [`super::tokens::find_verifying`]). From memory when the feed vouches for it; otherwise blocks for a few
    /// microseconds: SQLite reads in WAL mode do not wait for writers, so this runs on the async worker rather
    /// than paying for a hop to a blocking thread.
    pub fn find_by_secret_hash(&self, hash: &SecretHash) -> Result<Option<Verifying>, DbErr> {
        // The generation is read before the database, so a row read across a change is kept under the old one.
        let generation = self.feed.current()?;
        if let Some(found) = self.cache.get(generation, hash) {
            return Ok(Some(found));
        }
        let popped = lock(&self.idle).pop();
        let conn = match popped {
            Some(conn) => conn,
            None => connect(&self.path)?,
        };
        let hex = hash.hex();
        let found =
            conn.prepare_cached(FIND).and_then(|mut s| s.query_row([&hex], row_to_found).optional()).map_err(db_err);
        // A connection that failed may be broken: only healthy ones go back.
        if found.is_ok() {
            let mut idle = lock(&self.idle);
            if idle.len() < IDLE_CONNECTIONS {
                idle.push(conn);
            }
        }
        let found = found?.and_then(|(token, account)| Verifying::new(&token, account, &hex));
        if let Some(found) = &found {
            self.cache.insert(generation, hash, found);
        }
        Ok(found)
    }
}

impl Feed {
    fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// The generation to trust the cache at, after a look at the database's commits when the last look started
    /// more than [`WATCH_INTERVAL`] before this call. Concurrent callers wait for one look rather than each
    /// making their own.
    fn current(&self) -> Result<i64, DbErr> {
        let now = self.now();
        let fresh = |looked_at: u64| now.saturating_sub(looked_at) < self.interval;
        if !fresh(self.last_look()) {
            let mut watch = lock(&self.watch);
            // Someone else may have looked while this call waited for the watch.
            if !fresh(self.last_look()) {
                self.look(&mut watch, now)?;
            }
        }
        Ok(self.generation.load(Ordering::SeqCst))
    }

    fn last_look(&self) -> u64 {
        self.looked_at.load(Ordering::SeqCst)
    }

    /// Looks for commits since the last look (started at `now`), and moves the generation on when one changed
    /// the database's verification generation.
    fn look(&self, watch: &mut Watch, now: u64) -> Result<(), DbErr> {
        let data_version = number(&watch.conn, DATA_VERSION)?;
        if watch.data_version != Some(data_version) {
            let generation = number(&watch.conn, GENERATION)?;
            if watch.generation.is_some_and(|seen| seen != generation) {
                self.generation.fetch_add(1, Ordering::SeqCst);
            }
            watch.generation = Some(generation);
            watch.data_version = Some(data_version);
        }
        self.looked_at.store(now, Ordering::SeqCst);
        Ok(())
    }
}

/// The one number a statement answers (`data_version`, the generation).
fn number(conn: &Connection, sql: &str) -> Result<i64, DbErr> {
    conn.prepare_cached(sql).and_then(|mut s| s.query_row([], |r| r.get(0))).map_err(db_err)
}

/// A read-only connection to the database file.
fn connect(path: &Path) -> Result<Connection, DbErr> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(db_err)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(db_err)?;
    // This connection only ever reads; SQLite enforces it.
    conn.pragma_update(None, "query_only", true).map_err(db_err)?;
    // Its pages are read on a cache miss only (the rows stay in `cache`): a smaller page cache than SQLite's
    // 2 MiB per connection, which eight of these filled with the random pages of 100,000 look-ups.
    conn.pragma_update(None, "cache_size", -super::PAGE_CACHE_KIB).map_err(db_err)?;
    Ok(conn)
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

    /// A database file with alice's token `ci`; the reader, a connection of the server's own, and the token's
    /// secret hash.
    async fn database(dir: &Path, interval: Duration) -> (TokenReader, sea_orm::DatabaseConnection, SecretHash) {
        use crate::{domain::PrivilegeSet, store::tokens::NewToken};
        let url = format!("sqlite://{}?mode=rwc", dir.join("t.db").display());
        let db = crate::store::connect(&url).await.unwrap();
        let now = chrono::Utc::now();
        let name = crate::domain::AccountName::parse("alice").unwrap();
        let privileges = PrivilegeSet::from_storage("list-accts");
        let hash = StoredPasswordHash(String::new());
        let alice = crate::store::accounts::insert(&db, &name, hash, &privileges, now).await.unwrap();
        let secret_hash = SecretHash(crate::services::random::sha256("secret"));
        let new = NewToken {
            account_id: alice.id,
            name: "ci",
            secret_hash: secret_hash.hex(),
            hint: "cret".into(),
            created_at: now,
            expires_at: None,
            allowlist: String::new(),
            privileges: "list-accts".into(),
            rate_limit: None,
        };
        crate::store::tokens::insert(&db, new).await.unwrap();
        (TokenReader::watching_every(&url, interval).unwrap().unwrap(), db, secret_hash)
    }

    async fn revoke(db: &sea_orm::DatabaseConnection) {
        let alice = crate::store::accounts::find_by_name(db, "alice").await.unwrap().unwrap();
        crate::store::tokens::delete_by_names(db, alice.id, &["ci".to_owned()]).await.unwrap();
    }

    #[tokio::test]
    async fn a_change_committed_elsewhere_is_seen_once_the_watch_interval_has_passed() {
        let dir = tempfile::tempdir().unwrap();
        let (reader, db, hash) = database(dir.path(), WATCH_INTERVAL).await;
        assert!(reader.find_by_secret_hash(&hash).unwrap().is_some());
        assert!(reader.find_by_secret_hash(&hash).unwrap().is_some());
        assert_eq!(reader.cache().hits(), 1, "the second look-up is answered from memory");
        revoke(&db).await;
        std::thread::sleep(WATCH_INTERVAL);
        assert!(reader.find_by_secret_hash(&hash).unwrap().is_none(), "revoked by another connection");
    }

    #[tokio::test]
    async fn a_change_made_here_is_seen_by_the_next_look_up_and_empties_the_cache_once() {
        let dir = tempfile::tempdir().unwrap();
        // Looks at the database only when told of a change here (and at the start).
        let (reader, db, hash) = database(dir.path(), Duration::from_secs(3600)).await;
        assert!(reader.find_by_secret_hash(&hash).unwrap().is_some());
        // A change that leaves `ci` verifiable, made by this process: the cache starts over at once.
        let more = "UPDATE accounts SET privileges = 'list-accts manage-api-tokens' WHERE username_key = 'alice'";
        sea_orm::ConnectionTrait::execute_unprepared(&db, more).await.unwrap();
        reader.changed_here();
        assert!(reader.find_by_secret_hash(&hash).unwrap().is_some());
        assert_eq!(reader.cache().hits(), 0, "read again after a change made here");
        // The watch took note of that commit: its next look does not empty the cache a second time.
        reader.feed.look(&mut lock(&reader.feed.watch), reader.feed.now()).unwrap();
        assert!(reader.find_by_secret_hash(&hash).unwrap().is_some());
        assert_eq!(reader.cache().hits(), 1, "the watch does not empty the cache a second time");
        revoke(&db).await;
        reader.changed_here();
        assert!(reader.find_by_secret_hash(&hash).unwrap().is_none(), "revoked here: refused at once");
    }
}
