//! The one error type that crosses the wire from server functions to the UI. It carries what the user needs
//! (which field, what rule) and never database or internal text.

use serde::{Deserialize, Serialize};
use server_fn_error::{FromServerFnError, JsonEncoding, ServerFnErrorErr};

// Re-exported through leptos so the WASM and server builds agree on the same server_fn version.
mod server_fn_error {
    pub use leptos::server_fn::codec::JsonEncoding;
    pub use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// A login failed. Deliberately says nothing about which part was wrong.
    #[error("Invalid username or password")]
    InvalidCredentials,
    /// A failed password sign-in on a server that signs people in through single sign-on: the same answer for
    /// a wrong password and for an account that may not use one, so it tells nobody which account is the
    /// emergency one.
    #[error(
        "Invalid username or password. Passwords here are for the emergency account only: sign in with single sign-on."
    )]
    PasswordSignInOff,
    /// A second factor at sign-in that is neither a current code nor an unused recovery code.
    #[error("That code is not right. Enter the current code from your authenticator app, or an unused recovery code.")]
    InvalidCode,
    /// A passkey's answer at sign-in that did not pass the checks (or came from a key of another account).
    #[error("That passkey was not accepted. Try again, or enter a code instead.")]
    PasskeyRefused,
    /// The sign-in waiting for its second factor ended (or never was): sign in again.
    #[error("This sign-in has timed out. Please sign in again.")]
    SignInExpired,
    /// The second-factor policy covers the account and it has none yet: it may only set one up.
    #[error(
        "Your administrator requires two-factor authentication: set up an authenticator app or a passkey on the Account page first."
    )]
    SecondFactorRequired,
    /// Giving a token a dangerous privilege, with the session's last confirmation too old: confirm, then again.
    #[error(
        "Confirm it is you: enter your password (or a code from your authenticator app) to give a token this privilege."
    )]
    ConfirmationRequired,
    /// No session, or it has expired.
    #[error("Your session has ended. Please sign in again.")]
    Unauthenticated,
    /// The right password for a suspended account.
    #[error("This account is suspended. Contact your administrator.")]
    AccountSuspended,
    /// Too many failed sign-ins for this account name: locked for a while. Said alike for every name, so it
    /// does not tell whether the account exists.
    #[error(
        "Too many failed sign-ins: this account is locked for {minutes} more minute(s). Try again later or ask \
         an administrator to unlock it."
    )]
    AccountLocked { minutes: u64 },
    /// Too many failed sign-ins from this address: it must wait (429 with `Retry-After`).
    #[error("Too many failed sign-ins from your address. Try again in {} minute(s).", retry_after_seconds.div_ceil(60))]
    TooManyAttempts { retry_after_seconds: u64 },
    /// The request body is larger than the limit (in KiB).
    #[error("The request is larger than {0} KiB, the most Tessera accepts.")]
    TooLarge(usize),
    /// A state change sent from another site (cross-site request forgery), refused.
    #[error("This request came from another site, so it was refused. Open Tessera directly and try again.")]
    CrossSite,
    /// Signed in, but without the privilege the action needs.
    #[error("This needs the “{0}” privilege.")]
    Forbidden(String),
    /// Through an API token, an act on a token that reaches further than the calling one (no escalation).
    #[error("{0}")]
    BeyondCallingToken(String),
    /// A value broke a rule; `field` names the form field it belongs to.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// A unique value is taken, e.g. "name already in use".
    #[error("{message}")]
    Conflict { field: String, message: String },
    #[error("Not found")]
    NotFound,
    /// No token of the caller's account has this name (or none of these names).
    #[error("The API token “{0}” does not exist.")]
    NoSuchToken(String),
    /// The request itself was malformed (missing or undecodable arguments).
    #[error("The request was malformed: {0}")]
    BadRequest(String),
    /// The database cannot take writes right now: its disk is full, or its file or filesystem is read-only.
    /// Nothing was changed, and reads (verification of existing tokens among them) go on working (503).
    #[error(
        "Tessera cannot save changes right now: its database is full or read-only. Nothing was changed, and \
         existing tokens still work. Try again later, or tell your administrator."
    )]
    Unavailable,
    /// Something failed on the server; details are in the server log, not here.
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// The browser could not reach the server or read its answer.
    #[error("Could not reach the server ({0}). Check your connection and try again.")]
    Network(String),
}

impl AppError {
    pub fn invalid(field: &str, message: impl ToString) -> Self {
        Self::Invalid { field: field.to_owned(), message: message.to_string() }
    }

    pub fn conflict(field: &str, message: impl ToString) -> Self {
        Self::Conflict { field: field.to_owned(), message: message.to_string() }
    }

    /// The message to show next to `field`, if this error belongs to it.
    pub fn for_field(&self, field: &str) -> Option<String> {
        match self {
            Self::Invalid { field: f, message } | Self::Conflict { field: f, message } if f == field => {
                Some(message.clone())
            }
            _ => None,
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidCredentials
            | Self::PasswordSignInOff
            | Self::Unauthenticated
            | Self::InvalidCode
            | Self::PasskeyRefused
            | Self::SignInExpired => 401,
            Self::Forbidden(_)
            | Self::BeyondCallingToken(_)
            | Self::AccountSuspended
            | Self::AccountLocked { .. }
            | Self::CrossSite
            | Self::SecondFactorRequired
            | Self::ConfirmationRequired => 403,
            Self::TooManyAttempts { .. } => 429,
            Self::TooLarge(_) => 413,
            Self::NotFound | Self::NoSuchToken(_) => 404,
            Self::Conflict { .. } => 409,
            Self::Invalid { .. } => 422,
            Self::BadRequest(_) => 400,
            Self::Internal => 500,
            Self::Unavailable => 503,
            Self::Network(_) => 502,
        }
    }
}

/// A database failure is ours, not the caller's: logged here, once, and answered with the generic message, or
/// with [`AppError::Unavailable`] when the database cannot store anything (full disk, read-only file).
/// Services put `?` on every database call; no error text from the database ever reaches the wire.
#[cfg(feature = "ssr")]
impl From<sea_orm::DbErr> for AppError {
    #[track_caller]
    fn from(err: sea_orm::DbErr) -> Self {
        let at = std::panic::Location::caller();
        if cannot_store(&err) {
            tracing::error!(error = %err, %at, "the database refuses writes (disk full or read-only)");
            return Self::Unavailable;
        }
        tracing::error!(error = %err, %at, "database failure");
        Self::Internal
    }
}

/// Whether `err` says the database cannot store anything right now, rather than that the statement was wrong:
/// SQLite's `SQLITE_FULL`, `SQLITE_READONLY` and `SQLITE_IOERR` families, PostgreSQL's `disk_full` (53100) and
/// `read_only_sql_transaction` (25006, a standby or a read-only default), or the file system saying so directly.
#[cfg(feature = "ssr")]
pub fn cannot_store(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx};
    let (DbErr::Exec(RuntimeErr::SqlxError(err))
    | DbErr::Query(RuntimeErr::SqlxError(err))
    | DbErr::Conn(RuntimeErr::SqlxError(err))) = err
    else {
        return false;
    };
    match err.as_ref() {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // Extended result codes keep the primary code in the low byte.
                const SQLITE_READONLY: i32 = 8;
                const SQLITE_IOERR: i32 = 10;
                const SQLITE_FULL: i32 = 13;
                code.parse::<i32>()
                    .is_ok_and(|code| matches!(code & 0xff, SQLITE_READONLY | SQLITE_IOERR | SQLITE_FULL))
            } else {
                matches!(code.as_ref(), "53100" | "25006")
            }
        }
        sqlx::Error::Io(io) => {
            matches!(io.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::ReadOnlyFilesystem)
        }
        _ => false,
    }
}

/// Turns a unique-constraint violation into the domain's own "already in use" error; any other database error
/// goes on as it is.
#[cfg(feature = "ssr")]
pub trait OnConstraint<T> {
    fn on_unique_violation(self, in_use: impl FnOnce() -> AppError) -> Result<T, AppError>;
}

#[cfg(feature = "ssr")]
impl<T> OnConstraint<T> for Result<T, sea_orm::DbErr> {
    #[track_caller]
    fn on_unique_violation(self, in_use: impl FnOnce() -> AppError) -> Result<T, AppError> {
        use sea_orm::SqlErr;
        match self {
            Ok(value) => Ok(value),
            Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => Err(in_use()),
            Err(err) => Err(err.into()),
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(msg) | ServerFnErrorErr::MissingArg(msg) => Self::BadRequest(msg),
            ServerFnErrorErr::Request(msg) | ServerFnErrorErr::Deserialization(msg) => Self::Network(msg),
            _ => Self::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_belong_to_their_field_only() {
        let err = AppError::conflict("name", "That name is already in use.");
        assert_eq!(err.for_field("name").as_deref(), Some("That name is already in use."));
        assert_eq!(err.for_field("expiry"), None);
        assert_eq!(err.status(), 409);
    }

    #[test]
    fn errors_survive_the_wire() {
        let err = AppError::invalid("name", "The name cannot be empty.");
        let bytes = err.ser();
        assert_eq!(AppError::de(bytes), err);
    }

    #[test]
    fn login_failure_says_nothing_more() {
        assert_eq!(AppError::InvalidCredentials.to_string(), "Invalid username or password");
    }
}
