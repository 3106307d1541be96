//! Tokens as the services hand them out and the wire carries them: a token's view (never its secret), a new
//! token's fields, an issued token with its secret (shown once), list queries and pages, the create form's
//! options.

use crate::{
    domain::{Expiry, IpAllowlist, RateLimit, TokenName},
    error::AppError,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A token as its owner sees it. Never holds the secret or its hash: only the non-secret hint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ApiToken))]
pub struct TokenView {
    pub name: String,
    /// `tsr_` and the first four random characters, to tell tokens apart.
    pub hint: String,
    pub created_at: DateTime<Utc>,
    /// `None`: the token never expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Empty: any address.
    pub allowlist: Vec<String>,
    pub privileges: Vec<String>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_ip: Option<String>,
    /// `N/second`, `N/minute` or `N/hour`, enforced by each instance; `None`: unlimited.
    #[serde(default)]
    pub rate_limit: Option<String>,
}

pub use crate::domain::TokenSort;

impl TokenView {
    /// Whether the token holds `all` (cPanel's "full access").
    pub fn has_full_access(&self) -> bool {
        self.privileges.iter().any(|p| p == crate::domain::ALL)
    }
}

/// Which page of which tokens: search text, order, page (from 1) and page size (10, 20, 50 or 100).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenQuery {
    pub search: String,
    /// Only live tokens that expire within [`EXPIRING_DAYS`] days.
    #[serde(default)]
    pub expiring: bool,
    pub sort: TokenSort,
    pub descending: bool,
    pub page: u64,
    pub per_page: u64,
}

impl Default for TokenQuery {
    /// Newest first, 20 a page.
    fn default() -> Self {
        Self {
            search: String::new(),
            expiring: false,
            sort: TokenSort::Created,
            descending: true,
            page: 1,
            per_page: 20,
        }
    }
}

/// "Expiring soon": the tokens page's banner and filter, in days.
pub const EXPIRING_DAYS: i64 = 7;

/// The page sizes on offer.
pub const PAGE_SIZES: [u64; 4] = [10, 20, 50, 100];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ApiTokenPage))]
pub struct TokenPage {
    pub tokens: Vec<TokenView>,
    /// How many tokens match the search, on all pages.
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

/// A token to create. `expires` is `never` or a date `YYYY-MM-DD`; `allowlist` is free text (newlines,
/// commas or spaces between entries); both are validated by the domain rules on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewToken {
    pub name: String,
    pub expires: String,
    pub allowlist: String,
    pub privileges: Vec<String>,
    /// `N/second`, `N/minute` or `N/hour`; empty: unlimited.
    #[serde(default)]
    pub rate_limit: String,
}

/// A new token's fields once parsed: what the token service takes. Each edge (server function, HTTP API, CLI)
/// parses what it was sent, once, into this. Privileges stay names: the catalog they are checked against (the
/// operator's own privileges included) lives in the database, so the service checks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSpec {
    pub name: TokenName,
    pub expiry: Expiry,
    /// Empty: any address (through a token: the calling token's allowlist).
    pub allowlist: IpAllowlist,
    pub privileges: Vec<String>,
    /// `None`: unlimited (through a limited token: the calling token's limit).
    pub rate_limit: Option<RateLimit>,
}

impl NewToken {
    /// Parses the form's fields; a broken rule is an error on its field. `today` is in the server's time zone.
    pub fn parse(&self, today: NaiveDate) -> Result<TokenSpec, AppError> {
        Ok(TokenSpec {
            name: parse_name(&self.name)?,
            expiry: parse_expiry(&self.expires, today)?,
            allowlist: parse_allowlist(&self.allowlist)?,
            privileges: self.privileges.clone(),
            rate_limit: parse_rate_limit(&self.rate_limit)?,
        })
    }
}

/// A rate limit (`N/second`, `N/minute`, `N/hour`; empty: none), or the error for the `rate_limit` field.
pub fn parse_rate_limit(raw: &str) -> Result<Option<RateLimit>, AppError> {
    RateLimit::parse_optional(raw).map_err(|e| AppError::invalid("rate_limit", e))
}

/// A token name, or the error for the `name` field.
pub fn parse_name(raw: &str) -> Result<TokenName, AppError> {
    TokenName::parse(raw).map_err(|e| AppError::invalid("name", e))
}

/// `never` or a date on or after `today`, or the error for the `expires` field.
pub fn parse_expiry(raw: &str, today: NaiveDate) -> Result<Expiry, AppError> {
    Expiry::parse(raw, today).map_err(|e| AppError::invalid("expires", e))
}

/// An allowlist (entries separated by newlines, commas or spaces), or the error for the `allowlist` field.
pub fn parse_allowlist(raw: &str) -> Result<IpAllowlist, AppError> {
    IpAllowlist::parse(raw).map_err(|e| AppError::invalid("allowlist", e))
}

/// An allowlist given one entry per element (a JSON array), or the error for the `allowlist` field.
pub fn parse_allowlist_entries(entries: Vec<String>) -> Result<IpAllowlist, AppError> {
    IpAllowlist::try_from(entries).map_err(|e| AppError::invalid("allowlist", e))
}

/// A token just created or rotated, with its secret: the only time the secret crosses the wire.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ApiIssuedToken))]
pub struct IssuedToken {
    pub token: TokenView,
    pub secret: String,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken").field("token", &self.token).field("secret", &"<redacted>").finish()
    }
}

/// A privilege the signed-in account may grant, for the token form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivilegeOption {
    pub name: String,
    pub label: String,
    pub dangerous: bool,
}

/// What the token form needs from the server: grantable privileges and the server's calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenFormOptions {
    pub privileges: Vec<PrivilegeOption>,
    /// The server's time zone, e.g. `Europe/Berlin`: tokens expire at 23:59:59 there.
    pub time_zone: String,
    /// Today in the server's time zone: the earliest expiry date.
    pub today: NaiveDate,
    /// The suggested expiry date: one year from today.
    pub default_expiry: NaiveDate,
}

/// A leaked token, revoked on a secret scanner's report, shown to its owner until dismissed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeakNotice {
    pub id: i64,
    pub token_name: String,
    /// Where it was found.
    pub url: Option<String>,
    pub source: Option<String>,
    /// When it was reported, formatted in the server's time zone.
    pub reported: String,
}
