//! The audit log: an append-only record of account and token changes and of sign-ins. Never holds a secret.

use super::entities::audit_event;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait, Func, SimpleExpr},
};

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

impl<'a> NewEvent<'a> {
    /// `action` by `actor_name` (with their account's id, if they have one), from nowhere in particular, succeeded:
    /// the one way every service starts an audit event. The rest is set by the methods below.
    pub fn new(action: &'a str, actor_name: &'a str, actor_account_id: Option<i64>) -> Self {
        Self {
            actor_account_id,
            actor_name,
            via_token: None,
            action,
            target: None,
            client_ip: None,
            outcome: Outcome::Success,
        }
    }

    /// `action` by this account.
    pub fn by(action: &'a str, account: &'a super::accounts::Account) -> Self {
        Self::new(action, &account.username, Some(account.id))
    }

    /// What the act was about.
    pub fn target(self, target: impl Into<Option<&'a str>>) -> Self {
        Self { target: target.into(), ..self }
    }

    /// The API token the act came through.
    pub fn via(self, token: Option<&'a str>) -> Self {
        Self { via_token: token, ..self }
    }

    /// The client address it came from.
    pub fn from_ip(self, client_ip: Option<&'a str>) -> Self {
        Self { client_ip, ..self }
    }

    pub fn outcome(self, outcome: Outcome) -> Self {
        Self { outcome, ..self }
    }
}

/// Records an event about its actor's own account (token changes, sign-ins, refused token uses).
pub async fn record(db: &impl ConnectionTrait, event: NewEvent<'_>, now: DateTime<Utc>) -> Result<(), DbErr> {
    let subject = event.actor_account_id;
    record_about(db, event, subject, None, now).await
}

/// Records an event about account `subject` (e.g. an admin suspending it), with an optional detail line.
pub async fn record_about(
    db: &impl ConnectionTrait,
    event: NewEvent<'_>,
    subject: Option<i64>,
    detail: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    audit_event::ActiveModel {
        occurred_at: Set(now),
        actor_account_id: Set(event.actor_account_id),
        actor_name: Set(event.actor_name.to_owned()),
        via_token: Set(event.via_token.map(str::to_owned)),
        action: Set(event.action.to_owned()),
        target: Set(event.target.map(str::to_owned)),
        client_ip: Set(event.client_ip.map(str::to_owned)),
        outcome: Set(event.outcome.as_str().to_owned()),
        detail: Set(detail),
        subject_account_id: Set(subject),
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

/// Which events to show. Text filters match case-insensitively anywhere in their column; `action` matches
/// from the start (`token.` finds every token event). `visible_to`: only events by or about that account.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub search: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub visible_to: Option<i64>,
}

fn lower(column: audit_event::Column) -> SimpleExpr {
    Func::lower(Expr::col(column)).into()
}

fn contains(column: audit_event::Column, text: &str) -> SimpleExpr {
    Expr::expr(lower(column)).like(super::like(&text.trim().to_lowercase(), false))
}

/// One page of events matching `filter`, newest first, and how many match in all.
pub async fn page(
    db: &impl ConnectionTrait,
    filter: &Filter,
    offset: u64,
    limit: u64,
) -> Result<(Vec<AuditEvent>, u64), DbErr> {
    use audit_event::Column as C;
    let mut query = audit_event::Entity::find();
    if let Some(account) = filter.visible_to {
        query = query.filter(Condition::any().add(C::ActorAccountId.eq(account)).add(C::SubjectAccountId.eq(account)));
    }
    if !filter.search.trim().is_empty() {
        let any = [C::ActorName, C::ViaToken, C::Action, C::Target, C::ClientIp, C::Outcome]
            .into_iter()
            .fold(Condition::any(), |cond, column| cond.add(contains(column, &filter.search)));
        query = query.filter(any);
    }
    if !filter.actor.trim().is_empty() {
        query = query.filter(
            Condition::any().add(contains(C::ActorName, &filter.actor)).add(contains(C::ViaToken, &filter.actor)),
        );
    }
    if !filter.action.trim().is_empty() {
        query =
            query.filter(Expr::expr(lower(C::Action)).like(super::like(&filter.action.trim().to_lowercase(), true)));
    }
    if !filter.target.trim().is_empty() {
        query = query.filter(contains(C::Target, &filter.target));
    }
    if let Some(since) = filter.since {
        query = query.filter(C::OccurredAt.gte(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(C::OccurredAt.lt(until));
    }
    let total = query.clone().count(db).await?;
    let events = query.order_by_desc(C::OccurredAt).order_by_desc(C::Id).offset(offset).limit(limit).all(db).await?;
    Ok((events, total))
}
