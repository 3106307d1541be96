//! Command-line and environment configuration.

use app::{api::client_ip::ForwardedHeader, domain::IpRange, store::DEFAULT_DATABASE_URL};
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
    Serve(Box<ServeArgs>),
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage operator-defined privileges (e.g. `billing:read`).
    #[command(subcommand)]
    Privilege(PrivilegeCommand),
    /// Read the audit log, newest first.
    Audit(AuditArgs),
    /// Manage webhook endpoints (events about tokens and accounts, signed as Standard Webhooks says).
    #[command(subcommand)]
    Webhook(WebhookCommand),
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Add an endpoint and print its signing secret (`whsec_…`), shown only this once.
    Add {
        /// The endpoint's URL (https://; http:// only with --allow-http).
        url: String,
        /// An event to send there (repeatable): token.created, token.revoked, token.expiring, token.expired,
        /// token.leaked, account.suspended.
        #[arg(long = "event", required = true)]
        events: Vec<String>,
        /// Accept an http:// URL (a receiver on the same host or network).
        #[arg(long)]
        allow_http: bool,
    },
    /// List endpoints with their latest deliveries.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Remove an endpoint (by the id `list` shows) and its deliveries.
    Remove { id: i64 },
    /// Queue a `webhook.test` event for an endpoint (a running server sends it).
    Test { id: i64 },
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
    /// Mark the session cookie `Secure` (and name it `__Host-tessera_session`). Implied by an `https://`
    /// `--public-url`.
    #[arg(long, env = "TESSERA_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Serve HTTPS with this PEM certificate chain (with `--tls-key`). Cookies become Secure and `__Host-`.
    #[arg(long, env = "TESSERA_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of `--tls-cert`.
    #[arg(long, env = "TESSERA_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Send `Strict-Transport-Security: max-age=SECONDS` (only over HTTPS: with `--tls-cert` or an https public URL).
    #[arg(long, env = "TESSERA_HSTS_MAX_AGE")]
    pub hsts_max_age: Option<u64>,
    /// The address people reach Tessera at, when a proxy stands in front, e.g. `https://tessera.example.com`.
    /// Its origin is the only one state changes are accepted from; `https://` makes the cookie Secure.
    #[arg(long, env = "TESSERA_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,
    /// A reverse proxy (address or CIDR range) whose `X-Forwarded-For` / `Forwarded` headers name the real
    /// client. Repeatable; the environment variable takes a comma-separated list. Other peers' headers are ignored.
    #[arg(long = "trusted-proxy", env = "TESSERA_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_proxy)]
    pub trusted_proxies: Vec<IpRange>,
    /// The one header trusted proxies name the client in: `x-forwarded-for` or `forwarded` (RFC 7239). The
    /// other is ignored, so a client cannot choose its address by sending the header the proxy leaves alone.
    #[arg(long, env = "TESSERA_FORWARDED_HEADER", default_value = "x-forwarded-for")]
    pub forwarded_header: ForwardedHeader,
    /// Seconds a client has to send a request's headers; a slower client (slowloris) is cut off.
    #[arg(long, env = "TESSERA_HEADER_READ_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub header_read_timeout: u64,
    /// Seconds an idle kept-alive connection stays open.
    #[arg(long, env = "TESSERA_KEEP_ALIVE_TIMEOUT", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub keep_alive_timeout: u64,
    /// Seconds a whole request may take, body and answer included (408 after that).
    #[arg(long, env = "TESSERA_REQUEST_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout: u64,
    /// Connections open at once; more (up to 1,024) wait to be accepted until one closes.
    #[arg(long, env = "TESSERA_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
    /// Database connections this instance keeps open at most (PostgreSQL; SQLite uses 8). With several instances
    /// on one PostgreSQL, their pools together (plus one listening connection each) must stay under the server's
    /// `max_connections`.
    #[arg(long, env = "TESSERA_DATABASE_POOL_SIZE", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub database_pool_size: u32,
    /// Failed sign-ins (per account name, and per client address) within the window that lock the account
    /// name, and make the address wait (429).
    #[arg(long, env = "TESSERA_SIGN_IN_MAX_FAILURES", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub sign_in_max_failures: u32,
    /// The window, in minutes, over which failed sign-ins are counted.
    #[arg(long, env = "TESSERA_SIGN_IN_WINDOW_MINUTES", default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub sign_in_window_minutes: u32,
    /// How many minutes a locked account name stays locked (an administrator can unlock it sooner).
    #[arg(long, env = "TESSERA_SIGN_IN_LOCKOUT_MINUTES", default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=10080))]
    pub sign_in_lockout_minutes: u32,
    /// Minutes a sign-in (or a later re-confirmation) counts as recent: after that, giving a token a dangerous
    /// privilege in the web app asks for the password or an authenticator code again.
    #[arg(long, env = "TESSERA_RECONFIRM_AFTER_MINUTES", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub reconfirm_after_minutes: u32,
    /// A PEM file of ECDSA P-256 public keys (GitHub's secret scanning keys, or your scanner's): leak reports to
    /// `POST /api/v1/leaks` must then carry a valid `Github-Public-Key-Signature`. Without it, unsigned reports
    /// are accepted (a report can only revoke the tokens it names).
    #[arg(long, env = "TESSERA_LEAK_REPORT_KEY")]
    pub leak_report_key: Option<std::path::PathBuf>,
    /// Send e-mail (expiry warnings, leaked tokens) through this SMTP server: `smtp://host:port` (plain),
    /// `smtp://host:587?tls=required` (STARTTLS) or `smtps://host:465`; user and password may be in the URL.
    #[arg(long, env = "TESSERA_SMTP_URL", requires = "mail_from")]
    pub smtp_url: Option<String>,
    /// The sender of Tessera's e-mails, e.g. `Tessera <tessera@example.com>`.
    #[arg(long, env = "TESSERA_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// Accept `http://` webhook URLs (otherwise `https://` only): for a receiver on the same host or network.
    #[arg(long, env = "TESSERA_ALLOW_HTTP_WEBHOOKS")]
    pub allow_http_webhooks: bool,
    /// Days of per-token usage (calls by hour and outcome, addresses) kept before they are pruned.
    #[arg(long, env = "TESSERA_USAGE_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub usage_retention_days: u32,
    /// Sign people in through this OpenID Connect provider (its issuer URL, as its discovery document names it),
    /// with the authorization code flow and PKCE. Register `<public URL>/auth/oidc/callback` with it.
    #[arg(long, env = "TESSERA_OIDC_ISSUER", requires = "oidc_client_id")]
    pub oidc_issuer: Option<String>,
    /// This server's client id at the provider.
    #[arg(long, env = "TESSERA_OIDC_CLIENT_ID", requires = "oidc_issuer")]
    pub oidc_client_id: Option<String>,
    /// A file holding the client secret (first line). Without it Tessera is a public client (PKCE only).
    #[arg(long, env = "TESSERA_OIDC_CLIENT_SECRET_FILE", requires = "oidc_issuer")]
    pub oidc_client_secret_file: Option<std::path::PathBuf>,
    /// The ID token claim that names the account to sign in to.
    #[arg(long, env = "TESSERA_OIDC_USERNAME_CLAIM", default_value = "preferred_username")]
    pub oidc_username_claim: String,
    /// The provider's name on the sign-in page's button ("Sign in with NAME").
    #[arg(long, env = "TESSERA_OIDC_NAME", default_value = "single sign-on")]
    pub oidc_name: String,
    /// Create the account on a person's first single sign-on (otherwise only existing accounts sign in), with
    /// the privileges `--oidc-privilege-map` gives their claims.
    #[arg(long, env = "TESSERA_OIDC_CREATE_ACCOUNTS", requires = "oidc_privilege_map")]
    pub oidc_create_accounts: bool,
    /// A JSON file mapping a claim's values to privileges for created accounts, e.g.
    /// `{"claim": "groups", "privileges": {"tessera-admins": ["all"], "developers": ["manage-api-tokens"]}}`.
    #[arg(long, env = "TESSERA_OIDC_PRIVILEGE_MAP", requires = "oidc_create_accounts")]
    pub oidc_privilege_map: Option<std::path::PathBuf>,
    /// Turn password sign-in off: everyone signs in through the OpenID Connect provider, except the
    /// `--break-glass-account`, kept for when the provider is down.
    #[arg(long, env = "TESSERA_DISABLE_PASSWORD_SIGN_IN", requires = "oidc_issuer")]
    pub disable_password_sign_in: bool,
    /// The one account that still signs in with its password (and second factor) when password sign-in is off.
    #[arg(long, env = "TESSERA_BREAK_GLASS_ACCOUNT", requires = "disable_password_sign_in")]
    pub break_glass_account: Option<String>,
    /// Do not count per-token usage (no usage charts or counts, no new-address events); rate limits still apply.
    #[arg(long, env = "TESSERA_NO_USAGE_COUNTING")]
    pub no_usage_counting: bool,
}

/// `scheme://host[:port]` of a public URL (path dropped), lower-cased.
pub fn parse_public_url(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    let (scheme, rest) = raw.split_once("://").ok_or("the public URL must start with https:// or http://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err("the public URL must start with https:// or http://".into());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') || authority.contains(char::is_whitespace) {
        return Err(format!("“{raw}” has no host (write it like https://tessera.example.com)"));
    }
    Ok(format!("{scheme}://{}", authority.to_ascii_lowercase()))
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
    /// Suspend an account: it cannot sign in or create tokens, and its tokens are refused until unsuspended.
    Suspend { name: String },
    /// Unsuspend an account.
    Unsuspend { name: String },
    /// Lift a sign-in lock (after too many failed sign-ins) before it runs out, and forget the failures.
    Unlock { name: String },
    /// Remove an account's second factors (authenticator app, passkeys and recovery codes), for someone who lost
    /// them: the password alone signs in again.
    #[command(name = "reset-2fa")]
    Reset2fa { name: String },
    /// Rename an account. Its tokens keep working; API clients send the new name.
    Rename { old: String, new: String },
    /// Delete an account and revoke every token it owns.
    Delete { name: String },
    /// Set an account's password. Prints a generated one unless --password-stdin is given. Ends its sessions.
    Passwd {
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Give an account more privileges.
    Grant {
        name: String,
        /// Privileges to add, e.g. `list-accts billing:read`.
        #[arg(required = true)]
        privileges: Vec<String>,
    },
    /// Set the account's contact e-mail, where expiry warnings and leak notices go ("" removes it).
    SetEmail { name: String, email: String },
    /// Take privileges away from an account (and so from the effective privileges of its tokens, at once).
    RevokePrivilege {
        name: String,
        #[arg(required = true)]
        privileges: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PrivilegeCommand {
    /// Define a privilege for a service you protect with Tessera.
    Add {
        /// 1–64 of a-z 0-9 - _ : . starting with a letter, e.g. `billing:read`.
        name: String,
        /// What it allows, shown beside its box in the forms.
        #[arg(long)]
        label: String,
        /// Warn before granting it.
        #[arg(long)]
        dangerous: bool,
    },
    /// List every privilege, built-in and your own.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove one of your privileges; it is taken off every account and token.
    Remove { name: String },
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only events at or after this time: `YYYY-MM-DD` (server time zone), RFC 3339, or an age like `30m`,
    /// `12h`, `7d`.
    #[arg(long)]
    pub since: Option<String>,
    /// Only events by this actor (account or token name, case-insensitive, partial).
    #[arg(long)]
    pub actor: Option<String>,
    /// Only actions starting with this, e.g. `token.` or `login`.
    #[arg(long)]
    pub action: Option<String>,
    /// Only events whose target contains this.
    #[arg(long)]
    pub target: Option<String>,
    /// At most this many events.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub limit: u64,
    /// Print JSON (one array) instead of a table.
    #[arg(long)]
    pub json: bool,
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
        /// At most this many calls: `N/second`, `N/minute` or `N/hour` (enforced by each server instance).
        #[arg(long)]
        rate_limit: Option<String>,
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
    /// A token's calls over the last days, by day (or hour) and outcome, and the addresses it was used from.
    Usage {
        #[arg(long)]
        account: String,
        name: String,
        /// How many days back.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=400))]
        days: u32,
        /// `day` or `hour` (hours: at most 31 days).
        #[arg(long, default_value = "day")]
        bucket: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke the tokens whose secrets were found in public (any account's), as a leak report would, and say
    /// what each secret was. `-` reads secrets from standard input, one per line (keeps them out of `ps`).
    RevokeLeaked {
        /// Secrets, or `-` for standard input.
        #[arg(required = true)]
        secrets: Vec<String>,
        /// Where they were found (kept in the audit log and shown to each token's owner).
        #[arg(long)]
        url: Option<String>,
    },
}
