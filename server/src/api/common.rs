//! What the UAPI and WHM adapters share: Unix times, the default expiry through a token, "full access".

use super::ApiError;
use app::{
    domain::{ALL, Expiry, PrivilegeSet},
    services::verify::Verified,
    state::WebState,
};
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

/// An `expires_at` Unix time as the expiry the token services take: the date it falls on in the server's zone
/// (tokens expire at 23:59:59 of their date). Absent or empty: the calling token's own expiry date, or never.
pub fn expiry(state: &WebState, verified: &Verified, raw: Option<&str>) -> Result<Expiry, ApiError> {
    let at = match raw.map(str::trim).filter(|raw| !raw.is_empty()) {
        Some(raw) => {
            let seconds: i64 =
                raw.parse().map_err(|_| ApiError::bad_request("“expires_at” must be a Unix time (seconds)."))?;
            Some(
                DateTime::<Utc>::from_timestamp(seconds, 0)
                    .ok_or_else(|| ApiError::bad_request("“expires_at” is out of range."))?,
            )
        }
        None => verified.token.expires_at,
    };
    Ok(expiry_of(state, at))
}

/// The expiry (a date in the server's zone, or never) of a token that stops working at `at`.
pub fn expiry_of(state: &WebState, at: Option<DateTime<Utc>>) -> Expiry {
    at.map_or(Expiry::Never, |at| Expiry::On(at.with_timezone(&state.time_zone).date_naive()))
}

/// Every privilege a token-authenticated caller may grant: its effective privileges (`all` stays `all`).
pub fn full_access(verified: &Verified) -> Vec<String> {
    if verified.privileges().holds_all() {
        vec![ALL.to_owned()]
    } else {
        verified.privileges().iter().map(str::to_owned).collect()
    }
}

/// The privileges the owner could put on a token: theirs, with `all` expanded to the catalog.
pub async fn owner_grantable(state: &WebState, verified: &Verified) -> Result<BTreeSet<String>, ApiError> {
    let catalog = app::store::privileges::catalog(&state.db).await.map_err(|err| {
        tracing::error!(error = %err, "reading the privilege catalog");
        ApiError::from(app::error::AppError::Internal)
    })?;
    Ok(catalog.expand(&PrivilegeSet::from_storage(&verified.account.privileges)))
}

pub fn unix(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}
