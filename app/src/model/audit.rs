//! The audit log as the services hand it out: a query (search, filters, dates, page) and a page of entries.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Which events: free-text search, filters by actor, action (from the start: `token.` finds every token
/// event) and target, a date range (inclusive, server time zone), page (from 1) and page size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub search: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub page: u64,
    pub per_page: u64,
}

impl Default for AuditQuery {
    fn default() -> Self {
        Self {
            search: String::new(),
            actor: String::new(),
            action: String::new(),
            target: String::new(),
            since: None,
            until: None,
            page: 1,
            per_page: 50,
        }
    }
}

/// One event, formatted in the server's time zone. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    /// e.g. `Nov 22, 2026 10:12:40`
    pub at: String,
    pub at_iso: String,
    pub actor: String,
    /// The token the act came through, if any.
    pub via_token: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub client_ip: Option<String>,
    /// `success`, `failure` or `refused`.
    pub outcome: String,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    /// The viewer sees every event (holds `all`); otherwise only events by or about their own account.
    pub everything: bool,
    pub time_zone: String,
}
