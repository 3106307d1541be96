//! The audit log: an append-only record of account and token changes and of sign-ins. Never holds a secret.

use super::entities::audit_event;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, QueryOrder, QuerySelect, Set};

pub use audit_event::Model as AuditEvent;

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Refused,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Refused => "refused",
        }
    }
}

/// An event about to be recorded.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub actor_account_id: Option<i64>,
    pub actor_name: &'a str,
    pub via_token: Option<&'a str>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub client_ip: Option<&'a str>,
    pub outcome: Outcome,
}

pub async fn record(db: &impl ConnectionTrait, event: NewEvent<'_>, now: DateTime<Utc>) -> Result<(), DbErr> {
    audit_event::ActiveModel {
        occurred_at: Set(now),
        actor_account_id: Set(event.actor_account_id),
        actor_name: Set(event.actor_name.to_owned()),
        via_token: Set(event.via_token.map(str::to_owned)),
        action: Set(event.action.to_owned()),
        target: Set(event.target.map(str::to_owned)),
        client_ip: Set(event.client_ip.map(str::to_owned)),
        outcome: Set(event.outcome.as_str().to_owned()),
        detail: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .map(drop)
}

/// The most recent events, newest first.
pub async fn recent(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<AuditEvent>, DbErr> {
    audit_event::Entity::find().order_by_desc(audit_event::Column::Id).limit(limit).all(db).await
}
