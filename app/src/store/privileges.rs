//! Queries on operator-defined privileges. Removing one also takes it off every account and token, in one
//! transaction, so nothing keeps a privilege that no longer exists.

use super::entities::{account, privilege, token};
use crate::domain::{Catalog, PrivilegeInfo, PrivilegeSet};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};

pub use privilege::Model as CustomPrivilege;

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<CustomPrivilege>, DbErr> {
    privilege::Entity::find().order_by_asc(privilege::Column::Name).all(db).await
}

/// The built-in privileges and the operator's own.
pub async fn catalog(db: &impl ConnectionTrait) -> Result<Catalog, DbErr> {
    let custom = list(db).await?;
    Ok(Catalog::with_custom(custom.into_iter().map(|p| PrivilegeInfo {
        name: p.name,
        label: p.label,
        dangerous: p.dangerous,
        builtin: false,
    })))
}

/// Adds a privilege; a taken name fails on the primary key.
pub async fn insert(
    db: &impl ConnectionTrait,
    name: &str,
    label: &str,
    dangerous: bool,
    now: DateTime<Utc>,
) -> Result<CustomPrivilege, DbErr> {
    privilege::ActiveModel {
        name: Set(name.to_owned()),
        label: Set(label.to_owned()),
        dangerous: Set(dangerous),
        created_at: Set(now),
    }
    .insert(db)
    .await
}

/// What removing a privilege changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Removed {
    pub accounts: u64,
    pub tokens: u64,
}

/// Removes a privilege and takes it off every account and token. `None` when there was no such privilege.
/// In `txn`, the caller's write transaction (with the audit event of the removal).
pub async fn remove(txn: &impl ConnectionTrait, name: &str) -> Result<Option<Removed>, DbErr> {
    if !super::could_be_stored(name) {
        return Ok(None);
    }
    let deleted = privilege::Entity::delete_by_id(name.to_owned()).exec(txn).await?;
    if deleted.rows_affected == 0 {
        return Ok(None);
    }
    // Candidates by a coarse LIKE, then exact set arithmetic in Rust (names may contain LIKE wildcards).
    let pattern = || super::like(name, false);
    let mut removed = Removed::default();
    for found in account::Entity::find().filter(account::Column::Privileges.like(pattern())).all(txn).await? {
        if let Some(kept) = without(&found.privileges, name) {
            let mut row: account::ActiveModel = found.into();
            row.privileges = Set(kept);
            row.update(txn).await?;
            removed.accounts += 1;
        }
    }
    for found in token::Entity::find().filter(token::Column::Privileges.like(pattern())).all(txn).await? {
        if let Some(kept) = without(&found.privileges, name) {
            let mut row: token::ActiveModel = found.into();
            row.privileges = Set(kept);
            row.update(txn).await?;
            removed.tokens += 1;
        }
    }
    Ok(Some(removed))
}

/// The stored set without `name`, or `None` when it did not hold it.
fn without(stored: &str, name: &str) -> Option<String> {
    let set = PrivilegeSet::from_storage(stored);
    set.iter().any(|p| p == name).then(|| set.iter().filter(|p| *p != name).collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    #[test]
    fn removing_from_a_stored_set_touches_only_exact_names() {
        assert_eq!(super::without("billing:read list-accts", "billing:read").as_deref(), Some("list-accts"));
        assert_eq!(super::without("billing:read-all", "billing:read"), None);
        assert_eq!(super::without("billing:read", "billing:read").as_deref(), Some(""));
    }
}
