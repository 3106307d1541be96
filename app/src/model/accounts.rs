//! Accounts as the services hand them to administrators (never a password hash), list queries and pages, and
//! what removing a privilege took away.

use crate::{domain::AccountName, error::AppError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An account name as sent, parsed once at the edge, or the error for the `name` field.
pub fn parse_account_name(raw: &str) -> Result<AccountName, AppError> {
    AccountName::parse(raw).map_err(|e| AppError::invalid("name", e))
}

/// An account as an admin sees it. Never holds the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub username: String,
    pub privileges: Vec<String>,
    pub suspended: bool,
    pub created_at: DateTime<Utc>,
    /// Tokens it owns: all of them are revoked if it is deleted.
    pub token_count: u64,
    /// The signed-in account itself (cannot suspend or delete itself).
    pub is_self: bool,
    /// Locked against sign-in after too many failures, until then (on the account's own page only).
    pub locked_until: Option<DateTime<Utc>>,
    /// Has an authenticator app set up (on the account's own page only).
    #[serde(default)]
    pub second_factor: bool,
}

/// Which page of which accounts: search text (in names), page (from 1), page size (10, 20, 50 or 100).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountQuery {
    pub search: String,
    pub page: u64,
    pub per_page: u64,
}

impl Default for AccountQuery {
    fn default() -> Self {
        Self { search: String::new(), page: 1, per_page: 20 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountPage {
    pub accounts: Vec<AccountSummary>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

/// What removing a privilege took away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivilegeRemoval {
    pub accounts: u64,
    pub tokens: u64,
}
