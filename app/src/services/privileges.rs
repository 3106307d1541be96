//! Operator-defined privileges (SPEC §1 [+]): names like `billing:read` for the services an operator protects
//! with Tessera. They appear in the token and account forms and work with `/api/v1/auth?privilege=NAME`.
//! Defining or removing one needs `all`; removing one takes it off every account and token.

use super::Actor;
use crate::{
    domain::{Catalog, PrivilegeInfo, builtin, check_custom_name, check_label},
    error::AppError,
    error::OnConstraint,
    model::accounts::PrivilegeRemoval,
    services::Core,
    store::{audit, privileges},
};

pub async fn catalog(state: &Core) -> Result<Catalog, AppError> {
    Ok(privileges::catalog(&state.db).await?)
}

async fn record(state: &Core, actor: &Actor, action: &str, target: &str, detail: String) -> Result<(), AppError> {
    let event = actor.event(action, target);
    Ok(audit::record_about(&state.db, event, None, Some(detail), state.clock.now()).await?)
}

pub async fn add(
    state: &Core,
    actor: &Actor,
    name: &str,
    label: &str,
    dangerous: bool,
) -> Result<PrivilegeInfo, AppError> {
    actor.require_all()?;
    let name = name.trim();
    check_custom_name(name).map_err(|e| AppError::invalid("name", e))?;
    let label = check_label(label).map_err(|e| AppError::invalid("label", e))?;
    privileges::insert(&state.db, name, label, dangerous, state.clock.now())
        .await
        .on_unique_violation(|| AppError::conflict("name", format!("The privilege “{name}” already exists.")))?;
    let detail = format!("label: {label}{}", if dangerous { " (dangerous)" } else { "" });
    record(state, actor, "privilege.add", name, detail).await?;
    Ok(PrivilegeInfo { name: name.to_owned(), label: label.to_owned(), dangerous, builtin: false })
}

/// Removes an operator-defined privilege from the catalog, every account and every token.
pub async fn remove(state: &Core, actor: &Actor, name: &str) -> Result<PrivilegeRemoval, AppError> {
    actor.require_all()?;
    if builtin(name).is_some() {
        return Err(AppError::invalid("name", format!("“{name}” is a built-in privilege and cannot be removed.")));
    }
    let removed = privileges::remove(&state.db, name)
        .await?
        .ok_or_else(|| AppError::invalid("name", format!("There is no privilege named “{name}”.")))?;
    state.verification_changed();
    let detail = format!("taken from {} account(s) and {} token(s)", removed.accounts, removed.tokens);
    record(state, actor, "privilege.remove", name, detail).await?;
    Ok(PrivilegeRemoval { accounts: removed.accounts, tokens: removed.tokens })
}
