//! The PostgreSQL change feed (see `store::pg_changes`): triggers that `NOTIFY` every listening instance of any
//! change that can alter a token verification's answer, the same changes that bump SQLite's verification
//! generation (m0003), from the same column list. A notification is sent in the changing transaction, so it is
//! delivered on commit only (and never for a rolled-back change). "Last used" writes notify nobody.
//!
//! SQLite needs none of this: its feed is the generation of m0003.

use super::m0003_verification_generation::TOKEN_COLUMNS;
use crate::store::pg_changes::CHANNEL;
use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        let columns = TOKEN_COLUMNS.join(", ");
        for statement in [
            format!(
                "CREATE OR REPLACE FUNCTION tessera_notify_verification() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME); RETURN NULL; END $$"
            ),
            format!(
                "CREATE TRIGGER tokens_update_notifies AFTER UPDATE OF {columns} ON tokens \
                 FOR EACH STATEMENT EXECUTE FUNCTION tessera_notify_verification()"
            ),
            "CREATE TRIGGER tokens_delete_notifies AFTER DELETE ON tokens \
             FOR EACH STATEMENT EXECUTE FUNCTION tessera_notify_verification()"
                .to_owned(),
            // Accounts change rarely: any update counts (name, privileges, suspension, password).
            "CREATE TRIGGER accounts_change_notifies AFTER UPDATE OR DELETE ON accounts \
             FOR EACH STATEMENT EXECUTE FUNCTION tessera_notify_verification()"
                .to_owned(),
        ] {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }
}
