//! `ApiCaller<F>`: the extractor every API handler takes. It reads the `Authorization` header, finds the client
//! address and verifies the token for the privilege the function needs (SPEC §3), answering refusals in the
//! envelope of API `F`, and counts the outcome for `/metrics`. A handler that has an `ApiCaller` has a verified
//! token.

use super::{ApiError, Flavor};
use app::{
    api::client_ip::client_ip,
    domain::RateLimit,
    services::{
        metrics::Verification,
        rate_limits::Quota,
        verify::{self, Refusal, Verified},
    },
    state::WebState,
};
use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{
        HeaderMap, HeaderName, HeaderValue, StatusCode,
        header::{AUTHORIZATION, RETRY_AFTER},
        request::Parts,
    },
    response::Response,
};
use rustc_hash::FxHashMap;
use std::{marker::PhantomData, net::SocketAddr};

pub struct ApiCaller<F> {
    pub verified: Verified,
    flavor: PhantomData<F>,
}

impl<F: Flavor> FromRequestParts<WebState> for ApiCaller<F> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Response> {
        let verified = check::<F>(parts, state).await;
        let outcome = match &verified {
            Ok(_) => Verification::Ok,
            Err(Rejected::Refused(refusal)) => refusal.into(),
            Err(Rejected::Unreadable(_)) => Verification::Malformed,
            Err(Rejected::Ours(_)) => Verification::Error,
        };
        state.metrics.count_verification(outcome);
        match verified {
            Ok(verified) => Ok(Self { verified, flavor: PhantomData }),
            Err(Rejected::Refused(Refusal::RateLimited { limit, retry_after })) => {
                let refusal = Refusal::RateLimited { limit, retry_after };
                let mut response = F::render(parts.uri.path(), refusal.into());
                let quota = Quota { limit, remaining: 0, reset: retry_after };
                rate_limit_headers(response.headers_mut(), &quota, Some(retry_after));
                Err(response)
            }
            Err(Rejected::Refused(refusal)) => Err(F::render(parts.uri.path(), refusal.into())),
            Err(Rejected::Unreadable(err) | Rejected::Ours(err)) => Err(F::render(parts.uri.path(), err)),
        }
    }
}

/// The IETF rate-limit headers (draft-ietf-httpapi-ratelimit-headers) of a token with a limit, and
/// `Retry-After` when the call was refused.
pub fn rate_limit_headers(headers: &mut HeaderMap, quota: &Quota, retry_after: Option<u64>) {
    headers.insert(RATELIMIT_POLICY, policy(quota.limit));
    let state = token_field(("r", u64::from(quota.remaining)), ("t", quota.reset));
    if let Ok(value) = HeaderValue::from_bytes(state.as_bytes()) {
        headers.insert(RATELIMIT, value);
    }
    if let Some(seconds) = retry_after {
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
}

const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// Distinct limits whose `RateLimit-Policy` value a worker thread keeps; past that it starts over.
const POLICIES_KEPT: usize = 1_024;

thread_local! {
    /// The `RateLimit-Policy` value of each limit seen on this thread: a fleet has a few distinct limits, and every
    /// verified call of a limited token carries one, so it is written once and then shared (a reference count).
    static POLICIES: std::cell::RefCell<FxHashMap<RateLimit, HeaderValue>> = Default::default();
}

/// The `RateLimit-Policy` value for `limit`: `"token";q=CALLS;w=SECONDS`.
fn policy(limit: RateLimit) -> HeaderValue {
    let write = || {
        let field = token_field(("q", u64::from(limit.calls)), ("w", limit.per.seconds()));
        HeaderValue::from_bytes(field.as_bytes()).unwrap_or_else(|_| HeaderValue::from_static("\"token\""))
    };
    POLICIES.with_borrow_mut(|policies| {
        if let Some(value) = policies.get(&limit) {
            return value.clone();
        }
        if policies.len() >= POLICIES_KEPT {
            policies.clear();
        }
        policies.entry(limit).or_insert_with(write).clone()
    })
}

/// A structured-field item `"token";a=…;b=…` with two integer parameters, written into a fixed buffer without the
/// formatting machinery: every verified call of a limited token carries two of them.
fn token_field((a, a_value): (&str, u64), (b, b_value): (&str, u64)) -> FieldBuf {
    let mut field = FieldBuf { bytes: [0; 64], len: 0 };
    field.push(b"\"token\";");
    field.push(a.as_bytes());
    field.push(b"=");
    field.push_number(a_value);
    field.push(b";");
    field.push(b.as_bytes());
    field.push(b"=");
    field.push_number(b_value);
    field
}

/// Room for `"token";` and two one-letter parameters with up to 20 digits each.
struct FieldBuf {
    bytes: [u8; 64],
    len: usize,
}

impl FieldBuf {
    fn push(&mut self, more: &[u8]) {
        if let Some(room) = self.bytes.get_mut(self.len..self.len + more.len()) {
            room.copy_from_slice(more);
            self.len += more.len();
        }
    }

    fn push_number(&mut self, mut value: u64) {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        self.push(&digits[start..]);
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Why [`check`] did not verify a call.
enum Rejected {
    /// The token check said no.
    Refused(Refusal),
    /// The request could not be read (its forwarding headers, its parameters).
    Unreadable(ApiError),
    /// Our failure.
    Ours(ApiError),
}

async fn check<F: Flavor>(parts: &Parts, state: &WebState) -> Result<Verified, Rejected> {
    // Exactly one Authorization header, parsed and checksummed before anything touches the database.
    let mut values = parts.headers.get_all(AUTHORIZATION).iter();
    let presented = match (values.next(), values.next()) {
        (Some(value), None) => verify::parse_authorization(value.as_bytes()),
        _ => Err(Refusal::MissingOrMalformed),
    }
    .map_err(Rejected::Refused)?;
    let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
        tracing::error!("the API was served without the peer address (into_make_service_with_connect_info)");
        return Err(Rejected::Ours(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, Refusal::Internal.to_string())));
    };
    let ip = client_ip(peer.ip(), &parts.headers, &state.trusted_proxies)
        .map_err(|message| Rejected::Unreadable(ApiError::bad_request(message)))?;
    let required = F::required_privilege(parts).map_err(Rejected::Unreadable)?;
    verify::verify(state, &presented, ip, required.as_deref()).await.map_err(Rejected::Refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_fields_are_written_like_format_would() {
        for (a, b) in [(0, 0), (1, 60), (9, 10), (1_000_000, 3_600), (u64::MAX, u64::MAX)] {
            let field = token_field(("q", a), ("w", b));
            assert_eq!(std::str::from_utf8(field.as_bytes()).unwrap(), format!("\"token\";q={a};w={b}"));
        }
    }
}
