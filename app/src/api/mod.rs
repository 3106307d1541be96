//! Server functions: the web app's calls to the server. On the server they run the services; in the browser
//! they are generated client stubs. Their types are what crosses the wire.

mod auth;
#[cfg(feature = "ssr")]
pub(crate) mod context;

pub use auth::{AccountView, CurrentAccount, Login, Logout, current_account, login, logout};
