//! Queries on accounts.

use super::entities::account::{self, StoredPasswordHash};
use crate::domain::{AccountName, PrivilegeSet};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

pub use account::Model as Account;

pub async fn find_by_name(db: &impl ConnectionTrait, name: &str) -> Result<Option<Account>, DbErr> {
    account::Entity::find().filter(account::Column::UsernameKey.eq(name.to_ascii_lowercase())).one(db).await
}

pub async fn find_by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<Account>, DbErr> {
    account::Entity::find_by_id(id).one(db).await
}

pub async fn count(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    account::Entity::find().count(db).await
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<Account>, DbErr> {
    account::Entity::find().order_by_asc(account::Column::UsernameKey).all(db).await
}

/// Inserts an account. A taken name (in any case) fails on the unique index, so two concurrent creates of one
/// name cannot both succeed.
pub async fn insert(
    db: &impl ConnectionTrait,
    name: &AccountName,
    password_hash: StoredPasswordHash,
    privileges: &PrivilegeSet,
    now: DateTime<Utc>,
) -> Result<Account, DbErr> {
    account::ActiveModel {
        username: Set(name.as_str().to_owned()),
        username_key: Set(name.key()),
        password_hash: Set(password_hash),
        privileges: Set(privileges.to_storage()),
        suspended: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}
