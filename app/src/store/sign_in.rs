//! Queries on failed sign-ins and sign-in locks (see the `m0004` migration). Every count is over a window
//! ending now, so old failures stop counting without being deleted first; the sweeper prunes them.

use super::entities::{sign_in_failure, sign_in_lock};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::OnConflict,
};

pub use sign_in_lock::Model as SignInLock;

pub async fn record_failure(
    db: &impl ConnectionTrait,
    account_key: Option<&str>,
    client_ip: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = sign_in_failure::ActiveModel {
        id: NotSet,
        account_key: Set(account_key.map(str::to_owned)),
        client_ip: Set(client_ip.map(str::to_owned)),
        occurred_at: Set(at),
    };
    sign_in_failure::Entity::insert(row).exec_without_returning(db).await.map(drop)
}

/// How many sign-ins for `account_key` failed after `since`.
pub async fn account_failures_since(
    db: &impl ConnectionTrait,
    account_key: &str,
    since: DateTime<Utc>,
) -> Result<u64, DbErr> {
    sign_in_failure::Entity::find()
        .filter(sign_in_failure::Column::AccountKey.eq(account_key))
        .filter(sign_in_failure::Column::OccurredAt.gt(since))
        .count(db)
        .await
}

/// When the newest `limit` failed sign-ins from `client_ip` after `since` happened, oldest first.
pub async fn address_failures_since(
    db: &impl ConnectionTrait,
    client_ip: &str,
    since: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<DateTime<Utc>>, DbErr> {
    let mut times: Vec<DateTime<Utc>> = sign_in_failure::Entity::find()
        .select_only()
        .column(sign_in_failure::Column::OccurredAt)
        .filter(sign_in_failure::Column::ClientIp.eq(client_ip))
        .filter(sign_in_failure::Column::OccurredAt.gt(since))
        .order_by_desc(sign_in_failure::Column::OccurredAt)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    times.reverse();
    Ok(times)
}

/// Forgets an account name's failures (a successful sign-in, an administrator's unlock).
pub async fn clear_account_failures(db: &impl ConnectionTrait, account_key: &str) -> Result<(), DbErr> {
    sign_in_failure::Entity::delete_many()
        .filter(sign_in_failure::Column::AccountKey.eq(account_key))
        .exec(db)
        .await
        .map(drop)
}

/// Deletes failures older than `before`: they no longer count for anything.
pub async fn prune_failures(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    sign_in_failure::Entity::delete_many()
        .filter(sign_in_failure::Column::OccurredAt.lt(before))
        .exec(db)
        .await
        .map(|r| r.rows_affected)
}

/// The lock on `account_key` still in force at `now`, if any.
pub async fn active_lock(
    db: &impl ConnectionTrait,
    account_key: &str,
    now: DateTime<Utc>,
) -> Result<Option<SignInLock>, DbErr> {
    Ok(sign_in_lock::Entity::find_by_id(account_key.to_owned()).one(db).await?.filter(|lock| lock.locked_until > now))
}

/// Locks `account_key` from `at` until `until`. `false` when a lock was already in force (another request or
/// instance got there first), so exactly one of them records the lock.
pub async fn lock(
    db: &impl ConnectionTrait,
    account_key: &str,
    at: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    // A lock that has run out but was not swept yet makes way for the new one.
    sign_in_lock::Entity::delete_many()
        .filter(sign_in_lock::Column::AccountKey.eq(account_key))
        .filter(sign_in_lock::Column::LockedUntil.lte(at))
        .exec(db)
        .await?;
    let row = sign_in_lock::ActiveModel {
        account_key: Set(account_key.to_owned()),
        locked_at: Set(at),
        locked_until: Set(until),
    };
    let inserted = sign_in_lock::Entity::insert(row)
        .on_conflict(OnConflict::column(sign_in_lock::Column::AccountKey).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}

/// Removes the lock on `account_key`, in force or not; `true` when there was one.
pub async fn unlock(db: &impl ConnectionTrait, account_key: &str) -> Result<bool, DbErr> {
    let deleted = sign_in_lock::Entity::delete_by_id(account_key.to_owned()).exec(db).await?;
    Ok(deleted.rows_affected == 1)
}

/// Locks that ran out at or before `now`.
pub async fn ended_locks(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<Vec<SignInLock>, DbErr> {
    sign_in_lock::Entity::find().filter(sign_in_lock::Column::LockedUntil.lte(now)).all(db).await
}

/// Deletes `lock` if it is still the same lock; `true` when this call removed it (so one instance reports it).
pub async fn remove_ended(db: &impl ConnectionTrait, lock: &SignInLock) -> Result<bool, DbErr> {
    let deleted = sign_in_lock::Entity::delete_many()
        .filter(sign_in_lock::Column::AccountKey.eq(lock.account_key.as_str()))
        .filter(sign_in_lock::Column::LockedUntil.eq(lock.locked_until))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected == 1)
}
