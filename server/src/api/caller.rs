//! `ApiCaller<F>`: the extractor every API handler takes. It reads the `Authorization` header, finds the client
//! address and verifies the token for the privilege the function needs (SPEC §3), answering refusals in the
//! envelope of API `F`, and counts the outcome for `/metrics`. A handler that has an `ApiCaller` has a verified
//! token.

use super::{ApiError, Flavor};
use app::{
    api::client_ip::client_ip,
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
    let policy = format!("\"token\";q={};w={}", quota.limit.calls, quota.limit.per.seconds());
    let state = format!("\"token\";r={};t={}", quota.remaining, quota.reset);
    for (name, value) in [("ratelimit-policy", policy), ("ratelimit", state)] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    if let Some(seconds) = retry_after {
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
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
