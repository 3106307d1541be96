//! The native API under `/api/v1` (SPEC §4): RFC 7662 introspection, forward-auth for reverse proxies, JSON token
//! CRUD mirroring the web app, and the OpenAPI document generated from these handlers. Errors are
//! `{"error": code, "message": text, "field"?: name}`; a 401 carries `WWW-Authenticate: Bearer`.

use super::{ApiError, BODY_LIMIT, Flavor, caller::ApiCaller, params::Params};
use app::{
    api::{IssuedToken, TokenPage, TokenQuery, TokenView},
    domain::{INTROSPECT, MANAGE_API_TOKENS, TokenSecret},
    model::tokens::{self as model, TokenSpec},
    services::{tokens, verify},
    state::WebState,
};
use axum::{
    Json,
    extract::{FromRequest, FromRequestParts, Path, Request, State},
    http::{HeaderName, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use utoipa::{
    IntoParams, Modify, OpenApi, ToSchema,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

pub struct Native;

impl Flavor for Native {
    fn required_privilege(parts: &Parts) -> Result<Option<String>, ApiError> {
        let path = parts.uri.path();
        if path == "/api/v1/introspect" {
            Ok(Some(INTROSPECT.to_owned()))
        } else if path == "/api/v1/tokens/self" {
            // A token may always revoke itself.
            Ok(None)
        } else if path == "/api/v1/tokens" || path.starts_with("/api/v1/tokens/") {
            Ok(Some(MANAGE_API_TOKENS.to_owned()))
        } else if path == "/api/v1/auth" {
            let pairs = app::domain::form::decode(parts.uri.query().unwrap_or_default())?;
            let mut wanted = pairs.into_iter().filter(|(key, _)| key == "privilege").map(|(_, value)| value);
            match (wanted.next(), wanted.next()) {
                (_, Some(_)) => Err(ApiError::bad_request("The parameter “privilege” was given more than once.")),
                (privilege, None) => Ok(privilege.filter(|p| !p.is_empty())),
            }
        } else {
            Ok(None)
        }
    }

    fn render(_path: &str, err: ApiError) -> Response {
        let code = match err.status {
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::CONFLICT => "conflict",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            status if status.is_server_error() => "internal",
            _ => "bad_request",
        };
        let body = ErrorBody { error: code.to_owned(), message: err.message, field: err.field };
        let mut response = (err.status, Json(body)).into_response();
        if err.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"tessera\""));
        }
        response
    }
}

/// Any refusal of this API, answered in its JSON envelope: handlers return `Result<_, NativeError>` and use `?`
/// on services (`AppError`), parameters (`ApiError`) and the extractors below alike.
pub struct NativeError(ApiError);

impl<E: Into<ApiError>> From<E> for NativeError {
    fn from(err: E) -> Self {
        Self(err.into())
    }
}

impl IntoResponse for NativeError {
    fn into_response(self) -> Response {
        Native::render("", self.0)
    }
}

type NativeResult<T> = Result<T, NativeError>;

/// An error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// `unauthorized`, `forbidden`, `not_found`, `conflict`, `invalid`, `bad_request`, …
    pub error: String,
    pub message: String,
    /// The request field a validation error belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// 1–50 of `A-Z a-z 0-9 - _`, unique per account.
    #[schema(min_length = 1, max_length = 50, pattern = "^[A-Za-z0-9_-]+$")]
    pub name: String,
    /// `never` or the last day the token works, `YYYY-MM-DD`. Default: the calling token's expiry date, or never.
    #[schema(pattern = "^(never|[0-9]{4}-[0-9]{2}-[0-9]{2})$")]
    pub expires: Option<String>,
    /// Addresses or CIDR ranges; empty or absent: the calling token's allowlist.
    #[serde(default)]
    pub allowlist: Vec<String>,
    /// At least one; within the calling token's effective privileges.
    #[schema(min_items = 1)]
    pub privileges: Vec<String>,
    /// `N/second`, `N/minute` or `N/hour` (N from 1 to 1,000,000), enforced by each instance; empty or absent:
    /// unlimited (through a limited token: the calling token's limit).
    #[schema(pattern = "^([0-9]+/(second|minute|hour))?$")]
    pub rate_limit: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTokenRequest {
    /// A new name.
    #[schema(min_length = 1, max_length = 50, pattern = "^[A-Za-z0-9_-]+$")]
    pub name: Option<String>,
    /// Replaces the allowlist.
    pub allowlist: Option<Vec<String>>,
    /// Replaces the privileges (at least one).
    #[schema(min_items = 1)]
    pub privileges: Option<Vec<String>>,
    /// Replaces the rate limit (`N/second`, `N/minute`, `N/hour`); empty removes it.
    #[schema(pattern = "^([0-9]+/(second|minute|hour))?$")]
    pub rate_limit: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateTokenRequest {
    /// A new expiry (`never` or `YYYY-MM-DD`); absent: keep the current one.
    #[schema(pattern = "^(never|[0-9]{4}-[0-9]{2}-[0-9]{2})$")]
    pub expires: Option<String>,
    /// Minutes the old secret keeps working (0–1440).
    #[serde(default)]
    #[schema(maximum = 1440)]
    pub grace_minutes: u32,
}

/// Query parameters of the token list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Part of a name, case-insensitive.
    pub search: Option<String>,
    /// `true`: only live tokens that expire within 7 days.
    pub expiring: Option<bool>,
    /// `created` (default), `name`, `expires`, `last_used` or `requests` (calls in the last 30 days).
    #[param(pattern = "^(created|name|expires|last_used|requests)$")]
    pub sort: Option<String>,
    /// Default `true`.
    pub descending: Option<bool>,
    /// From 1 to 1,000,000.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// 10, 20 (default), 50 or 100.
    #[param(minimum = 10, maximum = 100)]
    pub per_page: Option<u64>,
}

/// RFC 7662 introspection request (form-encoded).
#[derive(Debug, Deserialize, ToSchema)]
pub struct IntrospectRequest {
    #[schema(min_length = 1)]
    pub token: String,
}

/// RFC 7662 introspection response. Only `active` when the token is not active.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Effective privileges, space-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Expiry (Unix time); absent when the token never expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Creation (Unix time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_name: Option<String>,
}

/// A JSON body, refused in this API's envelope when it is too large, not JSON, or not the expected shape.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<WebState> for JsonBody<T> {
    type Rejection = NativeError;

    async fn from_request(request: Request, _state: &WebState) -> Result<Self, NativeError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.split(';').next())
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(
                ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Send a JSON body (application/json).").into()
            );
        }
        let bytes = axum::body::to_bytes(request.into_body(), BODY_LIMIT).await.map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("The request body is larger than {} KiB.", BODY_LIMIT / 1024),
            )
        })?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|err| ApiError::bad_request(format!("The JSON body does not fit: {err}")).into())
    }
}

/// The `{name}` of a token path, refused in this API's envelope when it does not decode.
pub struct TokenPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for TokenPath {
    type Rejection = NativeError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, NativeError> {
        let Path(name) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("The token name in the path is not valid."))?;
        Ok(Self(name))
    }
}

/// RFC 7662 token introspection.
#[utoipa::path(
    post, path = "/api/v1/introspect", tag = "tokens",
    request_body(content = IntrospectRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Whether the token is active, and if so whose and what it may do", body = Introspection),
        (status = 401, description = "The caller's own token is not valid", body = ErrorBody),
        (status = 403, description = "The caller lacks the `introspect` privilege", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn introspect(
    State(state): State<WebState>,
    _caller: ApiCaller<Native>,
    params: Params<Native>,
) -> NativeResult<Json<Introspection>> {
    let raw = params.secret("token")?;
    let Ok(secret) = TokenSecret::parse(raw) else { return Ok(Json(Introspection::default())) };
    let Some(found) = verify::resolve(&state, &secret).await? else {
        return Ok(Json(Introspection::default()));
    };
    let token = &found.token;
    Ok(Json(Introspection {
        active: true,
        username: Some(found.account.username.clone()),
        scope: Some(found.checks.privileges.to_storage()),
        exp: token.expires_at.map(|at| at.timestamp()),
        iat: Some(token.created_at.timestamp()),
        token_name: Some(token.name.to_string()),
    }))
}

const X_TESSERA_USER: HeaderName = HeaderName::from_static("x-tessera-user");
const X_TESSERA_TOKEN: HeaderName = HeaderName::from_static("x-tessera-token");
const X_TESSERA_PRIVILEGES: HeaderName = HeaderName::from_static("x-tessera-privileges");

/// Forward-auth for reverse proxies (nginx `auth_request`, Traefik `forwardAuth`, Caddy `forward_auth`).
#[utoipa::path(
    method(get, head, post, put, patch, delete, options), path = "/api/v1/auth", tag = "forward-auth",
    params(("privilege" = Option<String>, Query, description = "The privilege the protected resource needs")),
    responses(
        (status = 200, description = "Allowed; `X-Tessera-User`, `X-Tessera-Token` and `X-Tessera-Privileges` name the caller"),
        (status = 401, description = "No valid token (`WWW-Authenticate: Bearer`)", body = ErrorBody),
        (status = 403, description = "The client address or the privilege is refused", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn forward_auth(caller: ApiCaller<Native>) -> Response {
    let verified = &caller.verified;
    let privileges = verified.privileges().to_storage();
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    // Room for these and the security headers the layers add on the way out, allocated once.
    let _ = headers.try_reserve(24);
    for (name, value) in [
        (X_TESSERA_USER, verified.account.username.as_str()),
        (X_TESSERA_TOKEN, &*verified.token.name),
        (X_TESSERA_PRIVILEGES, privileges.as_str()),
    ] {
        // Names are plain ASCII by the domain rules; a value that is not a valid header is left out.
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(quota) = &verified.quota {
        super::caller::rate_limit_headers(headers, quota, None);
    }
    response
}

/// List the calling account's tokens.
#[utoipa::path(
    get, path = "/api/v1/tokens", tag = "tokens", params(ListQuery),
    responses((status = 200, body = TokenPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list_tokens(
    State(state): State<WebState>,
    caller: ApiCaller<Native>,
    params: Params<Native>,
) -> NativeResult<Json<TokenPage>> {
    let query = list_query(&params)?;
    let page = tokens::list(&state, &caller.verified.actor(), &query).await?;
    Ok(Json(page))
}

fn list_query(params: &Params<Native>) -> Result<TokenQuery, ApiError> {
    let mut query = TokenQuery::default();
    if let Some(search) = params.get("search")? {
        query.search = search.to_owned();
    }
    if let Some(sort) = params.get("sort")? {
        query.sort = sort.parse().map_err(|e: app::domain::UnknownSort| ApiError::bad_request(e.to_string()))?;
    }
    if let Some(expiring) = params.get("expiring")? {
        query.expiring = expiring.parse().map_err(|_| ApiError::bad_request("“expiring” is true or false."))?;
    }
    if let Some(descending) = params.get("descending")? {
        query.descending = descending.parse().map_err(|_| ApiError::bad_request("“descending” is true or false."))?;
    }
    let number = |name: &str, raw: &str| {
        raw.parse::<u64>().map_err(|_| ApiError::bad_request(format!("“{name}” must be a whole number.")))
    };
    if let Some(page) = params.get("page")? {
        query.page = number("page", page)?;
    }
    if let Some(per_page) = params.get("per_page")? {
        query.per_page = number("per_page", per_page)?;
    }
    Ok(query)
}

/// Create a token; the secret is in the answer, and only there.
#[utoipa::path(
    post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateTokenRequest,
    responses((status = 201, body = IssuedToken), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn create_token(
    State(state): State<WebState>,
    caller: ApiCaller<Native>,
    JsonBody(request): JsonBody<CreateTokenRequest>,
) -> NativeResult<(StatusCode, Json<IssuedToken>)> {
    let verified = &caller.verified;
    let spec = TokenSpec {
        name: model::parse_name(&request.name)?,
        expiry: match request.expires {
            Some(raw) => model::parse_expiry(&raw, tokens::today(&state))?,
            None => super::common::expiry_of(&state, verified.token.expires_at),
        },
        allowlist: model::parse_allowlist_entries(request.allowlist)?,
        privileges: request.privileges,
        rate_limit: model::parse_rate_limit(request.rate_limit.as_deref().unwrap_or_default())?,
    };
    let issued = tokens::create(&state, &verified.actor(), spec).await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

/// Query parameters of a token's usage.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// Start of the period (RFC 3339); default: 30 days before `to`.
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// End of the period (RFC 3339); default: now. At most 400 days after `from` (31 with `bucket=hour`).
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// `day` (default; days in the server's time zone) or `hour`.
    #[param(pattern = "^(hour|day)$")]
    pub bucket: Option<String>,
}

/// A token's calls over a period, by hour or day and outcome, and the addresses it was used from.
#[utoipa::path(
    get, path = "/api/v1/tokens/{name}/usage", tag = "tokens", params(("name" = String, Path), UsageQuery),
    responses((status = 200, body = app::model::usage::UsageReport), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn token_usage(
    State(state): State<WebState>,
    caller: ApiCaller<Native>,
    TokenPath(name): TokenPath,
    params: Params<Native>,
) -> NativeResult<Json<app::model::usage::UsageReport>> {
    let time = |field: &str| -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
        params
            .get(field)?
            .map(|raw| {
                chrono::DateTime::parse_from_rfc3339(raw).map(|at| at.to_utc()).map_err(|_| {
                    ApiError::from(app::error::AppError::invalid(
                        field,
                        format!("“{field}” is a time in RFC 3339, e.g. 2026-11-30T00:00:00Z."),
                    ))
                })
            })
            .transpose()
    };
    let (from, to) = (time("from")?, time("to")?);
    let bucket = match params.get("bucket")? {
        Some(raw) => raw.parse::<app::services::usage::Bucket>()?,
        None => app::services::usage::Bucket::Day,
    };
    let report = app::services::usage::report(&state, &caller.verified.actor(), &name, from, to, bucket).await?;
    Ok(Json(report))
}

/// One token.
#[utoipa::path(
    get, path = "/api/v1/tokens/{name}", tag = "tokens", params(("name" = String, Path)),
    responses((status = 200, body = TokenView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_token(
    State(state): State<WebState>,
    caller: ApiCaller<Native>,
    TokenPath(name): TokenPath,
) -> NativeResult<Json<TokenView>> {
    Ok(Json(tokens::get(&state, &caller.verified.actor(), &name).await?))
}

/// Rename a token, or replace its allowlist or privileges. Expiry cannot change: rotate instead.
#[utoipa::path(
    patch, path = "/api/v1/tokens/{name}", tag = "tokens", params(("name" = String, Path)),
    request_body = UpdateTokenRequest,
    responses((status = 200, body = TokenView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn update_token(
    State(state): State<WebState>,
    caller: ApiCaller<Native>,
    TokenPath(name): TokenPath,
    JsonBody(request): JsonBody<UpdateTokenRequest>,
) -> NativeResult<Json<TokenView>> {
    let allowlist = request.allowlist.map(model::parse_allowlist_entries).transpose()?;
    let edit = tokens::TokenEdit {
        name: request.name.as_deref(),
        allowlist,
        privileges: request.privileges.as_deref(),
        rate_limit: request.rate_limit.as_deref().map(model::parse_rate_limit).transpose()?,
    };
    Ok(Json(tokens::edit(&state, &caller.verified.actor(), &name, edit).await?))
}

/// Revoke a token.
#[utoipa::path(
    delete, path = "/api/v1/tokens/{name}", tag = "tokens", params(("name" = String, Path)),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn revoke_token(
    State(state): State<WebState>,
    caller: ApiCaller<Native>,
    TokenPath(name): TokenPath,
) -> NativeResult<StatusCode> {
    tokens::revoke(&state, &caller.verified.actor(), std::slice::from_ref(&name)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revoke the calling token itself (any token may, whatever its privileges): for a holder who suspects it leaked.
/// The path `self` always means the calling token; a token named "self" is reached by its name only elsewhere.
#[utoipa::path(
    delete, path = "/api/v1/tokens/self", tag = "tokens",
    responses((status = 204, description = "The calling token is revoked"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn revoke_self(State(state): State<WebState>, caller: ApiCaller<Native>) -> NativeResult<StatusCode> {
    tokens::revoke_itself(&state, &caller.verified.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace a token's secret, keeping its name, allowlist and privileges.
#[utoipa::path(
    post, path = "/api/v1/tokens/{name}/rotate", tag = "tokens", params(("name" = String, Path)),
    request_body = RotateTokenRequest,
    responses((status = 200, body = IssuedToken), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn rotate_token(
    State(state): State<WebState>,
    caller: ApiCaller<Native>,
    TokenPath(name): TokenPath,
    JsonBody(request): JsonBody<RotateTokenRequest>,
) -> NativeResult<Json<IssuedToken>> {
    let expiry = request.expires.map(|raw| model::parse_expiry(&raw, tokens::today(&state))).transpose()?;
    let issued = tokens::rotate(&state, &caller.verified.actor(), &name, expiry, request.grace_minutes).await?;
    Ok(Json(issued))
}

/// Anything else under `/api/v1`: a 404 in this API's envelope.
pub async fn unknown() -> NativeError {
    ApiError::not_found("No such API endpoint; see /api/v1/openapi.json.").into()
}

/// The refusals every operation may give before its own logic runs, documented once: malformed parameters (400),
/// a body over the limit (413) and, where the body is JSON, another content type (415).
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
            ResponseBuilder::new().description(description).content("application/json", content).build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.head,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
                &mut item.options,
            ];
            for operation in operations.into_iter().flatten() {
                let json_body = matches!(&operation.request_body, Some(utoipa::openapi::RefOr::T(body))
                    if body.content.contains_key("application/json"));
                let responses = &mut operation.responses.responses;
                responses.entry("400".into()).or_insert_with(|| error("Malformed parameters or body").into());
                responses.entry("413".into()).or_insert_with(|| error("The body is larger than 64 KiB").into());
                if operation.security.is_some() {
                    responses.entry("429".into()).or_insert_with(|| {
                        error("Over the token's rate limit: `Retry-After`, `RateLimit` and `RateLimit-Policy` say more")
                            .into()
                    });
                }
                responses.entry("503".into()).or_insert_with(|| {
                    error("The database cannot store changes right now (disk full or read-only); nothing was changed")
                        .into()
                });
                if json_body {
                    responses
                        .entry("415".into())
                        .or_insert_with(|| error("The body is not JSON (`Content-Type: application/json`)").into());
                }
            }
        }
    }
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("tsr_ API token")
                    .description(Some("`Authorization: Bearer tsr_…`"))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Tessera native API", description = "Token introspection, forward-auth and API token management."),
    paths(
        introspect, forward_auth, list_tokens, create_token, get_token, update_token, revoke_token, revoke_self,
        rotate_token, token_usage, super::leaks::report
    ),
    components(schemas(
        ErrorBody, TokenView, TokenPage, IssuedToken, CreateTokenRequest, UpdateTokenRequest,
        RotateTokenRequest, IntrospectRequest, Introspection, super::leaks::LeakReportBody,
        app::model::usage::UsageReport, app::model::usage::UsageBucket, app::model::usage::AddressSeen,
        super::leaks::LeakVerdictBody
    )),
    modifiers(&BearerAuth, &CommonResponses)
)]
pub struct ApiDoc;

/// The OpenAPI 3 document of this API, generated from the handlers above.
pub async fn openapi() -> Response {
    Json(ApiDoc::openapi()).into_response()
}
