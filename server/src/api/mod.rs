//! The token-authenticated HTTP API (SPEC §3–4): cPanel UAPI and WHM API 1 compatible endpoints, and the native
//! `/api/v1` (introspection, forward-auth, token CRUD, its OpenAPI document). Each API answers every error in
//! its own envelope; authentication is an extractor ([`caller::ApiCaller`]) so no handler can forget it.

pub mod caller;
mod common;
pub mod native;
pub mod params;
pub mod uapi;
pub mod whm;

use app::{error::AppError, services::verify::Refusal, state::WebState};
use axum::{
    Router,
    http::{StatusCode, request::Parts},
    response::Response,
    routing::{any, get, post},
};

/// Requests and form bodies larger than this are refused (413) before they are parsed.
pub const BODY_LIMIT: usize = 64 * 1024;

/// An error for the caller, rendered in the envelope of the API it came through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// The form field a validation error belongs to, when there is one.
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), field: None }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::new(status, refusal.to_string())
    }
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let field = match &err {
            AppError::Invalid { field, .. } | AppError::Conflict { field, .. } => Some(field.clone()),
            _ => None,
        };
        Self { status, message: err.to_string(), field }
    }
}

/// One of the three APIs: which privilege each of its functions needs, and how its errors look.
pub trait Flavor: Send + Sync + 'static {
    /// The privilege the requested function needs; `None` when it only needs a valid token.
    fn required_privilege(parts: &Parts) -> Result<Option<String>, ApiError>;
    /// `err` in this API's envelope; `path` is the request path (WHM names the function in its errors).
    fn render(path: &str, err: ApiError) -> Response;
}

/// The API routes, merged into the app's router.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/execute/{*function}", any(uapi::execute))
        .route("/json-api/{*function}", any(whm::execute))
        .route("/api/v1/introspect", post(native::introspect))
        .route("/api/v1/auth", any(native::forward_auth))
        .route("/api/v1/tokens", get(native::list_tokens).post(native::create_token))
        .route("/api/v1/tokens/{name}", get(native::get_token).patch(native::update_token).delete(native::revoke_token))
        .route("/api/v1/tokens/{name}/rotate", post(native::rotate_token))
        .route("/api/v1/openapi.json", get(native::openapi))
        .route("/api/v1/{*rest}", any(native::unknown))
}
