//! The `tessera` binary's library: configuration, the axum router, embedded site assets and the CLI.
//! `main.rs` only parses arguments and dispatches here, so tests can build the same router.

pub mod assets;
pub mod cli;
pub mod config;
pub mod router;
pub mod serve;
