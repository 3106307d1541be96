//! Pure domain types and rules, shared by the browser (live validation) and the server (the authority).
//! Nothing here knows about HTTP, databases or the clock.

mod name;
mod privilege;

pub use name::{AccountName, NAME_MAX_LEN, NameError, TokenName};
pub use privilege::{ALL, BUILTIN_PRIVILEGES, PrivilegeDef, PrivilegeError, PrivilegeSet, builtin};
