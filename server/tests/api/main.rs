//! The server's integration tests, one binary (one link instead of one per suite): each module is a suite
//! named after what it covers; `common` starts servers, databases and PostgreSQL clusters for them.

mod common;

mod accounts_http;
mod api_auth;
mod api_freshness;
mod api_logging;
mod api_native;
mod api_nginx;
mod api_uapi;
mod api_whm;
mod bad_input;
mod cli;
mod config;
mod connection_limits;
mod disk_full;
mod last_admin_postgres;
mod leaks;
mod login;
mod misc_http;
mod no_escalation;
mod notifications;
mod passkeys;
mod reliability;
mod scale_out;
mod second_factors;
mod sessions_and_csrf;
mod sign_in_throttling;
mod single_sign_on;
mod tls_and_headers;
mod tokens_http;
mod usage;
