//! Request bodies are small in Tessera: every body outside the token APIs (server functions, anything else)
//! is read up to [`BODY_LIMIT`] before a handler sees it, and a larger one is refused with 413 and a message
//! saying so. The token APIs apply the same limit in their own extractors, answering in their own envelopes.

use crate::api::BODY_LIMIT;
use app::error::AppError;
use axum::body::HttpBody as _;
use axum::{
    body::Body,
    http::{Request, StatusCode, header},
    response::{IntoResponse, Response},
};
use http_body_util::{BodyExt, LengthLimitError, Limited};

fn too_large() -> Response {
    let body = serde_json::to_string(&AppError::TooLarge(BODY_LIMIT / 1024)).unwrap_or_default();
    (StatusCode::PAYLOAD_TOO_LARGE, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `request` with its body read into memory up to [`BODY_LIMIT`], or the answer to give instead: 413 for a body
/// over the limit (declared or sent), 400 for one that could not be read. A request that declares no body (most
/// GETs) is passed on as it is.
pub async fn read_limited(request: Request<Body>) -> Result<Request<Body>, Response> {
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT as u64) {
        return Err(too_large());
    }
    if request.body().is_end_stream() {
        return Ok(request);
    }
    let (parts, body) = request.into_parts();
    match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(collected) => Ok(Request::from_parts(parts, Body::from(collected.to_bytes()))),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(err) => {
            tracing::debug!(error = %err, "reading a request body failed");
            Err((StatusCode::BAD_REQUEST, "The request body could not be read.\n").into_response())
        }
    }
}
