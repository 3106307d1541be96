//! WHM API 1 compatible: `GET|POST /json-api/<function>?api.version=1` (SPEC §4), answering
//! `{"metadata":{"command":…,"reason":"OK"|…,"result":1|0,"version":1},"data":{…}}`.

use super::{ApiError, Flavor, caller::ApiCaller, common, params::Params};
use app::{
    api::{NewToken, TokenSort, TokenView},
    domain::{ALL, TokenSecret},
    error::AppError,
    services::{
        tokens::{self, MANAGE_TOKENS},
        verify,
    },
    state::WebState,
};
use axum::{
    Json,
    extract::State,
    http::{Method, StatusCode, Uri, request::Parts},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

pub struct Whm;

fn command(path: &str) -> &str {
    path.strip_prefix("/json-api/").unwrap_or_default()
}

impl Flavor for Whm {
    fn required_privilege(parts: &Parts) -> Result<Option<String>, ApiError> {
        let command = command(parts.uri.path());
        if let Some(privilege) = super::whm_accounts::required_privilege(command) {
            return Ok(Some(privilege.to_owned()));
        }
        Ok(command.starts_with("api_token_").then(|| MANAGE_TOKENS.to_owned()))
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
    let as_caller = verified.caller();
    let admin = app::services::accounts::Admin::from_caller(&as_caller);
    if let Some(result) = super::whm_accounts::run(state, &admin, command, params).await {
        return result;
    }
    match command {
        "api_token_create" => {
            let acls = params.list("acl")?;
            let new = NewToken {
                name: params.require("token_name")?.to_owned(),
                expires: common::expiry(state, verified, params.get("expires_at")?)?,
                allowlist: params.list("whitelist_ip")?.join("\n"),
                privileges: if acls.is_empty() { common::full_access(verified) } else { acls },
            };
            let issued = tokens::create(state, &as_caller, &new).await?;
            let mut data = details(&issued.token);
            data.insert("token".into(), Value::String(issued.secret));
            Ok(Value::Object(data))
        }
        "api_token_list" => {
            let grantable = common::owner_grantable(state, verified).await?;
            let mut listed = Map::new();
            for token in tokens::list_all(state, &as_caller, TokenSort::Created, true).await? {
                let full = token.privileges.iter().any(|p| p == ALL);
                let acls: Map<String, Value> = grantable
                    .iter()
                    .map(|acl| (acl.clone(), json!(u8::from(full || token.privileges.contains(acl)))))
                    .collect();
                let mut entry = details(&token);
                entry.insert("acls".into(), Value::Object(acls));
                listed.insert(token.name.clone(), Value::Object(entry));
            }
            Ok(json!({ "tokens": listed }))
        }
        "api_token_update" => {
            if params.get("expires_at")?.is_some() {
                return Err(ApiError::bad_request(
                    "A token's expiry cannot change after creation: rotate the token to choose a new one.",
                ));
            }
            let mut name = params.require("token_name")?.to_owned();
            if let Some(new_name) = params.get("new_name")?.filter(|n| !n.is_empty()) {
                let renamed = tokens::rename(state, &as_caller, &name, new_name).await?;
                name = renamed.name;
            }
            let acls = params.list("acl")?;
            let ips = params.list("whitelist_ip")?;
            let allowlist = match ips.as_slice() {
                [] => None,
                [any] if any.eq_ignore_ascii_case("any") => Some(String::new()),
                _ => Some(ips.join("\n")),
            };
            let privileges = (!acls.is_empty()).then_some(acls);
            let token = if allowlist.is_some() || privileges.is_some() {
                tokens::update(state, &as_caller, &name, allowlist.as_deref(), privileges.as_deref()).await
            } else {
                tokens::get(state, &as_caller, &name).await
            }?;
            Ok(Value::Object(details(&token)))
        }
        "api_token_revoke" => {
            let names = params.list("token_name")?;
            if names.is_empty() {
                return Err(ApiError::bad_request("The parameter “token_name” is required."));
            }
            let revoked = match tokens::revoke(state, &as_caller, &names).await {
                Ok(revoked) => revoked,
                Err(AppError::NoSuchToken(_)) => Vec::new(),
                Err(err) => return Err(err.into()),
            };
            Ok(json!({ "revoked": revoked }))
        }
        "api_token_get_details" => {
            let not_recognised = || ApiError::not_found("The API token was not recognised.");
            let secret = TokenSecret::parse(params.secret("token")?).map_err(|_| not_recognised())?;
            match verify::resolve(state, &secret).await? {
                Some((token, _)) if token.account_id == verified.account.id => {
                    Ok(Value::Object(details(&tokens::view(&token))))
                }
                _ => Err(not_recognised()),
            }
        }
        other => {
            Err(ApiError::not_found(format!("Unknown app (“{other}”) requested for this version (1) of the API.")))
        }
    }
}

/// A token's fields as WHM names them (never its secret).
fn details(token: &TokenView) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("name".into(), json!(token.name));
    data.insert("create_time".into(), json!(common::unix(token.created_at)));
    data.insert("expires_at".into(), json!(token.expires_at.map(common::unix)));
    data.insert("acls".into(), json!(token.privileges));
    let ips = (!token.allowlist.is_empty()).then(|| token.allowlist.clone());
    data.insert("whitelist_ips".into(), json!(ips));
    data
}
