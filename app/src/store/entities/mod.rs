//! SeaORM entities, one file per table.

pub mod account;
pub mod account_contact;
pub mod audit_event;
pub mod delivery;
pub mod expiry_warning;
pub mod passkey;
pub mod passkey_ceremony;
pub mod privilege;
pub mod recovery_code;
pub mod session;
pub mod setting;
pub mod sign_in_challenge;
pub mod sign_in_failure;
pub mod sign_in_lock;
pub mod sso_login;
pub mod token;
pub mod token_address;
pub mod token_leak;
pub mod token_request;
pub mod token_usage;
pub mod totp_factor;
pub mod webhook_endpoint;
