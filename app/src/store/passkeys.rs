//! Passkeys and the WebAuthn ceremonies under way (`services::passkeys`).

use super::entities::{passkey, passkey_ceremony};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

pub use passkey::Model as StoredPasskey;
pub use passkey_ceremony::Model as Ceremony;

/// The account's passkeys, oldest first.
pub async fn list(db: &impl ConnectionTrait, account_id: i64) -> Result<Vec<StoredPasskey>, DbErr> {
    passkey::Entity::find()
        .filter(passkey::Column::AccountId.eq(account_id))
        .order_by_asc(passkey::Column::Id)
        .all(db)
        .await
}

pub async fn count(db: &impl ConnectionTrait, account_id: i64) -> Result<u64, DbErr> {
    passkey::Entity::find().filter(passkey::Column::AccountId.eq(account_id)).count(db).await
}

pub async fn insert(
    db: &impl ConnectionTrait,
    account_id: i64,
    name: &str,
    credential_id: String,
    credential: String,
    now: DateTime<Utc>,
) -> Result<StoredPasskey, DbErr> {
    passkey::ActiveModel {
        account_id: Set(account_id),
        name: Set(name.to_owned()),
        credential_id: Set(credential_id),
        credential: Set(credential),
        created_at: Set(now),
        last_used_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Stores the credential as updated by a sign-in (its counter), and when it was used.
pub async fn record_use(
    db: &impl ConnectionTrait,
    id: i64,
    credential: String,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    passkey::ActiveModel {
        id: Set(id),
        credential: Set(credential),
        last_used_at: Set(Some(now)),
        ..Default::default()
    }
    .update(db)
    .await
    .map(drop)
}

/// Removes the account's passkey `id`; answers its name if there was one.
pub async fn delete(db: &impl ConnectionTrait, account_id: i64, id: i64) -> Result<Option<String>, DbErr> {
    let Some(found) = passkey::Entity::find_by_id(id).filter(passkey::Column::AccountId.eq(account_id)).one(db).await?
    else {
        return Ok(None);
    };
    passkey::Entity::delete_by_id(id).exec(db).await?;
    Ok(Some(found.name))
}

/// Removes every passkey of the account; answers how many there were.
pub async fn delete_all(db: &impl ConnectionTrait, account_id: i64) -> Result<u64, DbErr> {
    passkey::Entity::delete_many()
        .filter(passkey::Column::AccountId.eq(account_id))
        .exec(db)
        .await
        .map(|r| r.rows_affected)
}

pub async fn insert_ceremony(db: &impl ConnectionTrait, ceremony: Ceremony) -> Result<(), DbErr> {
    passkey_ceremony::ActiveModel {
        id: Set(ceremony.id),
        account_id: Set(ceremony.account_id),
        kind: Set(ceremony.kind),
        name: Set(ceremony.name),
        state: Set(ceremony.state),
        expires_at: Set(ceremony.expires_at),
    }
    .insert(db)
    .await
    .map(drop)
}

/// Removes and returns the ceremony `id_hash`, if still there: each challenge is answered at most once.
pub async fn take_ceremony(db: &impl ConnectionTrait, id_hash: &str) -> Result<Option<Ceremony>, DbErr> {
    let Some(found) = passkey_ceremony::Entity::find_by_id(id_hash.to_owned()).one(db).await? else {
        return Ok(None);
    };
    let deleted = passkey_ceremony::Entity::delete_by_id(id_hash.to_owned()).exec(db).await?;
    Ok((deleted.rows_affected == 1).then_some(found))
}

/// Removes the ceremonies that ended before `now`.
pub async fn delete_expired_ceremonies(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    passkey_ceremony::Entity::delete_many()
        .filter(passkey_ceremony::Column::ExpiresAt.lte(now))
        .exec(db)
        .await
        .map(|r| r.rows_affected)
}
