//! The token-authenticated HTTP API (SPEC §3–4): cPanel UAPI and WHM API 1 compatible endpoints, and the native
//! `/api/v1` (introspection, forward-auth, token CRUD, its OpenAPI document). Each API answers every error in
//! its own envelope; authentication is an extractor ([`caller::ApiCaller`]) so no handler can forget it.

pub mod caller;
mod common;
pub mod leaks;
pub mod native;
pub mod params;
pub mod uapi;
pub mod whm;

use app::{error::AppError, services::verify::Refusal, state::WebState};
use axum::{
    Router,
    http::{StatusCode, request::Parts},
    response::Response,
    routing::{any, delete, get, post},
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

/// The API routes, merged into the app's router. A panic in a handler is answered by the edge middleware in the
/// API's own envelope ([`Envelope`]).
pub fn routes(web: &app::state::WebSettings) -> Router<WebState> {
    let leak_intake = std::sync::Arc::new(leaks::LeakIntake::new(web.leak_report_keys.as_deref()));
    let uapi = Router::new().route("/execute/{*function}", any(uapi::execute));
    let whm = Router::new().route("/json-api/{*function}", any(whm::execute));
    let native = Router::new()
        .route("/api/v1/introspect", post(native::introspect))
        // Any method a proxy forwards (nginx's auth_request keeps the original one); TRACE and CONNECT are 405.
        .route(
            "/api/v1/auth",
            get(native::forward_auth)
                .head(native::forward_auth)
                .post(native::forward_auth)
                .put(native::forward_auth)
                .patch(native::forward_auth)
                .delete(native::forward_auth)
                .options(native::forward_auth),
        )
        .route("/api/v1/leaks", post(leaks::report).layer(axum::Extension(leak_intake)))
        .route("/api/v1/tokens", get(native::list_tokens).post(native::create_token))
        .route("/api/v1/tokens/self", delete(native::revoke_self))
        .route("/api/v1/tokens/{name}", get(native::get_token).patch(native::update_token).delete(native::revoke_token))
        .route("/api/v1/tokens/{name}/rotate", post(native::rotate_token))
        .route("/api/v1/tokens/{name}/usage", get(native::token_usage))
        .route("/api/v1/openapi.json", get(native::openapi))
        .route("/api/v1/{*rest}", any(native::unknown));
    uapi.merge(whm).merge(native)
}

/// Whose envelope an answer made outside a handler takes: the API a path belongs to, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    Uapi,
    Whm,
    Native,
    /// Pages, server functions, health: not a token API.
    Plain,
}

impl Envelope {
    pub fn of(path: &str) -> Self {
        if path.starts_with("/execute/") {
            Self::Uapi
        } else if path.starts_with("/json-api/") {
            Self::Whm
        } else if path.starts_with("/api/") {
            Self::Native
        } else {
            Self::Plain
        }
    }

    /// The answer to a request whose handler panicked (a bug: every bad input has its own 4xx): a 500 in this
    /// envelope rather than a dropped connection, the panic logged by its message only (never the request).
    pub fn panic_answer(self, panic: &(dyn std::any::Any + Send)) -> Response {
        crate::router::log_panic(panic);
        let err = || ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on the server.");
        match self {
            Self::Uapi => uapi::Uapi::render("", err()),
            Self::Whm => whm::Whm::render("", err()),
            Self::Native => native::Native::render("", err()),
            Self::Plain => {
                use axum::response::IntoResponse;
                (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on the server.").into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(path: &str) -> (StatusCode, String) {
        let response = Envelope::of(path).panic_answer(&"a bug");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 64 * 1024).await.expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn a_panic_is_a_500_in_the_envelope_of_the_api_its_path_belongs_to() {
        let (status, body) = answer("/api/v1/tokens").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let body: serde_json::Value = serde_json::from_str(&body).expect("native JSON");
        assert_eq!(body["error"], "internal", "{body}");

        let (status, body) = answer("/json-api/listaccts").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let body: serde_json::Value = serde_json::from_str(&body).expect("WHM JSON");
        assert_eq!(body["metadata"]["result"], 0, "{body}");

        let (status, body) = answer("/execute/Tokens/list").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let body: serde_json::Value = serde_json::from_str(&body).expect("UAPI JSON");
        assert_eq!(body["status"], 0, "{body}");

        assert_eq!(
            answer("/tokens").await,
            (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on the server.".into())
        );
    }
}
