//! Leaked tokens revoked on a secret scanner's report: what their owners are shown until they dismiss it.

use super::entities::token_leak;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::Expr,
};

pub use token_leak::Model as TokenLeak;

/// A leak about to be recorded.
pub struct NewLeak<'a> {
    pub account_id: i64,
    pub token_name: &'a str,
    pub secret_hash: &'a str,
    pub url: Option<&'a str>,
    pub source: Option<&'a str>,
}

pub async fn insert(db: &impl ConnectionTrait, leak: NewLeak<'_>, now: DateTime<Utc>) -> Result<(), DbErr> {
    token_leak::ActiveModel {
        account_id: Set(leak.account_id),
        token_name: Set(leak.token_name.to_owned()),
        secret_hash: Set(leak.secret_hash.to_owned()),
        url: Set(leak.url.map(str::to_owned)),
        source: Set(leak.source.map(str::to_owned)),
        reported_at: Set(now),
        dismissed_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .map(drop)
}

/// Whether a secret with this hash was already reported (and its token revoked).
pub async fn was_reported(db: &impl ConnectionTrait, secret_hash: &str) -> Result<bool, DbErr> {
    Ok(token_leak::Entity::find().filter(token_leak::Column::SecretHash.eq(secret_hash)).one(db).await?.is_some())
}

/// The account's leaks not yet dismissed, newest first (at most `limit`).
pub async fn open_for(db: &impl ConnectionTrait, account_id: i64, limit: u64) -> Result<Vec<TokenLeak>, DbErr> {
    token_leak::Entity::find()
        .filter(token_leak::Column::AccountId.eq(account_id))
        .filter(token_leak::Column::DismissedAt.is_null())
        .order_by_desc(token_leak::Column::ReportedAt)
        .order_by_desc(token_leak::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Dismisses one of the account's leaks; `false` when it has no such open leak.
pub async fn dismiss(db: &impl ConnectionTrait, account_id: i64, id: i64, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let done = token_leak::Entity::update_many()
        .col_expr(token_leak::Column::DismissedAt, Expr::value(now))
        .filter(token_leak::Column::Id.eq(id))
        .filter(token_leak::Column::AccountId.eq(account_id))
        .filter(token_leak::Column::DismissedAt.is_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}
