//! WHM API 1 compatible: `GET|POST /json-api/<function>?api.version=1` (SPEC §4), answering
//! `{"metadata":{"command":…,"reason":"OK"|…,"result":1|0,"version":1},"data":{…}}`. The envelope and the
//! dispatch live here; the functions in `tokens` (`api_token_*`) and `accounts` (account functions).

mod accounts;
mod tokens;

use super::{ApiError, Flavor, caller::ApiCaller, params::Params};
use app::state::WebState;
use axum::{
    Json,
    extract::State,
    http::{Method, StatusCode, Uri, request::Parts},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

pub struct Whm;

fn command(path: &str) -> &str {
    path.strip_prefix("/json-api/").unwrap_or_default()
}

impl Flavor for Whm {
    fn required_privilege(parts: &Parts) -> Result<Option<String>, ApiError> {
        let command = command(parts.uri.path());
        Ok(accounts::required_privilege(command).or_else(|| tokens::required_privilege(command)).map(str::to_owned))
    }

    fn render(path: &str, err: ApiError) -> Response {
        let metadata = json!({"command": command(path), "reason": err.message, "result": 0, "version": 1});
        (err.status, Json(json!({ "metadata": metadata }))).into_response()
    }
}

pub async fn execute(
    State(state): State<WebState>,
    caller: ApiCaller<Whm>,
    method: Method,
    uri: Uri,
    params: Params<Whm>,
) -> Response {
    let command = command(uri.path());
    match run(&state, &caller, &method, command, &params).await {
        Ok(data) => {
            let metadata = json!({"command": command, "reason": "OK", "result": 1, "version": 1});
            Json(json!({"metadata": metadata, "data": data})).into_response()
        }
        Err(err) => Whm::render(uri.path(), err),
    }
}

async fn run(
    state: &WebState,
    caller: &ApiCaller<Whm>,
    method: &Method,
    command: &str,
    params: &Params<Whm>,
) -> Result<Value, ApiError> {
    if method != Method::GET && method != Method::POST {
        return Err(ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Call WHM API 1 functions with GET or POST."));
    }
    if params.get("api.version")? != Some("1") {
        return Err(ApiError::bad_request("This server speaks WHM API 1 only: add api.version=1 to the request."));
    }
    let verified = &caller.verified;
    let actor = verified.actor();
    if let Some(result) = accounts::run(state, &actor, command, params).await {
        return result;
    }
    if let Some(result) = tokens::run(state, verified, &actor, command, params).await {
        return result;
    }
    Err(ApiError::not_found(format!("Unknown app (“{command}”) requested for this version (1) of the API.")))
}
