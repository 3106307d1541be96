//! The store: SeaORM entities, migrations and the queries the services use. Server side only.

pub mod accounts;
pub mod audit;
pub mod entities;
pub mod migrations;
pub mod privileges;
pub mod sessions;
pub mod token_reader;
pub mod tokens;
mod wal_watch;

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr, RuntimeErr, sea_query::LikeExpr};
use sea_orm_migration::MigratorTrait;
use std::{future::Future, time::Duration};

/// Whether SQLite refused with "database is locked" (`SQLITE_BUSY` and its extended codes). A transaction that
/// read before writing can get this at once, whatever the busy timeout, when another connection (the CLI,
/// another request, the last-used writer) committed in between; running it again is the remedy.
pub fn is_busy(err: &DbErr) -> bool {
    sqlite_code(err).is_some_and(|code| code & 0xff == 5)
}

/// SQLite's (extended) result code behind a database error, if it is one.
fn sqlite_code(err: &DbErr) -> Option<u32> {
    let (DbErr::Query(RuntimeErr::SqlxError(err))
    | DbErr::Exec(RuntimeErr::SqlxError(err))
    | DbErr::Conn(RuntimeErr::SqlxError(err))) = err
    else {
        return None;
    };
    err.as_database_error().and_then(|e| e.code()).and_then(|code| code.parse::<u32>().ok())
}

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

/// Runs a transaction, again (up to six times, backing off from 10 ms) while SQLite answers [`is_busy`].
/// `run` must start its own transaction, so a retry starts from a fresh snapshot.
pub async fn retry_busy<T, Fut: Future<Output = Result<T, DbErr>>>(mut run: impl FnMut() -> Fut) -> Result<T, DbErr> {
    let mut delay = Duration::from_millis(10);
    for _ in 0..5 {
        match run().await {
            Err(err) if is_busy(&err) => {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            other => return other,
        }
    }
    run().await
}

/// A `LIKE` pattern matching `text` anywhere (`%text%`), or at the start (`text%`) when `prefix`. `%`, `_`
/// (a legal name character) and `\` in `text` match themselves.
pub(crate) fn like(text: &str, prefix: bool) -> LikeExpr {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    let pattern = if prefix { format!("{escaped}%") } else { format!("%{escaped}%") };
    LikeExpr::new(pattern).escape('\\')
}

/// The database used when none is configured: a SQLite file under `./data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/tessera.db";

/// Opens the database named by `url` and brings its schema up to date.
///
/// SQLite gets WAL (readers never wait for the writer, so the CLI can run beside the server), enforced foreign
/// keys and a busy timeout; the file and its folder are created when missing.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false);
    if url.starts_with("sqlite:") {
        create_parent_dir(url)?;
        // An in-memory database lives in one connection; a file is shared by several.
        let pool_size = if url.contains(":memory:") { 1 } else { 8 };
        options.max_connections(pool_size).map_sqlx_sqlite_opts(|opts| {
            opts.create_if_missing(true)
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5))
        });
    } else {
        options.max_connections(16);
    }
    // Opening beside a busy server (the CLI, another instance) can meet a lock for a moment: try again.
    let mut delay = Duration::from_millis(20);
    for _ in 0..6 {
        match open_and_migrate(options.clone()).await {
            Err(err) if is_transient(&err) => {
                tracing::debug!(error = %err, "the database is busy; opening it again");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            other => return other,
        }
    }
    open_and_migrate(options).await
}

async fn open_and_migrate(options: ConnectOptions) -> Result<DatabaseConnection, DbErr> {
    let db = Database::connect(options).await?;
    migrations::Migrator::up(&db, None).await?;
    Ok(db)
}

/// "Database is locked" or SQLite's "locking protocol" (`SQLITE_PROTOCOL`, which WAL readers report when the
/// WAL index keeps changing under them while they start): both pass when tried again.
fn is_transient(err: &DbErr) -> bool {
    is_busy(err) || sqlite_code(err).is_some_and(|code| code & 0xff == 15 || code & 0xff == 6)
}

/// Creates the folder of a SQLite file URL so `create_if_missing` can create the file itself.
fn create_parent_dir(url: &str) -> Result<(), DbErr> {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//").split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    match std::path::Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir)
            .map_err(|e| DbErr::Custom(format!("cannot create the database folder {}: {e}", dir.display()))),
        _ => Ok(()),
    }
}
