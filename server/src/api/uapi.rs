//! cPanel UAPI compatible: `GET|POST /execute/Tokens/<function>` (SPEC §4), answering
//! `{"status":1|0,"errors":[…]|null,"messages":null,"warnings":null,"metadata":{},"data":…}`.

use super::{ApiError, Flavor, caller::ApiCaller, common, params::Params};
use app::{
    api::TokenSort,
    domain::{IpAllowlist, MANAGE_API_TOKENS},
    error::AppError,
    model::tokens::{self as model, TokenSpec},
    services::tokens,
    state::WebState,
};
use axum::{
    Json,
    extract::State,
    http::{Method, StatusCode, Uri, request::Parts},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

pub struct Uapi;

/// `Some((module, function))` for `/execute/<module>/<function>`.
fn function(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/execute/")?;
    let (module, function) = rest.split_once('/')?;
    (!module.is_empty() && !function.is_empty() && !function.contains('/')).then_some((module, function))
}

impl Flavor for Uapi {
    fn required_privilege(parts: &Parts) -> Result<Option<String>, ApiError> {
        Ok(match function(parts.uri.path()) {
            Some(("Tokens", _)) => Some(MANAGE_API_TOKENS.to_owned()),
            _ => None,
        })
    }

    fn render(_path: &str, err: ApiError) -> Response {
        let body = json!({
            "status": 0, "errors": [err.message], "messages": null, "warnings": null, "metadata": {}, "data": null,
        });
        (err.status, Json(body)).into_response()
    }
}

fn ok(data: Value) -> Response {
    Json(json!({"status": 1, "errors": null, "messages": null, "warnings": null, "metadata": {}, "data": data}))
        .into_response()
}

pub async fn execute(
    State(state): State<WebState>,
    caller: ApiCaller<Uapi>,
    method: Method,
    uri: Uri,
    params: Params<Uapi>,
) -> Response {
    match run(&state, &caller, &method, uri.path(), &params).await {
        Ok(data) => ok(data),
        Err(err) => Uapi::render(uri.path(), err),
    }
}

async fn run(
    state: &WebState,
    caller: &ApiCaller<Uapi>,
    method: &Method,
    path: &str,
    params: &Params<Uapi>,
) -> Result<Value, ApiError> {
    if method != Method::GET && method != Method::POST {
        return Err(ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Call UAPI functions with GET or POST."));
    }
    let verified = &caller.verified;
    let actor = verified.actor();
    match function(path) {
        Some(("Tokens", "create_full_access")) => {
            let spec = TokenSpec {
                rate_limit: None,
                name: model::parse_name(params.require("name")?)?,
                expiry: common::expiry(state, verified, params.get("expires_at")?)?,
                // Through a token, no allowlist means the calling token's own.
                allowlist: IpAllowlist::default(),
                privileges: common::full_access(verified),
            };
            let issued = tokens::create(state, &actor, spec).await?;
            Ok(json!({"create_time": common::unix(issued.token.created_at), "token": issued.secret}))
        }
        Some(("Tokens", "list")) => {
            let listed = tokens::list_all(state, &actor, TokenSort::Created, true).await?.into_iter().map(|token| {
                let full = token.has_full_access();
                json!({
                    "name": token.name,
                    "create_time": common::unix(token.created_at),
                    "expires_at": token.expires_at.map(common::unix),
                    "has_full_access": u8::from(full),
                    "features": if full { Vec::new() } else { token.privileges },
                })
            });
            Ok(Value::Array(listed.collect()))
        }
        Some(("Tokens", "rename")) => {
            let name = params.require("name")?;
            let new_name = params.require("new_name")?;
            tokens::rename(state, &actor, name, new_name).await?;
            Ok(Value::Null)
        }
        Some(("Tokens", "revoke")) => {
            let name = params.require("name")?;
            match tokens::revoke(state, &actor, &[name.to_owned()]).await {
                Ok(_) | Err(AppError::NoSuchToken(_)) => Ok(json!(1)),
                Err(err) => Err(err.into()),
            }
        }
        Some((module, function)) => Err(ApiError::not_found(format!(
            "Failed to load module “{module}” function “{function}”: no such function."
        ))),
        None => Err(ApiError::not_found("Call /execute/<module>/<function>.")),
    }
}
