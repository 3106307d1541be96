//! The axum router: the Leptos app and its server functions, the token API, health checks, embedded assets and the headers
//! every response carries.

use crate::{
    api, assets, compress,
    edge::{self, Edge},
    security_headers, single_sign_on,
};
use app::{
    App,
    services::metrics::{Gauges, Metrics},
    shell,
    state::WebState,
};
use axum::{
    Router,
    body::Body,
    extract::State,
    http::{HeaderValue, Request, StatusCode, header},
    middleware,
    response::{IntoResponse, Response},
    routing::get,
};
use leptos::prelude::provide_context;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use sea_orm::ConnectionTrait;
use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};
use tower::ServiceBuilder;
use tower_http::trace::{DefaultOnResponse, OnResponse, TraceLayer};

/// The app's page routes, listed once per process. Listing renders the app with resource loading switched off
/// for the whole process (Leptos's `SuppressResourceLoad` is one global flag), so a page rendered on another
/// thread meanwhile waits forever for its resources. With several servers in one process (the tests), about one
/// run in fifty hung that way on `/login` or a 404 page. Listed once, before any server exists, it cannot overlap.
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// Builds the whole application for `state`. Tests call this too.
pub fn app(state: WebState) -> Router {
    let routes = page_routes();
    let context_state = state.clone();
    let shell_options = state.leptos_options.clone();
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(api::routes(&state.web))
        .merge(single_sign_on::routes())
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(context_state.clone());
                security_headers::provide_nonce();
            },
            move || shell(shell_options.clone(), assets::root(), assets::split_modules()),
        )
        .fallback(fallback)
        // One layer made of all three: each `Router::layer` wraps every route in a boxed service of its own, and
        // the boxes, clones and moves of a request through them were measurable on every answer.
        .layer(
            ServiceBuilder::new()
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_response(CountResponses { metrics: state.metrics.clone() }),
                )
                .layer(compress::CompressLayer)
                .layer(middleware::from_fn_with_state(Edge::new(&state), edge::edge)),
        )
        .with_state(state)
}

/// Logs a request's panic by its message (a `&str` or `String` payload).
pub fn log_panic(panic: &(dyn std::any::Any + Send)) {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "a request panicked; answered 500");
}

/// The span of one request: method and path only. Never the headers (`Authorization` holds token secrets) and
/// never the query string (WHM's `api_token_get_details?token=` and UAPI calls may carry one).
fn request_span(request: &Request<Body>) -> tracing::Span {
    tracing::debug_span!("request", method = %request.method(), path = %request.uri().path())
}

/// Counts every response by status class for `/metrics`, then logs it as tower-http does by default.
#[derive(Clone)]
struct CountResponses {
    metrics: Arc<Metrics>,
}

impl<B> OnResponse<B> for CountResponses {
    fn on_response(self, response: &axum::http::Response<B>, latency: Duration, span: &tracing::Span) {
        self.metrics.count_response(response.status().as_u16());
        DefaultOnResponse::default().on_response(response, latency, span);
    }
}

/// Prometheus text (SPEC §4). No authentication and no secrets: counters only; README says where to expose it.
async fn metrics(State(state): State<WebState>) -> Response {
    let lookup = &state.token_lookup;
    let gauges = Gauges {
        verification_cache_entries: lookup.cached_entries(),
        verification_cache_hits: lookup.cache_hits(),
        verification_feed_listening: lookup.feed_listening(),
        usage_waiting: state.usage.waiting(),
        rate_limited_tokens: state.rate_limiter.tracked(),
        sqlite_memory_bytes: lookup.sqlite_memory_used(),
    };
    let mut response = state.metrics.render(gauges).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

/// Ready when the database answers.
async fn readyz(State(state): State<WebState>) -> Response {
    match state.db.execute_unprepared("SELECT 1").await {
        Ok(_) => "ready".into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Embedded assets first; anything else is the app's "Page not found", with status 404.
async fn fallback(State(state): State<WebState>, request: Request<Body>) -> Response {
    let path = request.uri().path().trim_start_matches('/');
    if let Some(response) = assets::response(path, request.headers()) {
        return response;
    }
    let context_state = state.clone();
    let options = state.leptos_options.clone();
    let render = leptos_axum::render_app_to_stream_with_context(
        move || {
            provide_context(context_state.clone());
            security_headers::provide_nonce();
        },
        move || shell(options.clone(), assets::root(), assets::split_modules()),
    );
    let mut response = render(request).await.into_response();
    if response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NOT_FOUND;
    }
    response
}
