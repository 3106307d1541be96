//! An API token. Only the SHA-256 of its secret is kept, with a short non-secret hint for display.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub name_key: String,
    #[sea_orm(unique)]
    pub secret_hash: String,
    pub hint: String,
    pub created_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    pub allowlist: String,
    pub privileges: String,
    pub previous_secret_hash: Option<String>,
    pub previous_valid_until: Option<DateTimeUtc>,
    pub last_used_at: Option<DateTimeUtc>,
    pub last_used_ip: Option<String>,
    /// `N/second`, `N/minute` or `N/hour` (`domain::RateLimit`); none: unlimited.
    pub rate_limit: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
