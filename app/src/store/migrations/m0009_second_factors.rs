//! Second factors (issue 19): an account's authenticator app (TOTP: its secret, whether enrolment was confirmed,
//! and the last time step used, so a code cannot be replayed), its single-use recovery codes (hashed), and the
//! sign-ins waiting for their second factor (known by the hash of a short-lived cookie, like sessions).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum TotpFactors {
    Table,
    AccountId,
    Secret,
    CreatedAt,
    ConfirmedAt,
    LastStep,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    Id,
    AccountId,
    CodeHash,
    CreatedAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum SignInChallenges {
    Table,
    Id,
    AccountId,
    CreatedAt,
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
                    .table(TotpFactors::Table)
                    .if_not_exists()
                    .col(big_integer(TotpFactors::AccountId).primary_key())
                    // Base32, as authenticator apps take it: a TOTP check needs the secret itself.
                    .col(string(TotpFactors::Secret))
                    .col(timestamp_with_time_zone(TotpFactors::CreatedAt))
                    // None while the enrolment waits for its first code.
                    .col(timestamp_with_time_zone_null(TotpFactors::ConfirmedAt))
                    .col(big_integer_null(TotpFactors::LastStep))
                    .foreign_key(&mut owned_by(TotpFactors::Table, TotpFactors::AccountId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RecoveryCodes::Table)
                    .if_not_exists()
                    .col(big_pk_auto(RecoveryCodes::Id))
                    .col(big_integer(RecoveryCodes::AccountId))
                    // SHA-256 of the normalised code (50 random bits, single use, throttled like passwords).
                    .col(string(RecoveryCodes::CodeHash))
                    .col(timestamp_with_time_zone(RecoveryCodes::CreatedAt))
                    .col(timestamp_with_time_zone_null(RecoveryCodes::UsedAt))
                    .foreign_key(&mut owned_by(RecoveryCodes::Table, RecoveryCodes::AccountId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_recovery_codes_account")
                    .table(RecoveryCodes::Table)
                    .col(RecoveryCodes::AccountId)
                    .col(RecoveryCodes::CodeHash)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SignInChallenges::Table)
                    .if_not_exists()
                    .col(string(SignInChallenges::Id).primary_key())
                    .col(big_integer(SignInChallenges::AccountId))
                    .col(timestamp_with_time_zone(SignInChallenges::CreatedAt))
                    .col(timestamp_with_time_zone(SignInChallenges::ExpiresAt))
                    .foreign_key(&mut owned_by(SignInChallenges::Table, SignInChallenges::AccountId))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
