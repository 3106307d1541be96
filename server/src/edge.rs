//! The one middleware every request passes through on its way in and out (issue 17). It does what four `from_fn`
//! middlewares and three header layers did: each of those boxed and cloned the whole stack below it for every
//! request, a fifth of a `/healthz` answer's time.
//!
//! In: a cross-site state change is refused (`same_origin`); a body outside the token APIs is read up to the limit
//! (`body_limit`); a page gets a fresh CSP nonce. Out: a server function's error gets its own status instead of
//! 500; every answer gets its security headers (`security_headers`), refusals made here included. A panic below
//! (a bug) is a logged 500 in the envelope of the API the path belongs to (`api::Envelope`), not a dropped
//! connection: one `catch_unwind` here instead of a `CatchPanic` layer per API, each of which boxed every route of
//! its router and moved the handler's future on every call.

use crate::{api::Envelope, body_limit, same_origin, security_headers};
use app::{error::AppError, services::random::base62, state::WebState};
use axum::{
    body::Body,
    extract::State,
    http::{HeaderValue, Request, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use futures_util::FutureExt;
use std::{panic::AssertUnwindSafe, sync::Arc};

/// What the edge needs from the configuration, worked out once at start.
#[derive(Clone)]
pub struct Edge(Arc<EdgeConfig>);

struct EdgeConfig {
    public_origin: Option<String>,
    hsts: Option<HeaderValue>,
}

impl Edge {
    pub fn new(state: &WebState) -> Self {
        let hsts = state.web.hsts_max_age.and_then(|max_age| HeaderValue::from_str(&format!("max-age={max_age}")).ok());
        Self(Arc::new(EdgeConfig { public_origin: state.web.public_origin.clone(), hsts }))
    }
}

/// What a path is, for the rules above.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The token APIs: authenticated by header, never a page, bodies read by their own extractors.
    TokenApi,
    /// A Leptos server function: the person's data, never a page.
    ServerFunction,
    /// Health, metrics and the site's files: never a page with inline scripts, so no nonce.
    Plain,
    /// Anything else may render the app.
    Page,
}

impl Kind {
    fn of(path: &str, envelope: Envelope) -> Self {
        if envelope != Envelope::Plain {
            Self::TokenApi
        } else if path.starts_with("/rpc/") {
            Self::ServerFunction
        } else if matches!(path, "/healthz" | "/readyz" | "/metrics")
            || path.starts_with("/pkg/")
            || path.starts_with("/assets/")
        {
            Self::Plain
        } else {
            Self::Page
        }
    }
}

pub async fn edge(State(edge): State<Edge>, request: Request<Body>, next: Next) -> Response {
    let envelope = Envelope::of(request.uri().path());
    let kind = Kind::of(request.uri().path(), envelope);
    let nonce = (kind == Kind::Page).then(|| base62(22));
    let answer = async {
        let response = match admit(&edge, kind, nonce.as_deref(), request).await {
            Ok(request) => next.run(request).await,
            Err(refused) => refused,
        };
        if response.status() == StatusCode::INTERNAL_SERVER_ERROR {
            return server_function_status(response).await;
        }
        response
    };
    let mut response = match AssertUnwindSafe(answer).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => envelope.panic_answer(panic.as_ref()),
    };
    let personal = matches!(kind, Kind::TokenApi | Kind::ServerFunction);
    security_headers::apply(response.headers_mut(), nonce.as_deref(), personal, edge.0.hsts.as_ref());
    response
}

/// The request as the routes get it, or the answer that refuses it.
async fn admit(
    edge: &Edge,
    kind: Kind,
    nonce: Option<&str>,
    mut request: Request<Body>,
) -> Result<Request<Body>, Response> {
    if let Some(refused) = same_origin::refuse_cross_site(&request, edge.0.public_origin.as_deref()) {
        return Err(refused);
    }
    if let Some(nonce) = nonce {
        request.extensions_mut().insert(security_headers::CspNonce(nonce.to_owned()));
    }
    if kind == Kind::TokenApi { Ok(request) } else { body_limit::read_limited(request).await }
}

/// Server functions answer every error with 500. This gives each error its own status (bad input 4xx, our
/// failures 5xx) by reading the typed error back from the body, so framework-made errors (missing or
/// undecodable arguments) are covered as well as ours.
async fn server_function_status(response: Response) -> Response {
    if !response.headers().contains_key("serverfnerror") {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, Body::empty()).into_response();
    };
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{Router, middleware, routing::get};
    use tower::ServiceExt;

    async fn boom() -> &'static str {
        panic!("a bug")
    }

    #[tokio::test]
    async fn a_panic_below_is_a_500_in_the_apis_envelope_with_the_security_headers() {
        let edge = Edge(Arc::new(EdgeConfig { public_origin: None, hsts: None }));
        let router = Router::new()
            .route("/api/v1/boom", get(boom))
            .route("/json-api/boom", get(boom))
            .route("/boom", get(boom))
            .layer(middleware::from_fn_with_state(edge, super::edge));
        for (path, shape) in [("/api/v1/boom", "\"error\""), ("/json-api/boom", "\"metadata\""), ("/boom", "Something")]
        {
            let request = Request::get(path).body(Body::empty()).expect("request");
            let response = router.clone().oneshot(request).await.expect("an answer, not a dropped connection");
            assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR, "{path}");
            assert_eq!(response.headers()["x-content-type-options"], "nosniff", "{path}");
            let body = axum::body::to_bytes(response.into_body(), 64 * 1024).await.expect("body");
            let body = String::from_utf8_lossy(&body);
            assert!(body.contains(shape) && !body.contains("a bug"), "{path}: {body}");
        }
    }
}
