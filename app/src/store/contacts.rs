//! Accounts' contact e-mail addresses.

use super::entities::account_contact;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set, sea_query::OnConflict};

pub async fn get(db: &impl ConnectionTrait, account_id: i64) -> Result<Option<String>, DbErr> {
    Ok(account_contact::Entity::find_by_id(account_id).one(db).await?.map(|contact| contact.email))
}

/// Sets (or, with `None`, removes) the account's contact e-mail.
pub async fn set(db: &impl ConnectionTrait, account_id: i64, email: Option<&str>) -> Result<(), DbErr> {
    match email {
        Some(email) => {
            let row = account_contact::ActiveModel { account_id: Set(account_id), email: Set(email.to_owned()) };
            account_contact::Entity::insert(row)
                .on_conflict(
                    OnConflict::column(account_contact::Column::AccountId)
                        .update_column(account_contact::Column::Email)
                        .to_owned(),
                )
                .exec_without_returning(db)
                .await
                .map(drop)
        }
        None => account_contact::Entity::delete_by_id(account_id).exec(db).await.map(drop),
    }
}
