//! An account: a username, its Argon2id password hash, its privileges and state.

use sea_orm::entity::prelude::*;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub username: String,
    #[sea_orm(unique)]
    pub username_key: String,
    pub password_hash: StoredPasswordHash,
    /// Space-separated privilege names (`PrivilegeSet::to_storage`).
    pub privileges: String,
    pub suspended: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// An Argon2id PHC string. Not secret in the way a password is, but never printed or sent anywhere.
#[derive(Clone, PartialEq, Eq, DeriveValueType)]
pub struct StoredPasswordHash(pub String);

impl fmt::Debug for StoredPasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoredPasswordHash(<redacted>)")
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
