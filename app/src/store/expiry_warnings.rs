//! Expiry warnings: which tokens are near (or past) their expiry, and the claim that makes each warning go out
//! once, whichever instance gets there first.

use super::entities::{expiry_warning, token};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, sea_query::OnConflict,
};

/// Tokens whose expiry lies after `from` and at or before `to` and whose warning of `stage` for that expiry is not
/// claimed yet, soonest first (at most `limit`).
pub async fn unwarned_between(
    db: &impl ConnectionTrait,
    stage: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<token::Model>, DbErr> {
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    let claimed = Query::select()
        .expr(Expr::val(1))
        .from(expiry_warning::Entity)
        .and_where(
            Expr::col((expiry_warning::Entity, expiry_warning::Column::TokenId))
                .equals((token::Entity, token::Column::Id)),
        )
        .and_where(Expr::col((expiry_warning::Entity, expiry_warning::Column::Stage)).eq(stage))
        .and_where(
            Expr::col((expiry_warning::Entity, expiry_warning::Column::ExpiresAt))
                .equals((token::Entity, token::Column::ExpiresAt)),
        )
        .to_owned();
    token::Entity::find()
        .filter(token::Column::ExpiresAt.gt(from))
        .filter(token::Column::ExpiresAt.lte(to))
        .filter(Expr::exists(claimed).not())
        .order_by_asc(token::Column::ExpiresAt)
        .order_by_asc(token::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Claims the warning of `stage` for this token and expiry: `true` when this call claimed it (and must send it),
/// `false` when it was claimed before, here or by another instance.
pub async fn claim(
    db: &impl ConnectionTrait,
    token_id: i64,
    stage: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let row = expiry_warning::ActiveModel {
        token_id: Set(token_id),
        stage: Set(stage.to_owned()),
        expires_at: Set(expires_at),
        claimed_at: Set(now),
    };
    let inserted = expiry_warning::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                expiry_warning::Column::TokenId,
                expiry_warning::Column::Stage,
                expiry_warning::Column::ExpiresAt,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}
