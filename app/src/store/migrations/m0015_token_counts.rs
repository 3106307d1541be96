//! Each account's token counts kept beside its tokens (issue 17): a list page shows "N tokens" and the nullable
//! orders (expiry) split the list into its "never" and dated runs by their sizes, and counting an account's
//! 100,000 tokens walks 100,000 index entries (5-9 ms on SQLite, the larger part of a first page's time). Now
//! `token_counts` holds, per account, how many tokens it has and how many of them never expire, kept by
//! triggers in the same transaction as every insert, delete, and change of a token's account or expiry, on
//! SQLite and PostgreSQL alike, so no code path (the services, the command line, a leak report, an account
//! deleted with its tokens) can leave them wrong. A search or a filter still counts what it matches.
//!
//! On PostgreSQL the insert and delete triggers run once per statement and update the accounts' rows in account
//! order: two transactions deleting tokens of the same accounts (a leak report, a revoke) take the rows' locks
//! in the same order and never deadlock. Changes of expiry come one token at a time (a row trigger).
//!
//! Last use is not counted here: it changes all the time (a token's first use), on every instance at once.

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "CREATE TABLE IF NOT EXISTS token_counts (\
    account_id BIGINT NOT NULL PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE, \
    tokens BIGINT NOT NULL, \
    never_expire BIGINT NOT NULL)";

const FILL: &str = "INSERT INTO token_counts (account_id, tokens, never_expire) \
    SELECT account_id, COUNT(*), SUM(CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END) FROM tokens \
    GROUP BY account_id";

const SQLITE: [&str; 3] = [
    "CREATE TRIGGER IF NOT EXISTS tokens_insert_counts AFTER INSERT ON tokens BEGIN \
     INSERT INTO token_counts (account_id, tokens, never_expire) \
     VALUES (new.account_id, 1, new.expires_at IS NULL) \
     ON CONFLICT (account_id) DO UPDATE SET tokens = tokens + 1, never_expire = never_expire + excluded.never_expire; \
     END",
    "CREATE TRIGGER IF NOT EXISTS tokens_delete_counts AFTER DELETE ON tokens BEGIN \
     UPDATE token_counts SET tokens = tokens - 1, never_expire = never_expire - (old.expires_at IS NULL) \
     WHERE account_id = old.account_id; \
     END",
    "CREATE TRIGGER IF NOT EXISTS tokens_update_counts AFTER UPDATE OF account_id, expires_at ON tokens \
     WHEN old.account_id IS NOT new.account_id OR (old.expires_at IS NULL) IS NOT (new.expires_at IS NULL) BEGIN \
     UPDATE token_counts SET tokens = tokens - 1, never_expire = never_expire - (old.expires_at IS NULL) \
     WHERE account_id = old.account_id; \
     INSERT INTO token_counts (account_id, tokens, never_expire) \
     VALUES (new.account_id, 1, new.expires_at IS NULL) \
     ON CONFLICT (account_id) DO UPDATE SET tokens = tokens + 1, never_expire = never_expire + excluded.never_expire; \
     END",
];

const POSTGRES: [&str; 6] = [
    "CREATE OR REPLACE FUNCTION tessera_count_inserted_tokens() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
     INSERT INTO token_counts (account_id, tokens, never_expire) \
     SELECT account_id, COUNT(*), COUNT(*) FILTER (WHERE expires_at IS NULL) FROM added \
     GROUP BY account_id ORDER BY account_id \
     ON CONFLICT (account_id) DO UPDATE SET tokens = token_counts.tokens + excluded.tokens, \
     never_expire = token_counts.never_expire + excluded.never_expire; \
     RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION tessera_count_deleted_tokens() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
     PERFORM 1 FROM token_counts WHERE account_id IN (SELECT account_id FROM removed) \
     ORDER BY account_id FOR UPDATE; \
     UPDATE token_counts c SET tokens = c.tokens - d.tokens, never_expire = c.never_expire - d.never_expire \
     FROM (SELECT account_id, COUNT(*) AS tokens, COUNT(*) FILTER (WHERE expires_at IS NULL) AS never_expire \
     FROM removed GROUP BY account_id) d \
     WHERE c.account_id = d.account_id; \
     RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION tessera_count_moved_token() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
     UPDATE token_counts SET tokens = tokens - 1, \
     never_expire = never_expire - CASE WHEN OLD.expires_at IS NULL THEN 1 ELSE 0 END \
     WHERE account_id = OLD.account_id; \
     INSERT INTO token_counts (account_id, tokens, never_expire) \
     VALUES (NEW.account_id, 1, CASE WHEN NEW.expires_at IS NULL THEN 1 ELSE 0 END) \
     ON CONFLICT (account_id) DO UPDATE SET tokens = token_counts.tokens + 1, \
     never_expire = token_counts.never_expire + excluded.never_expire; \
     RETURN NULL; END $$",
    "CREATE TRIGGER tokens_insert_counts AFTER INSERT ON tokens REFERENCING NEW TABLE AS added \
     FOR EACH STATEMENT EXECUTE FUNCTION tessera_count_inserted_tokens()",
    "CREATE TRIGGER tokens_delete_counts AFTER DELETE ON tokens REFERENCING OLD TABLE AS removed \
     FOR EACH STATEMENT EXECUTE FUNCTION tessera_count_deleted_tokens()",
    "CREATE TRIGGER tokens_update_counts AFTER UPDATE OF account_id, expires_at ON tokens FOR EACH ROW \
     WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id \
     OR (OLD.expires_at IS NULL) IS DISTINCT FROM (NEW.expires_at IS NULL)) \
     EXECUTE FUNCTION tessera_count_moved_token()",
];

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let triggers: &[&str] =
            if manager.get_database_backend() == DatabaseBackend::Postgres { &POSTGRES } else { &SQLITE };
        for statement in [TABLE, FILL].iter().chain(triggers) {
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

    /// A database that already holds tokens when it is upgraded gets their counts; an account without tokens
    /// gets no row (it counts as zero).
    #[tokio::test]
    async fn the_upgrade_counts_the_tokens_already_there() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        Migrator::up(&db, Some(14)).await.unwrap();
        for sql in [
            "INSERT INTO accounts (id, username, username_key, password_hash, privileges, created_at, updated_at) \
             VALUES (1, 'a', 'a', 'x', '', '2026-01-01', '2026-01-01'), (2, 'b', 'b', 'x', '', '2026-01-01', '2026-01-01'), \
             (3, 'c', 'c', 'x', '', '2026-01-01', '2026-01-01')",
            "INSERT INTO tokens (account_id, name, name_key, secret_hash, hint, created_at, expires_at, privileges) \
             VALUES (1, 'x', 'x', 'h1', '', '2026-01-01', NULL, ''), (1, 'y', 'y', 'h2', '', '2026-01-01', '2027-01-01', ''), \
             (1, 'z', 'z', 'h3', '', '2026-01-01', NULL, ''), (2, 'w', 'w', 'h4', '', '2026-01-01', '2027-01-01', '')",
        ] {
            db.execute_unprepared(sql).await.unwrap();
        }
        Migrator::up(&db, None).await.unwrap();
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT account_id, tokens, never_expire FROM token_counts ORDER BY account_id",
            ))
            .await
            .unwrap();
        let counts: Vec<(i64, i64, i64)> = rows
            .iter()
            .map(|row| {
                let get = |column| row.try_get::<i64>("", column).unwrap();
                (get("account_id"), get("tokens"), get("never_expire"))
            })
            .collect();
        assert_eq!(counts, vec![(1, 3, 2), (2, 1, 0)]);
    }
}
