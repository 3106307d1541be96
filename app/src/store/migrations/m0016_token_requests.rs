//! The calls in the tokens table's window ("Requests (30 d)", m0014) move out of the tokens' rows into a narrow
//! table of their own, `token_requests` (issue 15's cost): the usage writer adds to every token used in the last
//! minute, and each such add rewrote the token's whole row (its hashes, privileges, allowlist) and moved an
//! entry of a five-column index. For 10,000 tokens used in a minute that was ~120 ms of CPU and 24 MB of
//! write-ahead log on SQLite every minute (a new row version per token on PostgreSQL); the same adds to a
//! narrow table take ~25 ms and 3 MB. A token's row now changes only when the token does (and its last use).
//!
//! Each token has its row from its insert on (a trigger, so no code path can miss one), with its account kept
//! beside it by a trigger when the token moves, so one account's tokens sort by their calls from one index on
//! (account, requests, token) like the other orders. Deleting a token deletes its row (a foreign key).

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// On SQLite an `INTEGER PRIMARY KEY` is the row's own key: an add finds the row without a second index.
const SQLITE_TABLE: &str = "CREATE TABLE IF NOT EXISTS token_requests (\
    token_id INTEGER NOT NULL PRIMARY KEY REFERENCES tokens (id) ON DELETE CASCADE, \
    account_id BIGINT NOT NULL, \
    requests BIGINT NOT NULL DEFAULT 0)";

const POSTGRES_TABLE: &str = "CREATE TABLE IF NOT EXISTS token_requests (\
    token_id BIGINT NOT NULL PRIMARY KEY REFERENCES tokens (id) ON DELETE CASCADE, \
    account_id BIGINT NOT NULL, \
    requests BIGINT NOT NULL DEFAULT 0)";

const FILL: &str = "INSERT INTO token_requests (token_id, account_id, requests) \
    SELECT id, account_id, requests_30d FROM tokens";

const INDEX: &str =
    "CREATE INDEX IF NOT EXISTS idx_token_requests_account ON token_requests (account_id, requests, token_id)";

const SQLITE_TRIGGERS: [&str; 2] = [
    "CREATE TRIGGER IF NOT EXISTS tokens_insert_requests AFTER INSERT ON tokens BEGIN \
     INSERT INTO token_requests (token_id, account_id, requests) VALUES (new.id, new.account_id, 0); \
     END",
    "CREATE TRIGGER IF NOT EXISTS tokens_move_requests AFTER UPDATE OF account_id ON tokens \
     WHEN old.account_id IS NOT new.account_id BEGIN \
     UPDATE token_requests SET account_id = new.account_id WHERE token_id = new.id; \
     END",
];

/// Inserts once per statement (a bulk insert is one insert here too); a move is one token at a time.
const POSTGRES_TRIGGERS: [&str; 4] = [
    "CREATE OR REPLACE FUNCTION tessera_add_token_requests() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
     INSERT INTO token_requests (token_id, account_id, requests) SELECT id, account_id, 0 FROM added; \
     RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION tessera_move_token_requests() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
     UPDATE token_requests SET account_id = NEW.account_id WHERE token_id = NEW.id; \
     RETURN NULL; END $$",
    "CREATE TRIGGER tokens_insert_requests AFTER INSERT ON tokens REFERENCING NEW TABLE AS added \
     FOR EACH STATEMENT EXECUTE FUNCTION tessera_add_token_requests()",
    "CREATE TRIGGER tokens_move_requests AFTER UPDATE OF account_id ON tokens FOR EACH ROW \
     WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id) EXECUTE FUNCTION tessera_move_token_requests()",
];

/// The column and its index leave the tokens' rows (on SQLite the index first: a column in an index cannot go).
const DROP: [&str; 2] =
    ["DROP INDEX IF EXISTS idx_tokens_account_requests", "ALTER TABLE tokens DROP COLUMN requests_30d"];

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let (table, triggers): (&str, &[&str]) = if manager.get_database_backend() == DatabaseBackend::Postgres {
            (POSTGRES_TABLE, &POSTGRES_TRIGGERS)
        } else {
            (SQLITE_TABLE, &SQLITE_TRIGGERS)
        };
        for statement in [table, FILL, INDEX].iter().chain(triggers).chain(&DROP) {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Migrator;
    use sea_orm::{ConnectionTrait, Database, Statement};
    use sea_orm_migration::MigratorTrait;

    async fn rows(db: &impl ConnectionTrait, sql: &str) -> Vec<(i64, i64, i64)> {
        let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
        rows.iter()
            .map(|row| {
                let get = |i: usize| row.try_get_by_index::<i64>(i).unwrap();
                (get(0), get(1), get(2))
            })
            .collect()
    }

    /// A database upgraded with tokens in it keeps each token's calls (now in `token_requests`), the tokens lose
    /// the column, and tokens created, moved and deleted afterwards keep their rows right.
    #[tokio::test]
    async fn the_upgrade_keeps_each_tokens_calls_and_new_tokens_get_their_row() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        Migrator::up(&db, Some(15)).await.unwrap();
        for sql in [
            "INSERT INTO accounts (id, username, username_key, password_hash, privileges, created_at, updated_at) \
             VALUES (1, 'a', 'a', 'x', '', '2026-01-01', '2026-01-01'), \
             (2, 'b', 'b', 'x', '', '2026-01-01', '2026-01-01')",
            "INSERT INTO tokens \
             (id, account_id, name, name_key, secret_hash, hint, created_at, privileges, requests_30d) \
             VALUES (1, 1, 'x', 'x', 'h1', '', '2026-01-01', '', 12), (2, 1, 'y', 'y', 'h2', '', '2026-01-01', '', 0), \
             (3, 2, 'z', 'z', 'h3', '', '2026-01-01', '', 7)",
        ] {
            db.execute_unprepared(sql).await.unwrap();
        }
        Migrator::up(&db, None).await.unwrap();
        let all = "SELECT token_id, account_id, requests FROM token_requests ORDER BY token_id";
        assert_eq!(rows(&db, all).await, vec![(1, 1, 12), (2, 1, 0), (3, 2, 7)]);
        let columns = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT name FROM pragma_table_info('tokens') WHERE name = 'requests_30d'",
            ))
            .await
            .unwrap();
        assert!(columns.is_empty(), "the column left the tokens' rows");

        for sql in [
            "INSERT INTO tokens (id, account_id, name, name_key, secret_hash, hint, created_at, privileges) \
             VALUES (4, 2, 'w', 'w', 'h4', '', '2026-01-01', '')",
            "UPDATE tokens SET account_id = 2 WHERE id = 1",
            "DELETE FROM tokens WHERE id = 2",
        ] {
            db.execute_unprepared(sql).await.unwrap();
        }
        assert_eq!(rows(&db, all).await, vec![(1, 2, 12), (3, 2, 7), (4, 2, 0)]);
    }
}
