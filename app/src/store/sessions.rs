//! Queries on browser sessions. Sessions are found by the hash of their cookie value.

use super::entities::session;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

pub use session::Model as Session;

pub async fn insert(
    db: &impl ConnectionTrait,
    id_hash: String,
    account_id: i64,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<Session, DbErr> {
    session::ActiveModel {
        id: Set(id_hash),
        account_id: Set(account_id),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(expires_at),
        confirmed_at: Set(Some(now)),
    }
    .insert(db)
    .await
}

pub async fn find(db: &impl ConnectionTrait, id_hash: &str) -> Result<Option<Session>, DbErr> {
    session::Entity::find_by_id(id_hash.to_owned()).one(db).await
}

pub async fn touch(db: &impl ConnectionTrait, id_hash: &str, now: DateTime<Utc>) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::LastSeenAt, now.into())
        .filter(session::Column::Id.eq(id_hash))
        .exec(db)
        .await
        .map(drop)
}

/// Records that the person behind this session proved it is them again, at `now`.
pub async fn confirm(db: &impl ConnectionTrait, id_hash: &str, now: DateTime<Utc>) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::ConfirmedAt, now.into())
        .filter(session::Column::Id.eq(id_hash))
        .exec(db)
        .await
        .map(drop)
}

pub async fn delete(db: &impl ConnectionTrait, id_hash: &str) -> Result<(), DbErr> {
    session::Entity::delete_by_id(id_hash.to_owned()).exec(db).await.map(drop)
}

/// Ends every session of an account (password change, suspension, deletion).
pub async fn delete_for_account(db: &impl ConnectionTrait, account_id: i64) -> Result<u64, DbErr> {
    session::Entity::delete_many()
        .filter(session::Column::AccountId.eq(account_id))
        .exec(db)
        .await
        .map(|r| r.rows_affected)
}

/// Removes sessions that ended before `cutoff_idle` (last activity) or `now` (absolute end).
pub async fn delete_expired(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    cutoff_idle: DateTime<Utc>,
) -> Result<u64, DbErr> {
    session::Entity::delete_many()
        .filter(
            Condition::any().add(session::Column::ExpiresAt.lte(now)).add(session::Column::LastSeenAt.lt(cutoff_idle)),
        )
        .exec(db)
        .await
        .map(|r| r.rows_affected)
}

/// Ends every session of an account except the one whose cookie hashes to `keep` (a password change).
pub async fn delete_for_account_except(
    db: &impl ConnectionTrait,
    account_id: i64,
    keep: Option<&str>,
) -> Result<u64, DbErr> {
    let mut query = session::Entity::delete_many().filter(session::Column::AccountId.eq(account_id));
    if let Some(keep) = keep {
        query = query.filter(session::Column::Id.ne(keep));
    }
    query.exec(db).await.map(|r| r.rows_affected)
}
