//! Usage (issue 15): verification outcomes counted per token, hour and outcome (written in batches, never one
//! row per request), the addresses each token was used from (first and last seen), and an optional rate limit
//! per token.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

/// Token columns added here whose change alters a verification's answer: they bump SQLite's generation and
/// notify PostgreSQL's listeners like those of m0003 (a test compares every column with these lists).
pub const WATCHED_TOKEN_COLUMNS: &[&str] = &["rate_limit"];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tokens {
    Table,
    Id,
    RateLimit,
}

#[derive(DeriveIden)]
enum TokenUsage {
    Table,
    TokenId,
    Hour,
    Outcome,
    Count,
}

#[derive(DeriveIden)]
enum TokenAddresses {
    Table,
    TokenId,
    Ip,
    FirstSeen,
    LastSeen,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TokenUsage::Table)
                    .if_not_exists()
                    .col(big_integer(TokenUsage::TokenId))
                    // The start of the hour (UTC).
                    .col(timestamp_with_time_zone(TokenUsage::Hour))
                    // `accepted`, `expired`, `suspended`, `address`, `privilege` or `rate_limited`.
                    .col(string(TokenUsage::Outcome))
                    .col(big_integer(TokenUsage::Count))
                    .primary_key(
                        Index::create().col(TokenUsage::TokenId).col(TokenUsage::Hour).col(TokenUsage::Outcome),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(TokenUsage::Table, TokenUsage::TokenId)
                            .to(Tokens::Table, Tokens::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Pruning by age, and the admin's busiest tokens over a period.
        manager
            .create_index(
                Index::create().name("idx_token_usage_hour").table(TokenUsage::Table).col(TokenUsage::Hour).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TokenAddresses::Table)
                    .if_not_exists()
                    .col(big_integer(TokenAddresses::TokenId))
                    .col(string(TokenAddresses::Ip))
                    .col(timestamp_with_time_zone(TokenAddresses::FirstSeen))
                    .col(timestamp_with_time_zone(TokenAddresses::LastSeen))
                    .primary_key(Index::create().col(TokenAddresses::TokenId).col(TokenAddresses::Ip))
                    .foreign_key(
                        ForeignKey::create()
                            .from(TokenAddresses::Table, TokenAddresses::TokenId)
                            .to(Tokens::Table, Tokens::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_token_addresses_last_seen")
                    .table(TokenAddresses::Table)
                    .col(TokenAddresses::TokenId)
                    .col(TokenAddresses::LastSeen)
                    .to_owned(),
            )
            .await?;
        // `N/second`, `N/minute` or `N/hour`; none: unlimited.
        manager
            .alter_table(Table::alter().table(Tokens::Table).add_column(string_null(Tokens::RateLimit)).to_owned())
            .await?;
        let columns = WATCHED_TOKEN_COLUMNS.join(", ");
        let trigger = match manager.get_database_backend() {
            DatabaseBackend::Sqlite => format!(
                "CREATE TRIGGER IF NOT EXISTS tokens_update_bumps_m0007 AFTER UPDATE OF {columns} ON tokens BEGIN \
                 UPDATE verification_generation SET value = value + 1 WHERE id = 1; END"
            ),
            DatabaseBackend::Postgres => format!(
                "CREATE TRIGGER tokens_update_notifies_m0007 AFTER UPDATE OF {columns} ON tokens \
                 FOR EACH STATEMENT EXECUTE FUNCTION tessera_notify_verification()"
            ),
            _ => return Ok(()),
        };
        manager.get_connection().execute_unprepared(&trigger).await.map(drop)
    }
}
