//! A sign-in (or re-confirmation) sent to the OpenID Connect provider, waiting for the browser to come back. The
//! primary key is the SHA-256 of the `state` value, never the value itself.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sso_logins")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// The session being re-confirmed (its id hash); `None`: a sign-in.
    pub session_id: Option<String>,
    /// The page to go back to afterwards (a local path).
    pub return_to: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
