//! `POST /api/v1/leaks`: where a secret scanner reports Tessera tokens it found in public, in GitHub's secret
//! scanning partner format. Public (a report can only revoke), throttled per address, and, when the operator
//! gives `--leak-report-key`, accepted only with a valid ECDSA P-256 signature of the body, as GitHub signs
//! (`Github-Public-Key-Signature`: base64 of the DER signature; `Github-Public-Key-Identifier` names the key).

use super::{ApiError, native::Native};
use crate::api::Flavor;
use app::{
    api::client_ip::client_ip,
    services::leaks::{self, LeakReport, Reporter},
    state::WebState,
};
use axum::{
    Extension, Json,
    body::Bytes,
    extract::{ConnectInfo, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::Engine;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter, clock::Clock};
use p256::ecdsa::{DerSignature, VerifyingKey, signature::Verifier};
use std::{net::SocketAddr, num::NonZeroU32, sync::Arc};

/// A report's body may be larger than other API bodies: up to 1,000 secrets with where each was found.
pub const LEAK_BODY_LIMIT: usize = 1024 * 1024;
/// Reports one address may send: a burst of 20, then one every 3 seconds (20 a minute).
const BURST: u32 = 20;
const PER_MINUTE: u32 = 20;

const SIGNATURE: &str = "github-public-key-signature";

/// The public keys reports must be signed with (none: unsigned reports are accepted), and the per-address limit.
pub struct LeakIntake {
    keys: Vec<VerifyingKey>,
    /// Whether reports must be signed: a key file was configured (even one that failed to load: then nothing is
    /// accepted, rather than everything).
    signed_only: bool,
    limiter: DefaultKeyedRateLimiter<std::net::IpAddr>,
}

impl LeakIntake {
    /// From the configured key file's text (`--leak-report-key`), if any; `tessera serve` checks it at start.
    pub fn new(pem: Option<&str>) -> Self {
        let keys = match pem.map(read_keys) {
            Some(Ok(keys)) => keys,
            Some(Err(err)) => {
                tracing::error!(%err, "the leak report key cannot be read: refusing every leak report");
                Vec::new()
            }
            None => Vec::new(),
        };
        let quota = Quota::per_minute(NonZeroU32::new(PER_MINUTE).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(BURST).unwrap_or(NonZeroU32::MIN));
        Self { keys, signed_only: pem.is_some(), limiter: RateLimiter::keyed(quota) }
    }

    /// Whether `signature` (base64 of a DER ECDSA signature) signs `body` under one of the keys.
    fn signed(&self, body: &[u8], signature: Option<&HeaderValue>) -> bool {
        let Some(signature) = signature.and_then(|value| value.to_str().ok()) else { return false };
        let Ok(der) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else { return false };
        let Ok(signature) = DerSignature::try_from(der.as_slice()) else { return false };
        self.keys.iter().any(|key| key.verify(body, &signature).is_ok())
    }
}

/// The public keys in a PEM file (one or more `PUBLIC KEY` blocks, as GitHub publishes its current and next key).
pub fn read_keys(pem: &str) -> Result<Vec<VerifyingKey>, String> {
    use p256::pkcs8::DecodePublicKey;
    const END: &str = "-----END PUBLIC KEY-----";
    let mut keys = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find("-----BEGIN PUBLIC KEY-----") {
        let end = rest[start..].find(END).ok_or("a PUBLIC KEY block has no END line")? + start + END.len();
        let key = VerifyingKey::from_public_key_pem(&rest[start..end])
            .map_err(|err| format!("not an ECDSA P-256 public key: {err}"))?;
        keys.push(key);
        rest = &rest[end..];
    }
    if keys.is_empty() {
        return Err("no -----BEGIN PUBLIC KEY----- block found".into());
    }
    Ok(keys)
}

fn refuse(err: ApiError) -> Response {
    Native::render("/api/v1/leaks", err)
}

/// Report leaked tokens.
#[utoipa::path(
    post, path = "/api/v1/leaks", tag = "leaks",
    request_body(content = Vec<LeakReportBody>, description = "What a secret scanner found (GitHub's format)"),
    responses(
        (status = 200, body = Vec<LeakVerdictBody>,
            description = "One verdict per reported secret, in order; each live token reported is now revoked"),
        (status = 401, body = super::native::ErrorBody, description = "The signature is missing or wrong"),
        (status = 415, body = super::native::ErrorBody, description = "The body is not JSON"),
        (status = 429, body = super::native::ErrorBody, description = "Too many reports from this address"),
    )
)]
pub async fn report(
    State(state): State<WebState>,
    Extension(intake): Extension<Arc<LeakIntake>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let ip = match client_ip(peer.ip(), &headers, &state.trusted_proxies) {
        Ok(ip) => ip.to_canonical(),
        Err(message) => return refuse(ApiError::bad_request(message)),
    };
    if let Err(not_until) = intake.limiter.check_key(&ip) {
        let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now()).as_secs() + 1;
        let mut response = refuse(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many leak reports from your address. Try again in {wait} second(s)."),
        ));
        if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    let is_json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| {
        t.split(';').next().is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
    });
    if !is_json {
        return refuse(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send the report as JSON (Content-Type: application/json).",
        ));
    }
    let body: Bytes = match axum::body::to_bytes(body, LEAK_BODY_LIMIT).await {
        Ok(body) => body,
        Err(_) => {
            return refuse(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("A leak report is at most {} KiB.", LEAK_BODY_LIMIT / 1024),
            ));
        }
    };
    if intake.signed_only && !intake.signed(&body, headers.get(SIGNATURE)) {
        return refuse(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "This report is not signed with a key this server trusts (Github-Public-Key-Signature).",
        ));
    }
    let reports = match parse(&body) {
        Ok(reports) => reports,
        Err(err) => return refuse(err),
    };
    let reporter = Reporter::Scanner { client_ip: Some(ip.to_string()) };
    match leaks::report(&state, &reports, &reporter).await {
        Ok(outcomes) => Json(leaks::verdicts(&reports, &outcomes)).into_response(),
        Err(err) => refuse(err.into()),
    }
}

/// A JSON array of `{token, type?, url?, source?}` objects (other fields are ignored). An entry of another shape
/// refuses the whole report, naming it; a `token` that is not a live Tessera token is only answered
/// `false_positive` in its place.
fn parse(body: &[u8]) -> Result<Vec<LeakReport>, ApiError> {
    let entries: Vec<serde_json::Value> = serde_json::from_slice(body).map_err(|_| {
        ApiError::bad_request(
            "Send a JSON array of {\"token\", \"type\", \"url\", \"source\"} objects, as GitHub's secret scanning does.",
        )
    })?;
    if entries.len() > leaks::MAX_REPORTED {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("A report may carry at most {} secrets; this one has {}.", leaks::MAX_REPORTED, entries.len()),
        ));
    }
    entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            serde_json::from_value::<LeakReport>(entry).map_err(|_| {
                ApiError::bad_request(format!(
                    "Entry {} is not a {{\"token\": string, \"type\", \"url\", \"source\": string or null}} object.",
                    index + 1
                ))
            })
        })
        .collect()
}

/// One reported secret (the OpenAPI document's view of [`LeakReport`]).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct LeakReportBody {
    /// The secret found.
    token: String,
    /// The scanner's name for this kind of secret; echoed back.
    #[schema(rename = "type")]
    kind: Option<String>,
    /// Where it was found.
    url: Option<String>,
    /// What was scanned (`content`, `commit`, …).
    source: Option<String>,
}

/// The verdict on one reported secret.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct LeakVerdictBody {
    token_raw: String,
    token_type: String,
    /// `true_positive`: a Tessera token, now revoked (or revoked at an earlier report). `false_positive`: anything
    /// else (not a Tessera token, or no token has this secret).
    #[schema(pattern = "^(true|false)_positive$")]
    label: String,
}
