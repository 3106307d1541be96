//! The model: the values services take and return, which are also what crosses the wire to the web app and the
//! HTTP APIs (one type per shape, no mirrors). Plain data, compiled for the browser too; no database or web types.
//! The server functions in `api` re-export them for the UI.

pub mod accounts;
pub mod audit;
pub mod tokens;
pub mod usage;
pub mod webhooks;
