//! Pure domain types and rules, shared by the browser (live validation) and the server (the authority).
//! Nothing here knows about HTTP, databases or the clock.

mod allowlist;
mod expiry;
pub mod form;
mod name;
mod password;
mod privilege;
mod rate_limit;
mod second_factor_policy;
mod secret;
mod sort;
pub mod totp;

pub use allowlist::{ALLOWLIST_MAX_ENTRIES, AllowlistError, EntryProblem, IpAllowlist, IpRange, RangeError};
pub use expiry::{Expiry, ExpiryError, ExpiryStatus};
pub use name::{AccountName, NAME_MAX_LEN, NameError, TokenName};
pub use password::{PASSWORD_MAX_LEN, PASSWORD_MIN_LEN, Strength, strength};
pub use privilege::{
    ALL, BUILTIN_PRIVILEGES, CHANGE_PASSWORDS, CREATE_ACCOUNTS, CREATE_USER_SESSION, CUSTOM_NAME_MAX_LEN, Catalog,
    CustomPrivilegeError, DELETE_ACCOUNTS, EDIT_ACCOUNTS, INTROSPECT, LABEL_MAX_LEN, LIST_ACCOUNTS, MANAGE_API_TOKENS,
    PrivilegeDef, PrivilegeError, PrivilegeInfo, PrivilegeSet, SUSPEND_ACCOUNTS, builtin, check_custom_name,
    check_label,
};
pub use rate_limit::{Period, RATE_LIMIT_MAX, RateLimit, RateLimitError};
pub use second_factor_policy::SecondFactorPolicy;
pub use secret::{SECRET_LEN, SECRET_PREFIX, SecretError, TokenSecret};
pub use sort::{TokenSort, UnknownSort};
