//! Command-line and environment configuration.

use app::{domain::IpRange, store::DEFAULT_DATABASE_URL};
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;

#[derive(Debug, Parser)]
#[command(name = "tessera", version, about = "Tessera: a self-hosted API token manager")]
pub struct Cli {
    /// Database to use: `sqlite://path/to/file.db` or `postgres://user:pass@host/db`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,

    /// Time zone in which tokens expire (at 23:59:59 of their expiry date), e.g. `Europe/Berlin`.
    /// Defaults to the system's zone (`TZ`, then /etc/timezone), else UTC.
    #[arg(long, env = "TESSERA_TIME_ZONE", global = true)]
    pub time_zone: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app and the API.
    Serve(ServeArgs),
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TESSERA_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Minutes of inactivity after which a browser session ends.
    #[arg(long, env = "TESSERA_SESSION_IDLE_MINUTES", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub session_idle_minutes: u32,
    /// Hours after sign-in at which a browser session ends, however active.
    #[arg(long, env = "TESSERA_SESSION_MAX_HOURS", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=720))]
    pub session_max_hours: u32,
    /// Mark the session cookie `Secure`. Set this when users reach Tessera over HTTPS (through a TLS proxy).
    #[arg(long, env = "TESSERA_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// A reverse proxy (address or CIDR range) whose `X-Forwarded-For` / `Forwarded` headers name the real
    /// client. Repeatable; the environment variable takes a comma-separated list. Other peers' headers are ignored.
    #[arg(long = "trusted-proxy", env = "TESSERA_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_proxy)]
    pub trusted_proxies: Vec<IpRange>,
}

fn parse_proxy(raw: &str) -> Result<IpRange, String> {
    IpRange::parse(raw.trim()).map_err(|e| e.to_string())
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account. Prints a generated password unless --password-stdin is given.
    Create {
        /// Username: 1–50 of A-Z a-z 0-9 - _.
        name: String,
        /// Comma-separated privileges, e.g. `manage-api-tokens,list-accts`, or `all`.
        #[arg(long)]
        privileges: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret, alone, on stdout (shown only this once).
    Create {
        /// The account the token belongs to.
        #[arg(long)]
        account: String,
        /// Token name: 1–50 of A-Z a-z 0-9 - _, unique per account.
        #[arg(long)]
        name: String,
        /// `never`, or the last day the token works, YYYY-MM-DD. Default: one year from today.
        #[arg(long)]
        expires: Option<String>,
        /// An allowed client address or CIDR range (repeatable; none: any address).
        #[arg(long = "ip")]
        ips: Vec<String>,
        /// A privilege to grant (repeatable; at least one; only privileges the account holds).
        #[arg(long = "privilege")]
        privileges: Vec<String>,
    },
    /// List an account's tokens.
    List {
        #[arg(long)]
        account: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Rename a token.
    Rename {
        #[arg(long)]
        account: String,
        old: String,
        new: String,
    },
    /// Revoke tokens by name, or every token of the account with --all.
    Revoke {
        #[arg(long)]
        account: String,
        /// Revoke every token of the account.
        #[arg(long, conflicts_with = "names")]
        all: bool,
        #[arg(required_unless_present = "all")]
        names: Vec<String>,
    },
}
