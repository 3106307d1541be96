//! A change counter for each account's token names (issue 17): `token_counts.changes` moves on, in the same
//! transaction, with every insert and delete of the account's tokens and every change of a token's name, account
//! or creation time, on SQLite and PostgreSQL alike, from triggers, so no code path (the services, the command
//! line, another instance, a leak report, the expiry sweep) can miss it. The search of a big account's names in
//! memory (`store::name_index`) trusts the names it holds only while this number stands still.
//!
//! The triggers are separate from m0015's, which keep the counts. On PostgreSQL triggers on one event fire in the
//! order of their names, so these (`…_names`) run after m0015's (`…_counts`), which have already locked the same
//! accounts' rows in account order: bumping them takes no new lock and cannot deadlock.

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMN: &str = "ALTER TABLE token_counts ADD COLUMN changes BIGINT NOT NULL DEFAULT 0";

/// The columns whose change the counter follows: what the names in memory hold and are ordered by.
const WATCHED: &str = "account_id, name_key, created_at";

const SQLITE: [&str; 3] = [
    "CREATE TRIGGER IF NOT EXISTS tokens_insert_names AFTER INSERT ON tokens BEGIN \
     UPDATE token_counts SET changes = changes + 1 WHERE account_id = new.account_id; \
     END",
    "CREATE TRIGGER IF NOT EXISTS tokens_delete_names AFTER DELETE ON tokens BEGIN \
     UPDATE token_counts SET changes = changes + 1 WHERE account_id = old.account_id; \
     END",
    "CREATE TRIGGER IF NOT EXISTS tokens_update_names AFTER UPDATE OF {WATCHED} ON tokens \
     WHEN old.account_id IS NOT new.account_id OR old.name_key IS NOT new.name_key \
     OR old.created_at IS NOT new.created_at BEGIN \
     UPDATE token_counts SET changes = changes + 1 WHERE account_id IN (old.account_id, new.account_id); \
     END",
];

const POSTGRES: [&str; 6] = [
    "CREATE OR REPLACE FUNCTION tessera_token_names_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
     UPDATE token_counts SET changes = changes + 1 WHERE account_id IN (SELECT account_id FROM added); \
     RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION tessera_token_names_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
     UPDATE token_counts SET changes = changes + 1 WHERE account_id IN (SELECT account_id FROM removed); \
     RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION tessera_token_name_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
     UPDATE token_counts SET changes = changes + 1 WHERE account_id IN (OLD.account_id, NEW.account_id); \
     RETURN NULL; END $$",
    "CREATE TRIGGER tokens_insert_names AFTER INSERT ON tokens REFERENCING NEW TABLE AS added \
     FOR EACH STATEMENT EXECUTE FUNCTION tessera_token_names_added()",
    "CREATE TRIGGER tokens_delete_names AFTER DELETE ON tokens REFERENCING OLD TABLE AS removed \
     FOR EACH STATEMENT EXECUTE FUNCTION tessera_token_names_removed()",
    "CREATE TRIGGER tokens_update_names AFTER UPDATE OF {WATCHED} ON tokens FOR EACH ROW \
     WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id OR OLD.name_key IS DISTINCT FROM NEW.name_key \
     OR OLD.created_at IS DISTINCT FROM NEW.created_at) \
     EXECUTE FUNCTION tessera_token_name_changed()",
];

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let triggers: &[&str] =
            if manager.get_database_backend() == DatabaseBackend::Postgres { &POSTGRES } else { &SQLITE };
        db.execute_unprepared(COLUMN).await?;
        for statement in triggers {
            db.execute_unprepared(&statement.replace("{WATCHED}", WATCHED)).await?;
        }
        Ok(())
    }
}
