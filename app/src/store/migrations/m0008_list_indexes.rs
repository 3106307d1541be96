//! Listing at scale (issue 17): one account's tokens in every order the table offers, from an index instead of a
//! sort of all its rows. Each index leads with the account, then the sort column and the id (the tie-breaker of
//! every order), and carries `name_key`, so a search filters inside the index without reading the rows it skips.
//! `store::tokens::page` reads nullable columns (expiry, last use) as two runs, the "never" rows and the dated
//! ones, so each run is one walk of these indexes in either direction on SQLite and PostgreSQL alike.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tokens {
    Table,
    Id,
    AccountId,
    NameKey,
    CreatedAt,
    ExpiresAt,
    LastUsedAt,
}

const INDEXES: [(&str, Tokens); 3] = [
    ("idx_tokens_account_created", Tokens::CreatedAt),
    ("idx_tokens_account_expires", Tokens::ExpiresAt),
    ("idx_tokens_account_last_used", Tokens::LastUsedAt),
];

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, column) in INDEXES {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Tokens::Table)
                        .col(Tokens::AccountId)
                        .col(column)
                        .col(Tokens::Id)
                        .col(Tokens::NameKey)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES {
            manager.drop_index(Index::drop().name(name).table(Tokens::Table).to_owned()).await?;
        }
        Ok(())
    }
}
