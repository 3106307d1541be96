//! A WebAuthn ceremony between its challenge and the browser's answer: `webauthn-rs`'s registration or
//! authentication state as JSON (it holds the challenge, so it stays on the server). The primary key is the
//! SHA-256 of the handle the browser holds.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "passkey_ceremonies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: i64,
    pub kind: String,
    pub name: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub state: String,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
