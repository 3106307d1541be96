//! Reading the audit log (SPEC §1 [+]): every account sees the events by or about itself; accounts holding
//! `all` (and the operator) see every event.

use super::Actor;
use crate::{
    domain::ALL,
    error::AppError,
    model::audit::{AuditEntry, AuditPage, AuditQuery},
    services::Core,
    store::audit::{self, AuditEvent, Filter},
};
use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};

/// Audit pages hold 20, 50, 100 or 200 events.
pub const PAGE_SIZES: [u64; 4] = [20, 50, 100, 200];

/// The first instant of `date` in `zone`.
pub fn start_of(date: NaiveDate, zone: chrono_tz::Tz) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    zone.from_local_datetime(&midnight).earliest().map_or_else(|| midnight.and_utc(), |at| at.with_timezone(&Utc))
}

pub fn entry(event: AuditEvent, zone: chrono_tz::Tz) -> AuditEntry {
    let local = event.occurred_at.with_timezone(&zone);
    AuditEntry {
        id: event.id,
        at: local.format("%b %-d, %Y %H:%M:%S").to_string(),
        at_iso: local.to_rfc3339(),
        actor: event.actor_name,
        via_token: event.via_token,
        action: event.action,
        target: event.target,
        client_ip: event.client_ip,
        outcome: event.outcome,
        detail: event.detail,
    }
}

pub async fn page(state: &Core, viewer: &Actor, query: &AuditQuery) -> Result<AuditPage, AppError> {
    let offset = super::paging::offset(query.page, query.per_page, &PAGE_SIZES, "events")?;
    if let (Some(since), Some(until)) = (query.since, query.until)
        && until < since
    {
        return Err(AppError::invalid("until", "The end date is before the start date."));
    }
    let everything = viewer.holds(ALL);
    let zone = state.time_zone;
    let filter = Filter {
        search: query.search.clone(),
        actor: query.actor.clone(),
        action: query.action.clone(),
        target: query.target.clone(),
        since: query.since.map(|d| start_of(d, zone)),
        until: query.until.and_then(|d| d.checked_add_days(Days::new(1))).map(|d| start_of(d, zone)),
        visible_to: if everything { None } else { viewer.account().map(|account| account.id) },
    };
    let (events, total) = audit::page(&state.db, &filter, offset, query.per_page).await?;
    Ok(AuditPage {
        entries: events.into_iter().map(|e| entry(e, zone)).collect(),
        total,
        page: query.page,
        per_page: query.per_page,
        everything,
        time_zone: zone.name().into(),
    })
}
