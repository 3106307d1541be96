//! WHM API 1 account functions (SPEC §4): `listaccts`, `createacct`, `suspendacct`, `unsuspendacct`,
//! `removeacct`, `modifyacct` (rename) and `passwd`, each guarded by its WHM privilege. The account services
//! apply the same rules as the web app and the CLI (no granting what you do not hold, the last administrator).

use super::{ApiError, Params, Whm};
use app::{
    domain::PrivilegeSet,
    model::accounts::parse_account_name,
    services::{
        Actor,
        accounts::{self, *},
        password::Password,
    },
    state::WebState,
};
use serde_json::{Value, json};

/// The privilege each account function needs, or `None` when `command` is not an account function.
pub fn required_privilege(command: &str) -> Option<&'static str> {
    Some(match command {
        "listaccts" => LIST_ACCOUNTS,
        "createacct" => CREATE_ACCOUNTS,
        "suspendacct" | "unsuspendacct" => SUSPEND_ACCOUNTS,
        "removeacct" => DELETE_ACCOUNTS,
        "modifyacct" => EDIT_ACCOUNTS,
        "passwd" => CHANGE_PASSWORDS,
        _ => return None,
    })
}

/// `user`, or WHM's older spelling `username` (removeacct and createacct use the latter).
fn user(params: &Params<Whm>) -> Result<&str, ApiError> {
    match (params.get("user")?, params.get("username")?) {
        (Some(user), _) | (None, Some(user)) if !user.is_empty() => Ok(user),
        _ => Err(ApiError::bad_request("The parameter “user” is required.")),
    }
}

/// Runs an account function; `None` when `command` is not one.
pub async fn run(
    state: &WebState,
    admin: &Actor,
    command: &str,
    params: &Params<Whm>,
) -> Option<Result<Value, ApiError>> {
    required_privilege(command)?;
    Some(execute(state, admin, command, params).await)
}

async fn execute(state: &WebState, admin: &Actor, command: &str, params: &Params<Whm>) -> Result<Value, ApiError> {
    match command {
        "listaccts" => {
            let search = params.get("search")?.unwrap_or_default();
            if let Some(kind) = params.get("searchtype")?.filter(|k| !k.is_empty() && *k != "user") {
                return Err(ApiError::bad_request(format!(
                    "This server searches accounts by user only (searchtype=user), not by “{kind}”."
                )));
            }
            let listed: Vec<Value> = accounts::list_all(state, admin, search)
                .await?
                .into_iter()
                .map(|a| {
                    json!({
                        "user": a.username,
                        "suspended": u8::from(a.suspended),
                        "unix_startdate": a.created_at.timestamp(),
                        "acls": a.privileges,
                        "api_tokens": a.token_count,
                    })
                })
                .collect();
            Ok(json!({ "acct": listed }))
        }
        "createacct" => {
            let name = user(params)?;
            let password = params.secret("password")?;
            let mut acls = params.list("acl")?;
            if acls.is_empty() {
                return Err(ApiError::bad_request(
                    "Give the new account at least one privilege: acl=NAME or acl-0=NAME, acl-1=NAME, …",
                ));
            }
            acls.dedup();
            let contact = params.get("contactemail")?.unwrap_or_default();
            let password = Password::new(password.to_owned());
            let account =
                accounts::create_with_contact(state, admin, &parse_account_name(name)?, password, &acls, contact)
                    .await?;
            Ok(json!({
                "user": account.username,
                "acls": PrivilegeSet::from_storage(&account.privileges).iter().collect::<Vec<_>>(),
            }))
        }
        "suspendacct" | "unsuspendacct" => {
            let account = accounts::set_suspended(state, admin, user(params)?, command == "suspendacct").await?;
            Ok(json!({ "user": account.username, "suspended": u8::from(account.suspended) }))
        }
        "removeacct" => {
            let name = user(params)?;
            let revoked = accounts::delete(state, admin, name).await?;
            Ok(json!({ "user": name, "api_tokens_revoked": revoked }))
        }
        "modifyacct" => {
            let name = user(params)?;
            let new_name = params
                .get("newuser")?
                .filter(|n| !n.is_empty())
                .ok_or_else(|| ApiError::bad_request("modifyacct renames accounts here: give “newuser”."))?;
            let account = accounts::rename(state, admin, name, &parse_account_name(new_name)?).await?;
            Ok(json!({ "user": account.username }))
        }
        "passwd" => {
            let name = user(params)?;
            let password = params.secret("password")?;
            accounts::reset_password(state, admin, name, Password::new(password.to_owned())).await?;
            Ok(json!({ "user": name }))
        }
        _ => Err(ApiError::not_found("Unknown account function.")),
    }
}
