//! A token's calls in the tokens table's window (the last 30 days, by whole hours), kept by the usage writer
//! (m0014) in a narrow row of its own (m0016), with the token's account so an account's tokens sort by it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "token_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_id: i64,
    pub account_id: i64,
    pub requests: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::token::Entity", from = "Column::TokenId", to = "super::token::Column::Id")]
    Token,
}

impl ActiveModelBehavior for ActiveModel {}
