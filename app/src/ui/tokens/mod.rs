//! The API Tokens screens: the list (`list`), the create form (`create`), the one-time reveal of a secret
//! (`reveal`) and the Manage page (`manage`), with the form fields they share (`fields`).

mod create;
pub(crate) mod fields;
mod list;
mod manage;
mod notices;
mod reveal;
mod usage;

pub use create::CreateTokenPage;
pub use list::TokensPage;
pub use manage::ManageTokenPage;

use leptos::prelude::*;

/// Set while a secret is on screen and not yet confirmed as saved: leaving then asks first.
#[derive(Clone, Copy)]
pub struct LeaveGuard(pub RwSignal<bool>);

/// The address of a token's Manage page.
pub fn manage_href(name: &str) -> String {
    format!("/tokens/manage/{name}")
}
