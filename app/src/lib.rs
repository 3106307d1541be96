//! Tessera's product crate: the domain rules, the web app (components, routes, server functions) and, behind
//! the `ssr` feature only, the store (SeaORM) and the services that use it.
//!
//! The WASM build (`hydrate`) compiles `domain`, `error`, `api` (as client stubs) and `ui`; it never sees
//! SeaORM, tokio or Argon2.

// The tokens table's view type nests deeper than rustc's default limit allows when it is compiled to code.
#![recursion_limit = "256"]

pub mod api;
pub mod domain;
pub mod error;
pub mod model;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod fuzzing;
#[cfg(feature = "ssr")]
pub mod services;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod store;

pub use ui::{App, shell};
