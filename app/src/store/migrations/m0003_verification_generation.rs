//! The verification generation (SQLite only): one counter that triggers bump in the same transaction as every
//! change that can alter a token verification's answer (a token revoked, rotated, edited; its owner renamed,
//! suspended, given other privileges, deleted). The fast token reader (`store::token_reader`) keeps verified
//! rows in memory only while this counter stands still, so any such change, by this process or another one
//! (the CLI, a second instance), reaches the requests that start a millisecond after it (this process's own
//! changes also tell the reader at once). "Last used" writes do not bump it: they happen
//! all the time and decide nothing.
//!
//! PostgreSQL verifies through SeaORM with no cache, so it needs none of this.

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Token columns whose change bumps the generation: every column but the last-use ones. A test compares this
/// with the table, so a new column cannot be forgotten.
pub const TOKEN_COLUMNS: &[&str] = &[
    "id",
    "account_id",
    "name",
    "name_key",
    "secret_hash",
    "hint",
    "created_at",
    "expires_at",
    "allowlist",
    "privileges",
    "previous_secret_hash",
    "previous_valid_until",
];

/// Token columns that change without bumping the generation (the last use). The calls counted in the tokens
/// table's window were one from m0014 to m0016, which moved them to a table of their own.
pub const TOKEN_COLUMNS_NOT_WATCHED: &[&str] = &["last_used_at", "last_used_ip"];

const BUMP: &str = "UPDATE verification_generation SET value = value + 1 WHERE id = 1;";

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Sqlite {
            return Ok(());
        }
        let db = manager.get_connection();
        let columns = TOKEN_COLUMNS.join(", ");
        for statement in [
            "CREATE TABLE IF NOT EXISTS verification_generation \
             (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL)"
                .to_owned(),
            "INSERT OR IGNORE INTO verification_generation (id, value) VALUES (1, 0)".to_owned(),
            format!(
                "CREATE TRIGGER IF NOT EXISTS tokens_update_bumps AFTER UPDATE OF {columns} ON tokens BEGIN {BUMP} END"
            ),
            format!("CREATE TRIGGER IF NOT EXISTS tokens_delete_bumps AFTER DELETE ON tokens BEGIN {BUMP} END"),
            // Accounts change rarely: any update counts (name, privileges, suspension, password).
            format!("CREATE TRIGGER IF NOT EXISTS accounts_update_bumps AFTER UPDATE ON accounts BEGIN {BUMP} END"),
            format!("CREATE TRIGGER IF NOT EXISTS accounts_delete_bumps AFTER DELETE ON accounts BEGIN {BUMP} END"),
        ] {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }
}
