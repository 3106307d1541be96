//! Sign-ins waiting at the OpenID Connect provider (`services::oidc`). Each is taken at most once.

use super::entities::sso_login;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

pub use sso_login::Model as PendingSignIn;

pub async fn insert(db: &impl ConnectionTrait, pending: PendingSignIn) -> Result<(), DbErr> {
    sso_login::ActiveModel {
        id: Set(pending.id),
        nonce: Set(pending.nonce),
        pkce_verifier: Set(pending.pkce_verifier),
        session_id: Set(pending.session_id),
        return_to: Set(pending.return_to),
        created_at: Set(pending.created_at),
        expires_at: Set(pending.expires_at),
    }
    .insert(db)
    .await
    .map(drop)
}

/// Removes and returns the pending sign-in `id_hash`, if it is still there: of two requests taking the same one
/// (a replayed return racing the real one, or another instance), only one gets it.
pub async fn take(db: &impl ConnectionTrait, id_hash: &str) -> Result<Option<PendingSignIn>, DbErr> {
    let Some(found) = sso_login::Entity::find_by_id(id_hash.to_owned()).one(db).await? else {
        return Ok(None);
    };
    let deleted = sso_login::Entity::delete_by_id(id_hash.to_owned()).exec(db).await?;
    Ok((deleted.rows_affected == 1).then_some(found))
}

/// Removes the pending sign-ins that ended before `now`.
pub async fn delete_expired(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    sso_login::Entity::delete_many()
        .filter(sso_login::Column::ExpiresAt.lte(now))
        .exec(db)
        .await
        .map(|r| r.rows_affected)
}
