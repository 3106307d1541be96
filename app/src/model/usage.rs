//! A token's usage, as the Manage page, the native API and the command line show it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Every verification outcome counted per token: accepted, or refused for one of these reasons. (A call with
/// an unknown or revoked token belongs to no token: it is counted in `/metrics` only.)
pub const OUTCOMES: [&str; 6] = ["accepted", "expired", "suspended", "address", "privilege", "rate_limited"];

/// One day of the Manage page's chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayUsage {
    /// `YYYY-MM-DD` in the server's time zone.
    pub day: String,
    pub accepted: u64,
    pub refused: u64,
}

/// An address a token was used from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddressSeen {
    pub ip: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// An address as the Manage page shows it, times formatted in the server's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressRow {
    pub ip: String,
    pub first_seen: String,
    pub last_seen: String,
}

/// The last 30 days of a token, by day, and its latest addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageSummary {
    pub days: Vec<DayUsage>,
    pub addresses: Vec<AddressRow>,
}

/// One hour or day of a token's usage: how many calls ended in each outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageBucket {
    /// The start of the hour, or of the day in the server's time zone.
    pub start: DateTime<Utc>,
    pub accepted: u64,
    pub refused: u64,
    /// Every outcome with a count, by name (see `OUTCOMES`).
    pub outcomes: BTreeMap<String, u64>,
}

/// A token's usage over a period (`GET /api/v1/tokens/{name}/usage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageReport {
    pub token: String,
    /// `hour` or `day`.
    pub bucket: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Every bucket of the period, oldest first (those without calls too).
    pub buckets: Vec<UsageBucket>,
    pub addresses: Vec<AddressSeen>,
}

/// One of the busiest tokens (the administrators' ranking).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusyToken {
    pub account: String,
    pub token: String,
    /// Calls in the period, every outcome.
    pub requests: u64,
}
