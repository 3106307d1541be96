//! Sign-ins sent to the OpenID Connect provider and not back yet (issue 19): what the return must match (the
//! `state`, by its hash), the nonce the ID token must carry and the PKCE verifier the code is redeemed with.
//! A row is taken once, so a replayed return finds nothing.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SsoLogins {
    Table,
    Id,
    Nonce,
    PkceVerifier,
    SessionId,
    ReturnTo,
    CreatedAt,
    ExpiresAt,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SsoLogins::Table)
                    .if_not_exists()
                    .col(string(SsoLogins::Id).primary_key())
                    .col(string(SsoLogins::Nonce))
                    .col(string(SsoLogins::PkceVerifier))
                    // A re-confirmation of this session (its id hash), not a sign-in.
                    .col(string_null(SsoLogins::SessionId))
                    .col(string_null(SsoLogins::ReturnTo))
                    .col(timestamp_with_time_zone(SsoLogins::CreatedAt))
                    .col(timestamp_with_time_zone(SsoLogins::ExpiresAt))
                    .to_owned(),
            )
            .await
    }
}
