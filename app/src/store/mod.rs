//! The store: SeaORM entities, migrations and the queries the services use. Server side only.

pub mod accounts;
pub mod audit;
pub mod contacts;
pub mod entities;
pub mod expiry_warnings;
pub mod leaks;
pub mod migrations;
pub mod name_index;
pub mod passkeys;
pub mod pg_changes;
pub mod privileges;
pub mod second_factors;
pub mod sessions;
pub mod settings;
pub mod sign_in;
pub mod single_sign_on;
pub mod token_lookup;
pub mod token_reader;
pub mod tokens;
pub mod usage;
pub mod verification_cache;
pub mod webhooks;

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr, sea_query::LikeExpr};
use sea_orm_migration::MigratorTrait;
use std::time::Duration;

/// Starts a write transaction: on SQLite `BEGIN IMMEDIATE`, which takes the write lock at once (waiting out the
/// busy timeout), so the transaction cannot fail later when it turns from reading to writing. Elsewhere a plain
/// `BEGIN`.
pub async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    };
    db.begin_with_options(options).await
}

/// Ends `txn` by `result`: commits it when the work succeeded, else rolls it back at once (a transaction merely
/// dropped is rolled back only when its connection is next used, holding its locks until then). One request's
/// change and its audit event go through here, so they are kept together or not at all.
pub async fn finish<T, E: From<DbErr>>(txn: sea_orm::DatabaseTransaction, result: Result<T, E>) -> Result<T, E> {
    match result {
        Ok(value) => {
            txn.commit().await?;
            Ok(value)
        }
        Err(err) => {
            if let Err(rollback) = txn.rollback().await {
                tracing::warn!(error = %rollback, "rolling back a refused change");
            }
            Err(err)
        }
    }
}

/// Starts a write transaction for a change that may take away an administrator (suspension, privileges,
/// deletion), serialised with every other such change so the "one active administrator remains" check cannot
/// race: SQLite's `BEGIN IMMEDIATE` already admits one writer at a time; PostgreSQL's read-committed
/// transactions would each see the other's administrator still there, so they first take one transaction-scoped
/// advisory lock.
pub async fn begin_account_change(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{ConnectionTrait, DatabaseBackend};
    /// Any constant will do, as long as only this code takes it.
    const ACCOUNT_CHANGES: i64 = 0x7465_7373_6572_6101;
    let txn = begin_write(db).await?;
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({ACCOUNT_CHANGES})")).await?;
    }
    Ok(txn)
}

/// Whether `text` could be stored at all: nothing stored holds a NUL (every name is checked on the way in), and
/// PostgreSQL refuses the character outright, so a look-up for text with one finds nothing, on either backend,
/// instead of failing.
pub(crate) fn could_be_stored(text: &str) -> bool {
    !text.contains('\0')
}

/// A `LIKE` pattern matching `text` anywhere (`%text%`), or at the start (`text%`) when `prefix`. `%`, `_`
/// (a legal name character) and `\` in `text` match themselves. A NUL, which nothing stored holds and PostgreSQL
/// cannot take, becomes U+FFFF, which nothing stored holds either: the pattern then matches nothing, alike on both
/// backends.
pub(crate) fn like(text: &str, prefix: bool) -> LikeExpr {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_").replace('\0', "\u{FFFF}");
    let pattern = if prefix { format!("{escaped}%") } else { format!("%{escaped}%") };
    LikeExpr::new(pattern).escape('\\')
}

/// The database used when none is configured: a SQLite file under `./data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/tessera.db";

/// PostgreSQL connections an instance keeps open at most, unless configured.
pub const DEFAULT_POOL_SIZE: u32 = 16;

/// Each SQLite connection's page cache, in KiB (SQLite's default is 2,048). The database file's pages stay in the
/// system's page cache anyway, so a page missing here costs a copy from there, not a disk read. With the default,
/// the 8 connections of the pool and those of the token reader held up to 2 MiB each once the lists of a
/// 100,000-token account had been walked (issue 17: resident memory with 100,000 tokens in use). By hand on the
/// bench's 1,000,000-token database (lists, 20 s of verifications, 15 s of quiet), with [`STATEMENTS_KEPT`]: the
/// heap 52.7 MiB against 59.3, SQLite's own share 4.2 MB against 9.7; the lists' timings within the run's noise.
pub const PAGE_CACHE_KIB: i64 = 256;

/// Prepared statements each SQLite connection of the pool keeps (sqlx's default is 100). A page of the web app
/// sends a handful of statements; most of the rest are the usage writer's multi-row upserts, one statement per
/// batch size, each large once prepared and rarely seen again.
const STATEMENTS_KEPT: usize = 16;

/// Memory a SQLite connection of the pool may keep in prepared statements; one going back to the pool with more
/// drops them all (the next use prepares again what it needs). The usage and last-use writers' multi-row
/// statements are large programs once prepared (a 500-row upsert ~230 KB), and each write may take any connection:
/// by hand on the bench's 1,000,000-token database, the minute's write of 100,000 tokens in use left SQLite holding
/// 10.7 MB instead of 4.3 for as long as the server ran (issue 17: resident memory with 100,000 tokens in use).
/// Connections serving the web app and the APIs keep less than this with all their [`STATEMENTS_KEPT`] prepared
/// (the integration suite: median 73 KB, 99th percentile 131 KB, at most 165 KB).
const STATEMENT_BYTES_KEPT: i32 = 192 * 1024;

/// Opens the database named by `url` and brings its schema up to date.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, DEFAULT_POOL_SIZE).await
}

/// [`connect`] with at most `pool_size` connections to PostgreSQL.
///
/// SQLite gets WAL (readers never wait for the writer, so the CLI can run beside the server) with full
/// synchronisation, enforced foreign keys and a busy timeout; the file and its folder are created when missing.
pub async fn connect_with(url: &str, pool_size: u32) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false);
    if url.starts_with("sqlite:") {
        create_parent_dir(url)?;
        // An in-memory database lives in one connection; a file is shared by several.
        let pool_size = if url.contains(":memory:") { 1 } else { 8 };
        options.max_connections(pool_size).map_sqlx_sqlite_opts(|opts| {
            opts.create_if_missing(true)
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                // FULL: a commit is on disk before it is acknowledged, so an acknowledged revocation survives a
                // power cut too (NORMAL would keep the database intact but could lose the last commits).
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5))
                .pragma("cache_size", format!("-{PAGE_CACHE_KIB}"))
                .statement_cache_capacity(STATEMENTS_KEPT)
        });
        options.map_sqlx_sqlite_pool_opts(|pool| pool.after_release(|conn, _| Box::pin(back_to_the_pool(conn))));
    } else {
        options.max_connections(pool_size);
    }
    let db = Database::connect(options).await?;
    if let Err(err) = migrate(&db).await {
        let _ = db.close().await;
        return Err(err);
    }
    Ok(db)
}

/// Whether a SQLite connection going back to the pool is kept: only when it is out of any transaction
/// ([`leaves_nothing_open`]). One holding more than [`STATEMENT_BYTES_KEPT`] in prepared statements drops them.
async fn back_to_the_pool(conn: &mut sea_orm::sqlx::SqliteConnection) -> Result<bool, sea_orm::sqlx::Error> {
    use sea_orm::sqlx::Connection;
    let (keep, prepared) = leaves_nothing_open(conn).await?;
    if keep && prepared > STATEMENT_BYTES_KEPT {
        conn.clear_cached_statements().await?;
    }
    Ok(keep)
}

/// Whether a SQLite connection going back to the pool is out of any transaction, in SQLite's eyes and in
/// sqlx's, and the memory its prepared statements take. One that is not is closed instead of kept (closing rolls
/// back whatever it holds). A commit that fails with `SQLITE_FULL` (a full disk) may have been rolled back by
/// SQLite already; sqlx's rollback then fails, and it keeps counting the connection as inside a transaction, so
/// its next "begin" is a `SAVEPOINT` and that transaction's rollback (`ROLLBACK TO`) leaves it open, holding the
/// write lock: every other writer then got "database is locked" once the disk had room again (the disk-full test
/// caught it under load).
async fn leaves_nothing_open(conn: &mut sea_orm::sqlx::SqliteConnection) -> Result<(bool, i32), sea_orm::sqlx::Error> {
    use sea_orm::sqlx::Connection;
    // Waits for whatever the connection's worker still has queued (a rollback of a dropped transaction) first.
    let mut handle = conn.lock_handle().await?;
    let raw = handle.as_raw_handle().as_ptr();
    // SAFETY: the handle is locked for this call, and `sqlite3_get_autocommit` only reads the connection's state.
    let autocommit = unsafe { rusqlite::ffi::sqlite3_get_autocommit(raw) } != 0;
    // SAFETY: as above.
    let prepared = unsafe { statement_bytes(raw) };
    drop(handle);
    Ok((autocommit && !conn.is_in_transaction(), prepared))
}

/// The memory the prepared statements of the connection `raw` take.
///
/// # Safety
/// `raw` is an open connection no other thread uses during the call (its sqlx handle locked).
unsafe fn statement_bytes(raw: *mut rusqlite::ffi::sqlite3) -> i32 {
    let (mut bytes, mut highest) = (0, 0);
    // SAFETY: the caller's; `sqlite3_db_status` only reads one of the connection's counters into the two integers.
    unsafe {
        rusqlite::ffi::sqlite3_db_status(raw, rusqlite::ffi::SQLITE_DBSTATUS_STMT_USED, &mut bytes, &mut highest, 0)
    };
    bytes
}

/// Brings the schema up to date, exactly once however many instances start together: on PostgreSQL under an
/// advisory lock held by one connection while the migrations run (the others wait, then find nothing to do); on
/// SQLite the database's write lock serialises them. A database upgraded by a newer Tessera is refused first.
async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    use sea_orm::{ConnectionTrait, DatabaseBackend, TransactionTrait};
    /// Any constant will do, as long as only this code takes it.
    const MIGRATIONS: i64 = 0x7465_7373_6572_6102;
    let guard = match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let txn = db.begin().await?;
            txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATIONS})")).await?;
            Some(txn)
        }
        _ => None,
    };
    let migrated = match refuse_newer_schema(db).await {
        Ok(()) => migrations::Migrator::up(db, None).await,
        Err(err) => Err(err),
    };
    // Ended explicitly either way (`finish`): a transaction merely dropped would hold the lock against every other
    // instance until its connection is next used.
    match guard {
        Some(txn) => finish(txn, migrated).await,
        None => migrated,
    }
}

/// Refuses a database holding a migration this binary does not know: a newer Tessera upgraded it, and an older
/// one must not write to a schema it does not understand.
async fn refuse_newer_schema(db: &DatabaseConnection) -> Result<(), DbErr> {
    use sea_orm::{ConnectionTrait, Statement};
    use sea_orm_migration::SchemaManager;
    if !SchemaManager::new(db).has_table("seaql_migrations").await? {
        return Ok(());
    }
    let known = migrations::names();
    let applied = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT version FROM seaql_migrations"))
        .await?;
    for row in applied {
        let version: String = row.try_get("", "version")?;
        if !known.contains(&version) {
            return Err(DbErr::Custom(format!(
                "this database was upgraded by a newer Tessera: it has schema migration “{version}”, which this \
                 version does not know. Run that newer version (or a later one) against it; this one changed nothing."
            )));
        }
    }
    Ok(())
}

/// Creates the folder of a SQLite file URL (0700) and the empty file itself (0600) when missing: whoever can
/// read the database can read every hash in it, and whoever can write it can grant anything. SQLite gives its
/// `-wal` and `-shm` files the database file's permissions.
fn create_parent_dir(url: &str) -> Result<(), DbErr> {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//").split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    let path = std::path::Path::new(path);
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty() && !dir.exists()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .map_err(|e| DbErr::Custom(format!("cannot create the database folder {}: {e}", dir.display())))?;
    }
    if !path.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(_) => {}
            // Another process created it meanwhile: fine.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(DbErr::Custom(format!("cannot create the database file {}: {e}", path.display()))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sqlx::{self, Connection as _, Sqlite, pool::PoolConnection};

    /// The memory the prepared statements of `conn` take.
    async fn held_statement_bytes(conn: &mut PoolConnection<Sqlite>) -> i32 {
        let mut handle = conn.lock_handle().await.unwrap();
        // SAFETY: the handle is locked for the call.
        unsafe { statement_bytes(handle.as_raw_handle().as_ptr()) }
    }

    /// A 500-row upsert, the shape of the usage writer's largest statements.
    async fn upsert_500_rows(conn: &mut sqlx::SqliteConnection) {
        let rows = vec!["(?, ?, ?, ?)"; 500].join(", ");
        let sql = format!(
            "INSERT INTO counted (token, hour, outcome, n) VALUES {rows} \
             ON CONFLICT (token, hour, outcome) DO UPDATE SET n = counted.n + excluded.n"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in 0..500_i64 {
            query = query.bind(row).bind(row * 3600).bind("accepted").bind(1_i64);
        }
        query.execute(conn).await.unwrap();
    }

    #[tokio::test]
    async fn a_connection_goes_back_to_the_pool_without_the_large_statements_it_prepared() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = connect(&url).await.unwrap();
        let pool = db.get_sqlite_connection_pool();
        sqlx::query("CREATE TABLE counted (token INTEGER, hour INTEGER, outcome TEXT, n INTEGER, PRIMARY KEY (token, hour, outcome))")
            .execute(pool)
            .await
            .unwrap();
        // Held, the connection keeps the statement prepared: more than a connection may take back to the pool.
        let mut held = pool.acquire().await.unwrap();
        upsert_500_rows(&mut held).await;
        let prepared = held_statement_bytes(&mut held).await;
        assert!(prepared > STATEMENT_BYTES_KEPT, "a 500-row upsert takes {prepared} bytes prepared");
        drop(held);
        // Back in the pool it has dropped them. (One more call through the pool, as the app makes them.)
        sqlx::query("SELECT count(*) FROM counted").fetch_one(pool).await.unwrap();
        // Every connection back in the pool (a release goes through the hook in the background).
        for _ in 0..500 {
            if pool.num_idle() == pool.size() as usize {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(pool.num_idle(), pool.size() as usize);
        let mut idle = Vec::new();
        while let Some(conn) = pool.try_acquire() {
            idle.push(conn);
        }
        assert_eq!(idle.len(), pool.size() as usize);
        for conn in &mut idle {
            let bytes = held_statement_bytes(conn).await;
            assert!(bytes <= STATEMENT_BYTES_KEPT, "a connection in the pool holds {bytes} bytes of statements");
        }
        assert!(idle[0].cached_statements_size() <= STATEMENTS_KEPT);
    }
}
