//! The Accounts and Privileges screens' server functions and the types they exchange with the web app.

use crate::{domain::PrivilegeInfo, error::AppError};

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub use crate::model::accounts::{AccountPage, AccountQuery, AccountSummary, PrivilegeRemoval};

/// What the signed-in admin may do on the Accounts screen (each action needs its own privilege).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AdminRights {
    pub create: bool,
    pub suspend: bool,
    pub edit: bool,
    pub password: bool,
    pub delete: bool,
    /// Holds `all`: may define privileges and read the whole audit log.
    pub everything: bool,
}

/// The Accounts screen: a page of accounts, what the admin may do, and the privileges they may grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountsScreen {
    pub page: AccountPage,
    pub rights: AdminRights,
    pub grantable: Vec<PrivilegeInfo>,
    pub time_zone: String,
}

/// The Privileges screen: the whole catalog, and whether the viewer may change it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivilegesScreen {
    pub catalog: Vec<PrivilegeInfo>,
    pub can_edit: bool,
}

#[server(prefix = "/rpc", endpoint = "accounts_screen")]
pub async fn load_accounts(query: AccountQuery) -> Result<AccountsScreen, AppError> {
    super::context::guarded("load_accounts", async move {
        let (state, admin) = super::context::acting().await?;
        let page = crate::services::accounts::page(&state, &admin, &query).await?;
        let (rights, grantable) = rights_and_grantable(&state, &admin).await?;
        Ok(AccountsScreen { page, rights, grantable, time_zone: state.time_zone.name().into() })
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "create_account")]
pub async fn create_account(
    name: String,
    password: String,
    privileges: Vec<String>,
) -> Result<AccountSummary, AppError> {
    use crate::services::{accounts, password::Password};
    let (state, admin) = super::context::acting().await?;
    let name = crate::model::accounts::parse_account_name(&name)?;
    let account = accounts::create(&state, &admin, &name, Password::new(password), &privileges).await?;
    Ok(accounts::summary(&account, 0, &admin))
}

/// Suspends (`true`) or unsuspends (`false`) an account.
#[server(prefix = "/rpc", endpoint = "suspend_account")]
pub async fn suspend_account(name: String, suspended: bool) -> Result<(), AppError> {
    let (state, admin) = super::context::acting().await?;
    crate::services::accounts::set_suspended(&state, &admin, &name, suspended).await.map(drop)
}

/// Lifts the account's sign-in lock (after too many failed sign-ins) before it runs out.
#[server(prefix = "/rpc", endpoint = "unlock_account")]
pub async fn unlock_account(name: String) -> Result<(), AppError> {
    let (state, admin) = super::context::acting().await?;
    crate::services::accounts::unlock(&state, &admin, &name).await.map(drop)
}

/// Removes another account's second factors (it lost its authenticator app and its recovery codes).
#[server(prefix = "/rpc", endpoint = "reset_second_factors")]
pub async fn reset_second_factors(name: String) -> Result<(), AppError> {
    let (state, admin) = super::context::acting().await?;
    crate::services::second_factor::reset(&state, &admin, &name).await.map(drop)
}

#[server(prefix = "/rpc", endpoint = "rename_account")]
pub async fn rename_account(name: String, new_name: String) -> Result<(), AppError> {
    let (state, admin) = super::context::acting().await?;
    let new_name = crate::model::accounts::parse_account_name(&new_name)?;
    crate::services::accounts::rename(&state, &admin, &name, &new_name).await.map(drop)
}

#[server(prefix = "/rpc", endpoint = "set_account_privileges")]
pub async fn set_account_privileges(name: String, privileges: Vec<String>) -> Result<(), AppError> {
    let (state, admin) = super::context::acting().await?;
    crate::services::accounts::set_privileges(&state, &admin, &name, &privileges).await.map(drop)
}

#[server(prefix = "/rpc", endpoint = "reset_account_password")]
pub async fn reset_account_password(name: String, password: String) -> Result<(), AppError> {
    use crate::services::{accounts, password::Password};
    let (state, admin) = super::context::acting().await?;
    accounts::reset_password(&state, &admin, &name, Password::new(password)).await
}

/// Deletes an account and revokes its tokens; answers how many tokens went.
#[server(prefix = "/rpc", endpoint = "delete_account")]
pub async fn delete_account(name: String) -> Result<u64, AppError> {
    let (state, admin) = super::context::acting().await?;
    crate::services::accounts::delete(&state, &admin, &name).await
}

/// The contact e-mail of the named account (`None`: the signed-in one).
#[server(prefix = "/rpc", endpoint = "contact_email")]
pub async fn load_contact_email(name: Option<String>) -> Result<Option<String>, AppError> {
    super::context::guarded("load_contact_email", async move {
        let (state, actor) = super::context::acting().await?;
        let name = name.or_else(|| actor.account().map(|a| a.username.clone())).ok_or(AppError::Unauthenticated)?;
        crate::services::accounts::contact_email(&state, &actor, &name).await
    })
    .await
}

/// Sets the contact e-mail of the named account (`None`: the signed-in one); empty removes it.
#[server(prefix = "/rpc", endpoint = "set_contact_email")]
pub async fn set_contact_email(name: Option<String>, email: String) -> Result<Option<String>, AppError> {
    let (state, actor) = super::context::acting().await?;
    let name = name.or_else(|| actor.account().map(|a| a.username.clone())).ok_or(AppError::Unauthenticated)?;
    crate::services::accounts::set_contact_email(&state, &actor, &name, &email).await
}

/// The signed-in account changes its own password. Its other sessions end; this one stays signed in.
#[server(prefix = "/rpc", endpoint = "change_password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    use super::context::{client_ip, signed_in_session, state};
    use crate::services::{accounts, password::Password};
    // Everything from the request context is read before the first await.
    let state = state()?;
    let ip = client_ip();
    let (account, cookie) = signed_in_session(&state).await?;
    accounts::change_own_password(
        &state,
        &account,
        Password::new(current_password),
        Password::new(new_password),
        Some(cookie.as_str()),
        ip.as_deref(),
    )
    .await
}

#[server(prefix = "/rpc", endpoint = "privileges_screen")]
pub async fn load_privileges() -> Result<PrivilegesScreen, AppError> {
    super::context::guarded("load_privileges", async move {
        let (state, admin) = super::context::acting().await?;
        let catalog = crate::services::privileges::catalog(&state).await?;
        Ok(PrivilegesScreen { catalog: catalog.iter().cloned().collect(), can_edit: admin.holds(crate::domain::ALL) })
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "add_privilege")]
pub async fn add_privilege(name: String, label: String, dangerous: bool) -> Result<PrivilegeInfo, AppError> {
    let (state, admin) = super::context::acting().await?;
    crate::services::privileges::add(&state, &admin, &name, &label, dangerous).await
}

#[server(prefix = "/rpc", endpoint = "remove_privilege")]
pub async fn remove_privilege(name: String) -> Result<PrivilegeRemoval, AppError> {
    let (state, admin) = super::context::acting().await?;
    crate::services::privileges::remove(&state, &admin, &name).await
}

/// What the create and manage account forms need: the account (when managing one), what the admin may do,
/// and the privileges they may grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountEditor {
    pub account: Option<AccountSummary>,
    pub rights: AdminRights,
    pub grantable: Vec<PrivilegeInfo>,
}

/// The form data for creating an account (`name: None`) or managing the named one.
#[server(prefix = "/rpc", endpoint = "account_editor")]
pub async fn load_account_editor(name: Option<String>) -> Result<AccountEditor, AppError> {
    super::context::guarded("load_account_editor", async move {
        use crate::services::accounts as service;
        let (state, admin) = super::context::acting().await?;
        let account = match name {
            Some(name) => Some(service::get(&state, &admin, &name).await?),
            None => None,
        };
        let (rights, grantable) = rights_and_grantable(&state, &admin).await?;
        Ok(AccountEditor { account, rights, grantable })
    })
    .await
}

#[cfg(feature = "ssr")]
async fn rights_and_grantable(
    state: &crate::state::WebState,
    admin: &crate::services::Actor,
) -> Result<(AdminRights, Vec<PrivilegeInfo>), AppError> {
    use crate::services::accounts::*;
    let catalog = crate::services::privileges::catalog(state).await?;
    let rights = AdminRights {
        create: admin.holds(CREATE_ACCOUNTS),
        suspend: admin.holds(SUSPEND_ACCOUNTS),
        edit: admin.holds(EDIT_ACCOUNTS),
        password: admin.holds(CHANGE_PASSWORDS),
        delete: admin.holds(DELETE_ACCOUNTS),
        everything: admin.holds(crate::domain::ALL),
    };
    let grantable = catalog.iter().filter(|p| admin.may_grant_one(&p.name)).cloned().collect();
    Ok((rights, grantable))
}
