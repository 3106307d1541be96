//! Passkeys and security keys (WebAuthn, issue 19): each account's registered credentials, by name, with the
//! public key and signature counter `webauthn-rs` keeps (as its JSON), and the ceremonies under way (a
//! registration or a sign-in between its challenge and the browser's answer, known by the hash of a handle).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Passkeys {
    Table,
    Id,
    AccountId,
    Name,
    CredentialId,
    Credential,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum PasskeyCeremonies {
    Table,
    Id,
    AccountId,
    Kind,
    Name,
    State,
    ExpiresAt,
}

fn owned_by(table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Accounts::Table, Accounts::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Passkeys::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Passkeys::Id))
                    .col(big_integer(Passkeys::AccountId))
                    .col(string(Passkeys::Name))
                    // Base64url; one credential belongs to one account only.
                    .col(string_uniq(Passkeys::CredentialId))
                    .col(text(Passkeys::Credential))
                    .col(timestamp_with_time_zone(Passkeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(Passkeys::LastUsedAt))
                    .foreign_key(&mut owned_by(Passkeys::Table, Passkeys::AccountId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("passkeys_account")
                    .table(Passkeys::Table)
                    .col(Passkeys::AccountId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PasskeyCeremonies::Table)
                    .if_not_exists()
                    .col(string(PasskeyCeremonies::Id).primary_key())
                    .col(big_integer(PasskeyCeremonies::AccountId))
                    // `register` or `sign-in`.
                    .col(string(PasskeyCeremonies::Kind))
                    // The name a registration gives the new passkey.
                    .col(string_null(PasskeyCeremonies::Name))
                    .col(text(PasskeyCeremonies::State))
                    .col(timestamp_with_time_zone(PasskeyCeremonies::ExpiresAt))
                    .foreign_key(&mut owned_by(PasskeyCeremonies::Table, PasskeyCeremonies::AccountId))
                    .to_owned(),
            )
            .await
    }
}
