//! The first schema: accounts, browser sessions, API tokens and the audit log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    Username,
    UsernameKey,
    PasswordHash,
    Privileges,
    Suspended,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    AccountId,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Tokens {
    Table,
    Id,
    AccountId,
    Name,
    NameKey,
    SecretHash,
    Hint,
    CreatedAt,
    ExpiresAt,
    Allowlist,
    Privileges,
    PreviousSecretHash,
    PreviousValidUntil,
    LastUsedAt,
    LastUsedIp,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    OccurredAt,
    ActorAccountId,
    ActorName,
    ViaToken,
    Action,
    Target,
    ClientIp,
    Outcome,
    Detail,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Accounts::Id))
                    .col(string(Accounts::Username))
                    // Lower-cased username: names are unique regardless of case.
                    .col(string_uniq(Accounts::UsernameKey))
                    .col(string(Accounts::PasswordHash))
                    .col(text(Accounts::Privileges))
                    .col(boolean(Accounts::Suspended).default(false))
                    .col(timestamp_with_time_zone(Accounts::CreatedAt))
                    .col(timestamp_with_time_zone(Accounts::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .if_not_exists()
                    // SHA-256 of the cookie value: a stolen database does not yield usable cookies.
                    .col(string(Sessions::Id).primary_key())
                    .col(big_integer(Sessions::AccountId))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::LastSeenAt))
                    .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sessions::Table, Sessions::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_sessions_account").table(Sessions::Table).col(Sessions::AccountId).to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Tokens::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Tokens::Id))
                    .col(big_integer(Tokens::AccountId))
                    .col(string(Tokens::Name))
                    .col(string(Tokens::NameKey))
                    // SHA-256 (hex) of the whole secret; the secret itself is never stored.
                    .col(string_uniq(Tokens::SecretHash))
                    .col(string(Tokens::Hint))
                    .col(timestamp_with_time_zone(Tokens::CreatedAt))
                    .col(timestamp_with_time_zone_null(Tokens::ExpiresAt))
                    .col(text(Tokens::Allowlist).default(""))
                    .col(text(Tokens::Privileges))
                    // The secret replaced by the last rotation, valid until `previous_valid_until`.
                    .col(string_null(Tokens::PreviousSecretHash).unique_key())
                    .col(timestamp_with_time_zone_null(Tokens::PreviousValidUntil))
                    .col(timestamp_with_time_zone_null(Tokens::LastUsedAt))
                    .col(string_null(Tokens::LastUsedIp))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Tokens::Table, Tokens::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tokens_account_name")
                    .table(Tokens::Table)
                    .col(Tokens::AccountId)
                    .col(Tokens::NameKey)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuditEvents::Id))
                    .col(timestamp_with_time_zone(AuditEvents::OccurredAt))
                    // No foreign key: the history outlives deleted accounts.
                    .col(big_integer_null(AuditEvents::ActorAccountId))
                    .col(string(AuditEvents::ActorName))
                    .col(string_null(AuditEvents::ViaToken))
                    .col(string(AuditEvents::Action))
                    .col(string_null(AuditEvents::Target))
                    .col(string_null(AuditEvents::ClientIp))
                    .col(string(AuditEvents::Outcome))
                    .col(text_null(AuditEvents::Detail))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_occurred")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::OccurredAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
