//! Leaked tokens (issue 14): each report of a live token that Tessera revoked, kept so that its owner sees a
//! banner naming the token and where it was found until they dismiss it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TokenLeaks {
    Table,
    Id,
    AccountId,
    TokenName,
    SecretHash,
    Url,
    Source,
    ReportedAt,
    DismissedAt,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TokenLeaks::Table)
                    .if_not_exists()
                    .col(big_pk_auto(TokenLeaks::Id))
                    .col(big_integer(TokenLeaks::AccountId))
                    .col(string(TokenLeaks::TokenName))
                    // The SHA-256 of the reported secret (never the secret), so a second report of it is known.
                    .col(string(TokenLeaks::SecretHash))
                    // Where the scanner found it (a URL) and what it scanned (e.g. "content", "commit").
                    .col(string_null(TokenLeaks::Url))
                    .col(string_null(TokenLeaks::Source))
                    .col(timestamp_with_time_zone(TokenLeaks::ReportedAt))
                    .col(timestamp_with_time_zone_null(TokenLeaks::DismissedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(TokenLeaks::Table, TokenLeaks::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_token_leaks_account")
                    .table(TokenLeaks::Table)
                    .col(TokenLeaks::AccountId)
                    .col(TokenLeaks::DismissedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_token_leaks_secret_hash")
                    .table(TokenLeaks::Table)
                    .col(TokenLeaks::SecretHash)
                    .to_owned(),
            )
            .await
    }
}
