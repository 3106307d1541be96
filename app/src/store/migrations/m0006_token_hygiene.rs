//! Token hygiene (issue 14): leaked tokens revoked on a report (kept so that the owner sees a banner naming the
//! token and where it was found until dismissed); each account's contact e-mail; the expiry warnings claimed (one
//! per token, stage and expiry, whichever instance claims it first); webhook endpoints; and the deliveries
//! outbox (webhook calls and e-mails, retried until delivered, surviving restarts).

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

#[derive(DeriveIden)]
enum Tokens {
    Table,
    Id,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum AccountContacts {
    Table,
    AccountId,
    Email,
}

#[derive(DeriveIden)]
enum ExpiryWarnings {
    Table,
    TokenId,
    Stage,
    ExpiresAt,
    ClaimedAt,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    Url,
    Secret,
    Events,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Id,
    EndpointId,
    Recipient,
    EventType,
    MessageId,
    Payload,
    CreatedAt,
    Attempts,
    NextAttemptAt,
    Status,
    LastStatusCode,
    LastError,
    DeliveredAt,
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
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AccountContacts::Table)
                    .if_not_exists()
                    .col(big_integer(AccountContacts::AccountId).primary_key())
                    .col(string(AccountContacts::Email))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AccountContacts::Table, AccountContacts::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ExpiryWarnings::Table)
                    .if_not_exists()
                    .col(big_integer(ExpiryWarnings::TokenId))
                    // `30d`, `7d`, `1d` or `expired`.
                    .col(string(ExpiryWarnings::Stage))
                    // The expiry warned about: a token given a new expiry is warned again.
                    .col(timestamp_with_time_zone(ExpiryWarnings::ExpiresAt))
                    .col(timestamp_with_time_zone(ExpiryWarnings::ClaimedAt))
                    .primary_key(
                        Index::create()
                            .col(ExpiryWarnings::TokenId)
                            .col(ExpiryWarnings::Stage)
                            .col(ExpiryWarnings::ExpiresAt),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ExpiryWarnings::Table, ExpiryWarnings::TokenId)
                            .to(Tokens::Table, Tokens::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .if_not_exists()
                    .col(big_pk_auto(WebhookEndpoints::Id))
                    .col(string(WebhookEndpoints::Url))
                    // The signing secret (`whsec_…`): needed in clear to sign, like any HMAC key. It opens nothing.
                    .col(string(WebhookEndpoints::Secret))
                    // Space-separated event types.
                    .col(string(WebhookEndpoints::Events))
                    .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Deliveries::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Deliveries::Id))
                    // A webhook call (to this endpoint) or, without one, an e-mail to `recipient`.
                    .col(big_integer_null(Deliveries::EndpointId))
                    .col(string_null(Deliveries::Recipient))
                    .col(string(Deliveries::EventType))
                    // `msg_…`: the same on every attempt, so receivers can drop duplicates.
                    .col(string(Deliveries::MessageId))
                    .col(text(Deliveries::Payload))
                    .col(timestamp_with_time_zone(Deliveries::CreatedAt))
                    .col(integer(Deliveries::Attempts))
                    .col(timestamp_with_time_zone_null(Deliveries::NextAttemptAt))
                    // `pending`, `delivered` or `failed`.
                    .col(string(Deliveries::Status))
                    .col(integer_null(Deliveries::LastStatusCode))
                    .col(string_null(Deliveries::LastError))
                    .col(timestamp_with_time_zone_null(Deliveries::DeliveredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Deliveries::Table, Deliveries::EndpointId)
                            .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The expiry scan looks for tokens by expiry across all accounts, every few seconds.
        manager
            .create_index(
                Index::create().name("idx_tokens_expires_at").table(Tokens::Table).col(Tokens::ExpiresAt).to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("idx_deliveries_due", vec![Deliveries::Status, Deliveries::NextAttemptAt]),
            ("idx_deliveries_endpoint", vec![Deliveries::EndpointId, Deliveries::Id]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Deliveries::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }
}
