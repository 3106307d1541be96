//! Queries on second factors: an account's authenticator app, its recovery codes, and the sign-ins waiting for
//! a second factor. Every "use" is one conditional update, so two instances (or two tabs) racing with the same
//! code cannot both succeed.

use super::entities::{recovery_code, sign_in_challenge, totp_factor};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, Set,
    sea_query::Expr,
};

pub use sign_in_challenge::Model as SignInChallenge;
pub use totp_factor::Model as TotpFactor;

/// The account's authenticator app, confirmed or waiting for its first code.
pub async fn totp(db: &impl ConnectionTrait, account_id: i64) -> Result<Option<TotpFactor>, DbErr> {
    totp_factor::Entity::find_by_id(account_id).one(db).await
}

/// Starts an enrolment with `secret` (base32), replacing one that was never confirmed. The caller checks that
/// no confirmed one exists (the primary key refuses a second anyway).
pub async fn start_totp(
    db: &impl ConnectionTrait,
    account_id: i64,
    secret: String,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    totp_factor::Entity::delete_many()
        .filter(totp_factor::Column::AccountId.eq(account_id))
        .filter(totp_factor::Column::ConfirmedAt.is_null())
        .exec(db)
        .await?;
    totp_factor::ActiveModel {
        account_id: Set(account_id),
        secret: Set(secret),
        created_at: Set(now),
        confirmed_at: Set(None),
        last_step: Set(None),
    }
    .insert(db)
    .await
    .map(drop)
}

/// Confirms a pending enrolment with the step of the code that confirmed it; false when there was none.
pub async fn confirm_totp(
    db: &impl ConnectionTrait,
    account_id: i64,
    step: i64,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let done = totp_factor::Entity::update_many()
        .col_expr(totp_factor::Column::ConfirmedAt, Expr::value(now))
        .col_expr(totp_factor::Column::LastStep, Expr::value(step))
        .filter(totp_factor::Column::AccountId.eq(account_id))
        .filter(totp_factor::Column::ConfirmedAt.is_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Marks `step` used for a confirmed authenticator, only if it is later than the last step used: false when that
/// code (or a later one) was already accepted, so a code works once.
pub async fn use_totp_step(db: &impl ConnectionTrait, account_id: i64, step: i64) -> Result<bool, DbErr> {
    let done = totp_factor::Entity::update_many()
        .col_expr(totp_factor::Column::LastStep, Expr::value(step))
        .filter(totp_factor::Column::AccountId.eq(account_id))
        .filter(totp_factor::Column::ConfirmedAt.is_not_null())
        .filter(
            Condition::any().add(totp_factor::Column::LastStep.is_null()).add(totp_factor::Column::LastStep.lt(step)),
        )
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Removes the account's authenticator and recovery codes; whether there was an authenticator.
pub async fn remove_all(db: &impl ConnectionTrait, account_id: i64) -> Result<bool, DbErr> {
    recovery_code::Entity::delete_many().filter(recovery_code::Column::AccountId.eq(account_id)).exec(db).await?;
    let removed =
        totp_factor::Entity::delete_many().filter(totp_factor::Column::AccountId.eq(account_id)).exec(db).await?;
    Ok(removed.rows_affected > 0)
}

/// Removes the account's authenticator app only; answers whether there was one.
pub async fn remove_totp(db: &impl ConnectionTrait, account_id: i64) -> Result<bool, DbErr> {
    let removed =
        totp_factor::Entity::delete_many().filter(totp_factor::Column::AccountId.eq(account_id)).exec(db).await?;
    Ok(removed.rows_affected > 0)
}

/// Replaces the account's recovery codes with these (hashes of the normalised codes).
pub async fn replace_recovery_codes(
    db: &impl ConnectionTrait,
    account_id: i64,
    hashes: Vec<String>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    recovery_code::Entity::delete_many().filter(recovery_code::Column::AccountId.eq(account_id)).exec(db).await?;
    let rows = hashes.into_iter().map(|code_hash| recovery_code::ActiveModel {
        account_id: Set(account_id),
        code_hash: Set(code_hash),
        created_at: Set(now),
        used_at: Set(None),
        ..Default::default()
    });
    recovery_code::Entity::insert_many(rows).exec_without_returning(db).await.map(drop)
}

/// Uses the unused recovery code with this hash; false when there is none (unknown or used).
pub async fn use_recovery_code(
    db: &impl ConnectionTrait,
    account_id: i64,
    code_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let done = recovery_code::Entity::update_many()
        .col_expr(recovery_code::Column::UsedAt, Expr::value(now))
        .filter(recovery_code::Column::AccountId.eq(account_id))
        .filter(recovery_code::Column::CodeHash.eq(code_hash))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Recovery codes the account has not used yet.
pub async fn recovery_codes_left(db: &impl ConnectionTrait, account_id: i64) -> Result<u64, DbErr> {
    recovery_code::Entity::find()
        .filter(recovery_code::Column::AccountId.eq(account_id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(db)
        .await
}

/// Remembers a sign-in that waits for its second factor (`id_hash`: the hash of its cookie value).
pub async fn insert_challenge(
    db: &impl ConnectionTrait,
    id_hash: String,
    account_id: i64,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    sign_in_challenge::ActiveModel {
        id: Set(id_hash),
        account_id: Set(account_id),
        created_at: Set(now),
        expires_at: Set(expires_at),
    }
    .insert(db)
    .await
    .map(drop)
}

pub async fn find_challenge(db: &impl ConnectionTrait, id_hash: &str) -> Result<Option<SignInChallenge>, DbErr> {
    sign_in_challenge::Entity::find_by_id(id_hash.to_owned()).one(db).await
}

pub async fn delete_challenge(db: &impl ConnectionTrait, id_hash: &str) -> Result<(), DbErr> {
    sign_in_challenge::Entity::delete_by_id(id_hash.to_owned()).exec(db).await.map(drop)
}

/// Removes the challenges that ended before `now`.
pub async fn delete_expired_challenges(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    sign_in_challenge::Entity::delete_many()
        .filter(sign_in_challenge::Column::ExpiresAt.lte(now))
        .exec(db)
        .await
        .map(|r| r.rows_affected)
}
