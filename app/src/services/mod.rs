//! Services: the operations of Tessera, each authorising its caller and recording what it changed. The web
//! app's server functions, the CLI and the HTTP API all go through here.

pub mod accounts;
pub mod actor;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod common_passwords;
mod core;
pub mod expiry_warnings;
pub mod last_used;
pub mod leaks;
pub mod metrics;
pub mod notify;
pub mod oidc;
pub mod paging;
pub mod passkeys;
pub mod password;
pub mod privileges;
pub mod random;
pub mod rate_limits;
pub mod second_factor;
pub mod sign_in_limits;
pub mod tidy;
pub mod tokens;
pub mod usage;
pub mod verify;
pub mod webhooks;

pub use actor::Actor;
pub use core::{Core, CoreConfig, OpenError};
