//! An account name locked against sign-in after too many failures, until `locked_until`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sign_in_locks")]
pub struct Model {
    /// The lower-cased account name (also for names no account has: see the migration).
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_key: String,
    pub locked_at: DateTimeUtc,
    pub locked_until: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
