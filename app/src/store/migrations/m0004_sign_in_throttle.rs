//! Sign-in throttling (issue 11): failed sign-ins, kept for the counting window, and account locks. Both live in
//! the database so they survive a restart and are shared by every instance on it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SignInFailures {
    Table,
    Id,
    AccountKey,
    ClientIp,
    OccurredAt,
}

#[derive(DeriveIden)]
enum SignInLocks {
    Table,
    AccountKey,
    LockedAt,
    LockedUntil,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SignInFailures::Table)
                    .if_not_exists()
                    .col(big_pk_auto(SignInFailures::Id))
                    // The lower-cased name that was tried, whether or not such an account exists: locking only
                    // real accounts would tell an attacker which names exist.
                    .col(string_null(SignInFailures::AccountKey))
                    .col(string_null(SignInFailures::ClientIp))
                    .col(timestamp_with_time_zone(SignInFailures::OccurredAt))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_sign_in_failures_account", SignInFailures::AccountKey),
            ("idx_sign_in_failures_ip", SignInFailures::ClientIp),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(SignInFailures::Table)
                        .col(column)
                        .col(SignInFailures::OccurredAt)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(SignInLocks::Table)
                    .if_not_exists()
                    .col(string(SignInLocks::AccountKey).primary_key())
                    .col(timestamp_with_time_zone(SignInLocks::LockedAt))
                    .col(timestamp_with_time_zone(SignInLocks::LockedUntil))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
