//! SeaORM entities, one file per table.

pub mod account;
pub mod audit_event;
pub mod privilege;
pub mod session;
pub mod sign_in_failure;
pub mod sign_in_lock;
pub mod token;
pub mod token_leak;
