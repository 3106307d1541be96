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
    store::{self, audit, privileges},
};
use sea_orm::ConnectionTrait;

pub async fn catalog(state: &Core) -> Result<Catalog, AppError> {
    Ok(privileges::catalog(&state.db).await?)
}

/// Records the event in `db`: the transaction of the change it describes.
async fn record(
    db: &impl ConnectionTrait,
    state: &Core,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: String,
) -> Result<(), AppError> {
    Ok(audit::record_about(db, actor.event(action, target), None, Some(detail), state.clock.now()).await?)
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
    let detail = format!("label: {label}{}", if dangerous { " (dangerous)" } else { "" });
    let txn = store::begin_write(&state.db).await?;
    let added: Result<_, AppError> = async {
        privileges::insert(&txn, name, label, dangerous, state.clock.now())
            .await
            .on_unique_violation(|| AppError::conflict("name", format!("The privilege “{name}” already exists.")))?;
        record(&txn, state, actor, "privilege.add", name, detail).await
    }
    .await;
    store::finish(txn, added).await?;
    Ok(PrivilegeInfo { name: name.to_owned(), label: label.to_owned(), dangerous, builtin: false })
}

/// Removes an operator-defined privilege from the catalog, every account and every token.
pub async fn remove(state: &Core, actor: &Actor, name: &str) -> Result<PrivilegeRemoval, AppError> {
    actor.require_all()?;
    if builtin(name).is_some() {
        return Err(AppError::invalid("name", format!("“{name}” is a built-in privilege and cannot be removed.")));
    }
    let txn = store::begin_write(&state.db).await?;
    let done: Result<_, AppError> = async {
        let removed = privileges::remove(&txn, name)
            .await?
            .ok_or_else(|| AppError::invalid("name", format!("There is no privilege named “{name}”.")))?;
        let detail = format!("taken from {} account(s) and {} token(s)", removed.accounts, removed.tokens);
        record(&txn, state, actor, "privilege.remove", name, detail).await?;
        Ok(removed)
    }
    .await;
    let removed = store::finish(txn, done).await?;
    state.verification_changed();
    Ok(PrivilegeRemoval { accounts: removed.accounts, tokens: removed.tokens })
}
