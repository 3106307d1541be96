//! When each session last confirmed who is at the keyboard (the password at sign-in, or again later): giving a
//! token a dangerous privilege asks again once that is older than a few minutes (issue 19, like GitHub's sudo
//! mode). Sessions from before this step count as never confirmed.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Sessions {
    Table,
    ConfirmedAt,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .add_column(timestamp_with_time_zone_null(Sessions::ConfirmedAt))
                    .to_owned(),
            )
            .await
    }
}
