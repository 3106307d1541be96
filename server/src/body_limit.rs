//! Request bodies are small in Tessera: every body outside the token APIs (server functions, anything else)
//! is read up to [`BODY_LIMIT`] before a handler sees it, and a larger one is refused with 413 and a message
//! saying so. The token APIs apply the same limit in their own extractors, answering in their own envelopes.

use crate::{api::BODY_LIMIT, same_origin::token_api};
use app::error::AppError;
use axum::{
    body::Body,
    http::{Request, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http_body_util::{BodyExt, LengthLimitError, Limited};

fn too_large() -> Response {
    let body = serde_json::to_string(&AppError::TooLarge(BODY_LIMIT / 1024)).unwrap_or_default();
    (StatusCode::PAYLOAD_TOO_LARGE, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

pub async fn limit_body(request: Request<Body>, next: Next) -> Response {
    if token_api(request.uri().path()) {
        return next.run(request).await;
    }
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT as u64) {
        return too_large();
    }
    let (parts, body) = request.into_parts();
    match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(collected) => next.run(Request::from_parts(parts, Body::from(collected.to_bytes()))).await,
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => too_large(),
        Err(err) => {
            tracing::debug!(error = %err, "reading a request body failed");
            (StatusCode::BAD_REQUEST, "The request body could not be read.\n").into_response()
        }
    }
}
