//! Queries on accounts.

use super::entities::account::{self, StoredPasswordHash};
use crate::domain::{AccountName, PrivilegeSet};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use std::collections::HashMap;

pub use account::Model as Account;

pub async fn find_by_name(db: &impl ConnectionTrait, name: &str) -> Result<Option<Account>, DbErr> {
    if !super::could_be_stored(name) {
        return Ok(None);
    }
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

/// One page of accounts whose names contain `search` (case-insensitively), by name, and how many match in all.
pub async fn page(
    db: &impl ConnectionTrait,
    search: &str,
    offset: u64,
    limit: u64,
) -> Result<(Vec<Account>, u64), DbErr> {
    let mut query = account::Entity::find();
    let search = search.trim().to_ascii_lowercase();
    if !search.is_empty() {
        query = query.filter(account::Column::UsernameKey.like(super::like(&search, false)));
    }
    let total = query.clone().count(db).await?;
    let accounts = query.order_by_asc(account::Column::UsernameKey).offset(offset).limit(limit).all(db).await?;
    Ok((accounts, total))
}

/// How many tokens each of `ids` owns, as the database keeps it (m0015; accounts that never had a token are
/// absent): no walk over an account's tokens, however many it has.
pub async fn token_counts(db: &impl ConnectionTrait, ids: &[i64]) -> Result<HashMap<i64, u64>, DbErr> {
    let counts = super::tokens::counts_of(db, ids).await?;
    Ok(counts.into_iter().map(|(id, counts)| (id, counts.tokens)).collect())
}

/// Active accounts holding `all`: the administrators. At least one must always remain.
pub async fn active_admins(db: &impl ConnectionTrait) -> Result<Vec<Account>, DbErr> {
    let candidates = account::Entity::find()
        .filter(account::Column::Suspended.eq(false))
        .filter(account::Column::Privileges.like("%all%"))
        .all(db)
        .await?;
    Ok(candidates
        .into_iter()
        .filter(|a| PrivilegeSet::from_storage(&a.privileges).iter().any(|p| p == crate::domain::ALL))
        .collect())
}

/// The changes an update makes; `None` leaves a column alone.
#[derive(Default)]
pub struct Changes<'a> {
    pub name: Option<&'a AccountName>,
    pub password_hash: Option<StoredPasswordHash>,
    pub privileges: Option<&'a PrivilegeSet>,
    pub suspended: Option<bool>,
}

/// Applies `changes` to account `id`. A taken name fails on the unique index.
pub async fn update(
    db: &impl ConnectionTrait,
    id: i64,
    changes: Changes<'_>,
    now: DateTime<Utc>,
) -> Result<Account, DbErr> {
    let mut row = account::ActiveModel { id: sea_orm::ActiveValue::Unchanged(id), ..Default::default() };
    if let Some(name) = changes.name {
        row.username = Set(name.as_str().to_owned());
        row.username_key = Set(name.key());
    }
    if let Some(hash) = changes.password_hash {
        row.password_hash = Set(hash);
    }
    if let Some(privileges) = changes.privileges {
        row.privileges = Set(privileges.to_storage());
    }
    if let Some(suspended) = changes.suspended {
        row.suspended = Set(suspended);
    }
    row.updated_at = Set(now);
    row.update(db).await
}

/// Deletes an account; its tokens and sessions go with it (foreign keys cascade).
pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<u64, DbErr> {
    account::Entity::delete_by_id(id).exec(db).await.map(|r| r.rows_affected)
}
