//! The `tessera` binary's library: configuration, the axum router, embedded site assets and the CLI.
//! `main.rs` only parses arguments and dispatches here, so tests can build the same router.

// The web app's view types (monomorphised here) nest deeper than rustc's default limit allows.
#![recursion_limit = "256"]

pub mod api;
pub mod assets;
pub mod body_limit;
pub mod cli;
pub mod compress;
pub mod config;
pub mod connections;
pub mod edge;
pub mod router;
pub mod same_origin;
pub mod security_headers;
pub mod serve;
pub mod single_sign_on;
pub mod startup;
pub mod tls;
