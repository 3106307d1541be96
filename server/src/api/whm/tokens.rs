//! WHM API 1 token functions (SPEC §4): `api_token_create`, `api_token_list`, `api_token_update`,
//! `api_token_revoke` (bulk) and `api_token_get_details`, through the same token services as the web app, so
//! a token acting here never reaches beyond itself.

use super::{super::common, ApiError, Params, Whm};
use app::{
    api::{TokenSort, TokenView},
    domain::{IpAllowlist, MANAGE_API_TOKENS, TokenSecret},
    error::AppError,
    model::tokens::{self as model, TokenSpec},
    services::{
        Actor, tokens,
        verify::{self, Verified},
    },
    state::WebState,
};
use serde_json::{Map, Value, json};

/// The privilege every token function needs, or `None` when `command` is not one.
pub fn required_privilege(command: &str) -> Option<&'static str> {
    command.starts_with("api_token_").then_some(MANAGE_API_TOKENS)
}

/// Runs a token function; `None` when `command` is not one.
pub async fn run(
    state: &WebState,
    verified: &Verified,
    actor: &Actor,
    command: &str,
    params: &Params<Whm>,
) -> Option<Result<Value, ApiError>> {
    required_privilege(command)?;
    Some(execute(state, verified, actor, command, params).await)
}

async fn execute(
    state: &WebState,
    verified: &Verified,
    actor: &Actor,
    command: &str,
    params: &Params<Whm>,
) -> Result<Value, ApiError> {
    match command {
        "api_token_create" => {
            let acls = params.list("acl")?;
            let spec = TokenSpec {
                rate_limit: None,
                name: model::parse_name(params.require("token_name")?)?,
                expiry: common::expiry(state, verified, params.get("expires_at")?)?,
                allowlist: model::parse_allowlist_entries(params.list("whitelist_ip")?)?,
                privileges: if acls.is_empty() { common::full_access(verified) } else { acls },
            };
            let issued = tokens::create(state, actor, spec).await?;
            let mut data = details(&issued.token);
            data.insert("token".into(), Value::String(issued.secret));
            Ok(Value::Object(data))
        }
        "api_token_list" => {
            let grantable = common::owner_grantable(state, verified).await?;
            let mut listed = Map::new();
            for token in tokens::list_all(state, actor, TokenSort::Created, true).await? {
                let full = token.has_full_access();
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
            let name = params.require("token_name")?;
            let new_name = params.get("new_name")?.filter(|n| !n.is_empty());
            let acls = params.list("acl")?;
            let ips = params.list("whitelist_ip")?;
            let allowlist = match ips.as_slice() {
                [] => None,
                [any] if any.eq_ignore_ascii_case("any") => Some(IpAllowlist::default()),
                _ => Some(model::parse_allowlist_entries(ips)?),
            };
            let privileges = (!acls.is_empty()).then_some(acls);
            // One change, all or nothing: a refused privilege leaves the name as it was.
            let edit =
                tokens::TokenEdit { name: new_name, allowlist, privileges: privileges.as_deref(), rate_limit: None };
            let token = tokens::edit(state, actor, name, edit).await?;
            Ok(Value::Object(details(&token)))
        }
        "api_token_revoke" => {
            let names = params.list("token_name")?;
            if names.is_empty() {
                return Err(ApiError::bad_request("The parameter “token_name” is required."));
            }
            let revoked = match tokens::revoke(state, actor, &names).await {
                Ok(revoked) => revoked,
                Err(AppError::NoSuchToken(_)) => Vec::new(),
                Err(err) => return Err(err.into()),
            };
            Ok(json!({ "revoked": revoked }))
        }
        "api_token_get_details" => {
            let not_recognised = || ApiError::not_found("The API token was not recognised.");
            let secret = TokenSecret::parse(params.secret("token")?).map_err(|_| not_recognised())?;
            // Live (not revoked, expired or past its grace) and this account's: then its whole row, for the view.
            let found = verify::resolve(state, &secret).await?.filter(|found| found.account.id == verified.account.id);
            let Some(found) = found else { return Err(not_recognised()) };
            match app::store::tokens::find_by_id(&state.db, found.token.id).await.map_err(AppError::from)? {
                Some(token) => Ok(Value::Object(details(&tokens::view(&token)))),
                None => Err(not_recognised()),
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
