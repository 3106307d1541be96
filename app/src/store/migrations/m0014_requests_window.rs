//! The tokens table's "Requests (30 d)" kept on each token (issue 17): sorting one account's 100,000 tokens by a
//! sum over their hourly counters took a correlated sub-query per token and a sort of them all (44 ms for the
//! first page, 460 ms for the last). Now each token carries its calls in the window (`requests_30d`): the usage
//! writer adds what it writes, and takes out the hours that leave the window as they leave it (`store::usage::
//! slide_window`); an index on (account, requests, id) walks it in either direction like the other orders.
//!
//! The window's start is a setting (`requests_window_start`), set by the first write after this migration from
//! the server's clock, not from the time of the migration: until then the column holds every counter kept.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tokens {
    Table,
    Id,
    AccountId,
    NameKey,
    #[sea_orm(iden = "requests_30d")]
    Requests30d,
}

const INDEX: &str = "idx_tokens_account_requests";

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Tokens::Table).add_column(big_integer(Tokens::Requests30d).default(0)).to_owned(),
            )
            .await?;
        // Every counter kept so far; the first write moves the window's start and takes out the older hours.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE tokens SET requests_30d = (SELECT CAST(COALESCE(SUM(u.count), 0) AS BIGINT) \
                 FROM token_usage u WHERE u.token_id = tokens.id) \
                 WHERE id IN (SELECT token_id FROM token_usage)",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Tokens::Table)
                    .col(Tokens::AccountId)
                    .col(Tokens::Requests30d)
                    .col(Tokens::Id)
                    .col(Tokens::NameKey)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(INDEX).table(Tokens::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Tokens::Table).drop_column(Tokens::Requests30d).to_owned()).await
    }
}
