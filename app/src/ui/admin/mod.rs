//! The admin screens: Accounts (list, create, manage), Privileges (the operator's own, and who must use a second
//! factor), Webhooks and the Audit log.

mod account_forms;
mod accounts;
mod audit;
mod busiest;
mod privileges;
mod second_factor_policy;
mod webhooks;

pub use account_forms::{CreateAccountPage, ManageAccountPage};
pub use accounts::AccountsPage;
pub use audit::AuditPage;
pub use busiest::BusiestTokensPage;
pub use privileges::PrivilegesPage;
pub use webhooks::WebhooksPage;

use crate::{api::PrivilegeOption, domain::PrivilegeInfo};

/// The address of an account's Manage page.
pub fn account_href(name: &str) -> String {
    format!("/accounts/manage/{name}")
}

/// Catalog entries as the privilege checkboxes take them.
fn options_from(privileges: &[PrivilegeInfo]) -> Vec<PrivilegeOption> {
    privileges
        .iter()
        .map(|p| PrivilegeOption { name: p.name.clone(), label: p.label.clone(), dangerous: p.dangerous })
        .collect()
}
