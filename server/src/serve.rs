//! `tessera serve`: open the database, make sure an admin exists, and serve until Ctrl-C or SIGTERM.

use crate::{
    config::ServeArgs,
    connections::ConnectionLimits,
    startup::{Application, Config},
    tls,
};
use anyhow::Context;
use app::{
    api::client_ip::TrustedProxies,
    domain::AccountName,
    services::{
        CoreConfig, accounts,
        auth::{PasswordSignIn, SessionSettings},
        notify::NotificationSettings,
        oidc::{PrivilegeMap, SsoSettings},
        sign_in_limits::{self, SignInLimits},
        usage,
    },
    state::{WebSettings, WebState},
    store,
};
use chrono_tz::Tz;
use std::time::Duration;

/// The time zone tokens expire in: the configured one, else the system's (`TZ`, /etc/timezone), else UTC.
pub fn time_zone(configured: Option<&str>) -> anyhow::Result<Tz> {
    if let Some(name) = configured {
        return name.parse().map_err(|_| anyhow::anyhow!("unknown time zone “{name}” (use a name like Europe/Berlin)"));
    }
    let system = std::env::var("TZ")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/timezone").ok())
        .and_then(|name| name.trim().trim_start_matches(':').parse().ok());
    Ok(system.unwrap_or(Tz::UTC))
}

/// Who may sign in with a password: everyone, or (`--disable-password-sign-in`) the break-glass account only.
fn password_sign_in(args: &ServeArgs) -> anyhow::Result<PasswordSignIn> {
    if !args.disable_password_sign_in {
        return Ok(PasswordSignIn::Everyone);
    }
    let account = match &args.break_glass_account {
        Some(name) => Some(
            AccountName::parse(name).map_err(|err| anyhow::anyhow!("--break-glass-account “{name}”: {err}"))?.key(),
        ),
        None => None,
    };
    Ok(PasswordSignIn::BreakGlassOnly(account))
}

/// The `--oidc-*` settings, their files read and checked.
fn sso_settings(args: &ServeArgs) -> anyhow::Result<Option<SsoSettings>> {
    let (Some(issuer), Some(client_id)) = (&args.oidc_issuer, &args.oidc_client_id) else {
        return Ok(None);
    };
    let client_secret = match &args.oidc_client_secret_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|err| anyhow::anyhow!("cannot read --oidc-client-secret-file {}: {err}", path.display()))?;
            let secret = text.lines().next().unwrap_or_default().trim().to_owned();
            anyhow::ensure!(!secret.is_empty(), "--oidc-client-secret-file {} is empty", path.display());
            Some(secret)
        }
        None => None,
    };
    let create_accounts = match (&args.oidc_privilege_map, args.oidc_create_accounts) {
        (Some(path), true) => {
            let text = std::fs::read_to_string(path)
                .map_err(|err| anyhow::anyhow!("cannot read --oidc-privilege-map {}: {err}", path.display()))?;
            Some(
                PrivilegeMap::parse(&text)
                    .map_err(|err| anyhow::anyhow!("--oidc-privilege-map {}: {err}", path.display()))?,
            )
        }
        _ => None,
    };
    anyhow::ensure!(!args.oidc_username_claim.trim().is_empty(), "--oidc-username-claim names no claim");
    Ok(Some(SsoSettings {
        issuer: issuer.clone(),
        client_id: client_id.clone(),
        client_secret,
        username_claim: args.oidc_username_claim.trim().to_owned(),
        create_accounts,
        display_name: args.oidc_name.clone(),
    }))
}

pub async fn run(database_url: &str, time_zone: Tz, args: ServeArgs) -> anyhow::Result<()> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
        _ => None,
    };
    // Served over HTTPS, directly or behind a proxy: Secure, __Host- cookies (and HSTS when asked).
    let https = tls.is_some()
        || args.secure_cookies
        || args.public_url.as_deref().is_some_and(|url| url.starts_with("https://"));
    let leak_report_keys = match &args.leak_report_key {
        Some(path) => {
            let pem = std::fs::read_to_string(path)
                .map_err(|err| anyhow::anyhow!("cannot read --leak-report-key {}: {err}", path.display()))?;
            crate::api::leaks::read_keys(&pem)
                .map_err(|err| anyhow::anyhow!("--leak-report-key {}: {err}", path.display()))?;
            Some(pem)
        }
        None => None,
    };
    let sessions = SessionSettings {
        idle_timeout: chrono::Duration::minutes(i64::from(args.session_idle_minutes)),
        absolute_timeout: chrono::Duration::hours(i64::from(args.session_max_hours)),
        sign_in_limits: SignInLimits {
            max_failures: args.sign_in_max_failures,
            window: chrono::Duration::minutes(i64::from(args.sign_in_window_minutes)),
            lockout: chrono::Duration::minutes(i64::from(args.sign_in_lockout_minutes)),
        },
        reconfirm_after: chrono::Duration::minutes(i64::from(args.reconfirm_after_minutes)),
        password_sign_in: password_sign_in(&args)?,
    };
    let sso = sso_settings(&args)?;
    let config = Config {
        core: CoreConfig {
            sessions,
            last_used_flush: Some(Duration::from_secs(1)),
            cache_verifications: true,
            database_pool_size: args.database_pool_size,
            notifications: NotificationSettings {
                smtp_url: args.smtp_url.clone(),
                mail_from: args.mail_from.clone(),
                allow_http_webhooks: args.allow_http_webhooks,
                public_url: args.public_url.clone(),
                every: Some(Duration::from_secs(5)),
            },
            usage_retention_days: args.usage_retention_days,
            count_usage: !args.no_usage_counting,
            ..CoreConfig::new(database_url, time_zone)
        },
        addr: args.addr,
        web: WebSettings {
            secure_cookie: https,
            public_origin: args.public_url.clone(),
            hsts_max_age: args.hsts_max_age.filter(|_| https),
            leak_report_keys,
        },
        trusted_proxies: TrustedProxies { ranges: args.trusted_proxies, header: args.forwarded_header },
        limits: ConnectionLimits {
            header_read_timeout: Duration::from_secs(args.header_read_timeout),
            keep_alive_timeout: Duration::from_secs(args.keep_alive_timeout),
            request_timeout: Duration::from_secs(args.request_timeout),
            max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        },
        tls,
        sso,
    };
    let application = Application::build(config).await?;
    let state = application.state().clone();

    let admin_password = std::env::var("TESSERA_ADMIN_PASSWORD").ok().filter(|p| !p.is_empty());
    match accounts::bootstrap_admin(&state, admin_password).await {
        // Shown once, on the terminal only: never through the log.
        Ok(Some(generated)) => println!(
            "\nCreated the admin account.\n  username: {}\n  password: {generated}\nThis password is shown only once.\n",
            accounts::ADMIN_NAME
        ),
        Ok(None) => {}
        Err(err) => anyhow::bail!("could not create the admin account: {err}"),
    }

    spawn_session_sweeper(state.clone());
    spawn_sign_in_lock_sweeper(state.clone());

    let (scheme, local) = (application.scheme(), application.local_addr());
    println!("Tessera is listening on {scheme}://{local}");
    tracing::info!(%local, "listening");
    let served = application.run_until(shutdown_signal()).await.context("serving");
    // Counted since the last write: kept, not lost with the process.
    if let Err(err) = usage::flush(&state).await {
        tracing::warn!(error = %err, "could not write the last usage counters");
    }
    served
}

/// Deletes ended sessions, sign-ins that waited too long for their second factor or for the identity provider,
/// and unanswered passkey challenges, every ten minutes.
fn spawn_session_sweeper(state: WebState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            let now = state.clock.now();
            let idle_cutoff = now - state.sessions.idle_timeout;
            if let Err(err) = store::sessions::delete_expired(&state.db, now, idle_cutoff).await {
                tracing::warn!(error = %err, "could not delete ended sessions");
            }
            if let Err(err) = store::second_factors::delete_expired_challenges(&state.db, now).await {
                tracing::warn!(error = %err, "could not delete ended second-factor sign-ins");
            }
            if let Err(err) = store::single_sign_on::delete_expired(&state.db, now).await {
                tracing::warn!(error = %err, "could not delete single sign-ons that never came back");
            }
            if let Err(err) = store::passkeys::delete_expired_ceremonies(&state.db, now).await {
                tracing::warn!(error = %err, "could not delete unanswered passkey challenges");
            }
        }
    });
}

/// Ends sign-in locks that ran out (recording each end in the audit log) and prunes old failures, every minute.
fn spawn_sign_in_lock_sweeper(state: WebState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(err) = sign_in_limits::sweep(&state).await {
                tracing::warn!(error = %err, "could not end sign-in locks");
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_not_shown() {
        assert_eq!(redact("postgres://tessera:s3cret@db/tessera"), "postgres://tessera:***@db/tessera");
        assert_eq!(redact("sqlite://data/tessera.db"), "sqlite://data/tessera.db");
    }

    #[test]
    fn time_zones_are_checked_by_name() {
        assert_eq!(time_zone(Some("Europe/Berlin")).unwrap(), Tz::Europe__Berlin);
        assert!(time_zone(Some("Mars/Olympus")).unwrap_err().to_string().contains("unknown time zone"));
    }

    #[test]
    fn embedded_leptos_toml_parses() {
        let options = crate::startup::site_options("127.0.0.1:9".parse().unwrap()).unwrap();
        assert_eq!(&*options.output_name, "tessera");
        assert_eq!(options.site_addr.port(), 9);
    }
}
