//! Operator-defined privileges, and the account each audit event is about (so every account can read the
//! events about itself).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Privileges {
    Table,
    Name,
    Label,
    Dangerous,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    SubjectAccountId,
    ActorAccountId,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Privileges::Table)
                    .if_not_exists()
                    .col(string(Privileges::Name).primary_key())
                    .col(string(Privileges::Label))
                    .col(boolean(Privileges::Dangerous).default(false))
                    .col(timestamp_with_time_zone(Privileges::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // No foreign key, like the actor: the history outlives deleted accounts.
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .add_column(big_integer_null(AuditEvents::SubjectAccountId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_subject")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::SubjectAccountId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_actor")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::ActorAccountId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
