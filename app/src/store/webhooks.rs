//! Webhook endpoints and the deliveries outbox (webhook calls and e-mails). A delivery is claimed for one
//! attempt by moving its next attempt time forward only if nobody moved it first, so several instances working
//! the same outbox never send one attempt twice.

use super::entities::{delivery, webhook_endpoint};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::Expr,
};

pub use delivery::Model as Delivery;
pub use webhook_endpoint::Model as Endpoint;

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";

pub async fn insert_endpoint(
    db: &impl ConnectionTrait,
    url: &str,
    secret: &str,
    events: &str,
    now: DateTime<Utc>,
) -> Result<Endpoint, DbErr> {
    webhook_endpoint::ActiveModel {
        url: Set(url.to_owned()),
        secret: Set(secret.to_owned()),
        events: Set(events.to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn endpoints(db: &impl ConnectionTrait) -> Result<Vec<Endpoint>, DbErr> {
    webhook_endpoint::Entity::find().order_by_asc(webhook_endpoint::Column::Id).all(db).await
}

pub async fn endpoint(db: &impl ConnectionTrait, id: i64) -> Result<Option<Endpoint>, DbErr> {
    webhook_endpoint::Entity::find_by_id(id).one(db).await
}

/// Removes an endpoint and its deliveries; `false` when there was none.
pub async fn delete_endpoint(db: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    delivery::Entity::delete_many().filter(delivery::Column::EndpointId.eq(id)).exec(db).await?;
    Ok(webhook_endpoint::Entity::delete_by_id(id).exec(db).await?.rows_affected == 1)
}

/// A message about to be queued.
pub struct NewDelivery<'a> {
    /// The endpoint to call, or `None` for an e-mail to `recipient`.
    pub endpoint_id: Option<i64>,
    pub recipient: Option<&'a str>,
    pub event_type: &'a str,
    pub message_id: &'a str,
    pub payload: &'a str,
}

/// Queues a message, due at once.
pub async fn enqueue(db: &impl ConnectionTrait, new: NewDelivery<'_>, now: DateTime<Utc>) -> Result<i64, DbErr> {
    let row = delivery::ActiveModel {
        endpoint_id: Set(new.endpoint_id),
        recipient: Set(new.recipient.map(str::to_owned)),
        event_type: Set(new.event_type.to_owned()),
        message_id: Set(new.message_id.to_owned()),
        payload: Set(new.payload.to_owned()),
        created_at: Set(now),
        attempts: Set(0),
        next_attempt_at: Set(Some(now)),
        status: Set(PENDING.to_owned()),
        last_status_code: Set(None),
        last_error: Set(None),
        delivered_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(row.id)
}

/// Pending deliveries due at `now`, oldest first.
pub async fn due(db: &impl ConnectionTrait, now: DateTime<Utc>, limit: u64) -> Result<Vec<Delivery>, DbErr> {
    delivery::Entity::find()
        .filter(delivery::Column::Status.eq(PENDING))
        .filter(delivery::Column::NextAttemptAt.lte(now))
        .order_by_asc(delivery::Column::NextAttemptAt)
        .order_by_asc(delivery::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Claims one attempt at `found`: counts the attempt and holds the delivery until `lease_until` (when an
/// instance dies mid-attempt, another retries it then). `false` when another instance claimed it first.
pub async fn claim(db: &impl ConnectionTrait, found: &Delivery, lease_until: DateTime<Utc>) -> Result<bool, DbErr> {
    let done = delivery::Entity::update_many()
        .col_expr(delivery::Column::Attempts, Expr::value(found.attempts + 1))
        .col_expr(delivery::Column::NextAttemptAt, Expr::value(lease_until))
        .filter(delivery::Column::Id.eq(found.id))
        .filter(delivery::Column::Status.eq(PENDING))
        .filter(delivery::Column::Attempts.eq(found.attempts))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Records the end of an attempt: delivered, to be retried at `retry_at`, or (no retry left) failed.
pub async fn finish_attempt(
    db: &impl ConnectionTrait,
    id: i64,
    delivered: bool,
    retry_at: Option<DateTime<Utc>>,
    status_code: Option<i32>,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let status = match (delivered, retry_at) {
        (true, _) => DELIVERED,
        (false, Some(_)) => PENDING,
        (false, None) => FAILED,
    };
    delivery::Entity::update_many()
        .col_expr(delivery::Column::Status, Expr::value(status))
        .col_expr(delivery::Column::NextAttemptAt, Expr::value(if delivered { None } else { retry_at }))
        .col_expr(delivery::Column::LastStatusCode, Expr::value(status_code))
        .col_expr(delivery::Column::LastError, Expr::value(error.map(str::to_owned)))
        .col_expr(delivery::Column::DeliveredAt, Expr::value(delivered.then_some(now)))
        .filter(delivery::Column::Id.eq(id))
        .exec(db)
        .await
        .map(drop)
}

/// Deletes finished deliveries (delivered or failed) created before `before`; pending ones stay, however old.
pub async fn prune_finished(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let done = delivery::Entity::delete_many()
        .filter(delivery::Column::Status.is_in([DELIVERED, FAILED]))
        .filter(delivery::Column::CreatedAt.lt(before))
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}

/// The latest deliveries to an endpoint, newest first.
pub async fn log(db: &impl ConnectionTrait, endpoint_id: i64, limit: u64) -> Result<Vec<Delivery>, DbErr> {
    delivery::Entity::find()
        .filter(delivery::Column::EndpointId.eq(endpoint_id))
        .order_by_desc(delivery::Column::Id)
        .limit(limit)
        .all(db)
        .await
}
