//! Run-time settings kept in the database, so every instance on it reads the same.

use super::entities::setting;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set, sea_query::OnConflict};

/// The second-factor policy (`domain::SecondFactorPolicy`'s stored form).
pub const SECOND_FACTOR_POLICY: &str = "second_factor_policy";

/// The first hour counted in the tokens' calls in the window (`token_requests`), in Unix seconds
/// (`store::usage::slide_window`).
pub const REQUESTS_WINDOW_START: &str = "requests_window_start";

pub async fn get(db: &impl ConnectionTrait, key: &str) -> Result<Option<String>, DbErr> {
    Ok(setting::Entity::find_by_id(key.to_owned()).one(db).await?.map(|row| row.value))
}

pub async fn set(db: &impl ConnectionTrait, key: &str, value: String, now: DateTime<Utc>) -> Result<(), DbErr> {
    let row = setting::ActiveModel { key: Set(key.to_owned()), value: Set(value), updated_at: Set(now) };
    setting::Entity::insert(row)
        .on_conflict(
            OnConflict::column(setting::Column::Key)
                .update_columns([setting::Column::Value, setting::Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map(drop)
}
