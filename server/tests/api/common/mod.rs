//! `spawn_app()`: a real tessera server on a free loopback port with its own database and a manual clock, plus a
//! client that keeps cookies like a browser. Tests read like the spec.
//!
//! The database is a SQLite file, or, when `TESSERA_TEST_BACKEND=postgres`, a fresh database on a throw-away
//! PostgreSQL cluster that this process starts and stops (`postgres::shared`). `make test` runs this suite once
//! on each, from the same test code.
#![allow(dead_code)] // each test file uses a different part of this helper

pub mod postgres;

use app::services::notify::NotificationSettings;
use app::{
    services::{Actor, Core, CoreConfig, accounts, clock::ManualClock, password::Password},
    state::{WebSettings, WebState},
    store,
};
use chrono::{TimeZone, Utc};
use std::sync::Arc;
use tempfile::TempDir;
use tessera_server::startup::{Application, Config};

pub const PASSWORD: &str = "correct-horse-battery";

/// The database the suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// `TESSERA_TEST_BACKEND`: `sqlite` (the default) or `postgres`.
pub fn backend() -> Backend {
    match std::env::var("TESSERA_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("TESSERA_TEST_BACKEND must be sqlite or postgres, not {other}"),
    }
}

/// A new, empty database of the suite's backend: a SQLite file in `dir`, or a database on the shared cluster.
pub async fn fresh_database(dir: &std::path::Path) -> String {
    match backend() {
        Backend::Sqlite => format!("sqlite://{}", dir.join("tessera.db").display()),
        Backend::Postgres => postgres::shared_database().await,
    }
}

/// [`fresh_database`] for a test without a runtime of its own.
pub fn fresh_database_blocking(dir: &std::path::Path) -> String {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(fresh_database(dir))
}

pub struct TestApp {
    pub base: String,
    pub state: WebState,
    pub clock: Arc<ManualClock>,
    /// The SQLite file, on that backend.
    pub db_path: Option<std::path::PathBuf>,
    pub database_url: String,
    _dir: TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with_proxies(Vec::new()).await
}

/// A server that believes `X-Forwarded-For` from peers in `trusted_proxies`.
pub async fn spawn_app_with_proxies(trusted_proxies: Vec<app::domain::IpRange>) -> TestApp {
    spawn_app_with(trusted_proxies, WebSettings::default()).await
}

/// The notification settings of every test server unless a test gives its own: no e-mail, `http://` webhooks
/// allowed (receivers run on loopback), the delivery worker and expiry scan every 50 ms.
pub fn test_notifications() -> NotificationSettings {
    NotificationSettings {
        allow_http_webhooks: true,
        every: Some(std::time::Duration::from_millis(50)),
        ..NotificationSettings::default()
    }
}

/// The services' settings of every test server: a manual clock at 2026-11-22 10:00 UTC, Europe/Berlin, two
/// hashes at once, last use and usage written every 50 ms.
fn core_config(database_url: &str, notifications: NotificationSettings) -> (CoreConfig, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap()));
    let config = CoreConfig {
        clock: clock.clone(),
        hash_concurrency: 2,
        last_used_flush: Some(std::time::Duration::from_millis(50)),
        usage_flush: std::time::Duration::from_millis(50),
        cache_verifications: true,
        notifications,
        ..CoreConfig::new(database_url, chrono_tz::Tz::Europe__Berlin)
    };
    (config, clock)
}

/// A server with these notification settings (e-mail, webhooks, the worker's pace), on a fresh database or
/// on `database_url`.
pub async fn spawn_app_notifying(notifications: NotificationSettings, database_url: Option<String>) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = match database_url {
        Some(url) => url,
        None => fresh_database(dir.path()).await,
    };
    let sign_in = SignInSetup::default();
    spawn_app_configured(dir, database_url, Vec::new(), WebSettings::default(), notifications, sign_in, |_| {}).await
}

/// How a test server signs people in, when not the default (passwords for everyone, no single sign-on).
#[derive(Default)]
pub struct SignInSetup {
    pub sso: Option<app::services::oidc::SsoSettings>,
    pub password_sign_in: app::services::auth::PasswordSignIn,
}

/// A server that signs people in as `setup` says.
pub async fn spawn_app_signing_in(setup: SignInSetup) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database(dir.path()).await;
    spawn_app_configured(dir, database_url, Vec::new(), WebSettings::default(), test_notifications(), setup, |_| {})
        .await
}

/// A server whose usage is written every `every` (not every 50 ms), on a fresh database.
pub async fn spawn_app_writing_usage_every(every: std::time::Duration) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database(dir.path()).await;
    let (web, sign_in) = (WebSettings::default(), SignInSetup::default());
    spawn_app_configured(dir, database_url, Vec::new(), web, test_notifications(), sign_in, |core| {
        core.usage_flush = every;
    })
    .await
}

/// A server with these trusted proxies and web settings (Secure cookies, a public URL), started the way
/// `tessera serve` starts (`Application::build`).
pub async fn spawn_app_with(trusted_proxies: Vec<app::domain::IpRange>, web: WebSettings) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database(dir.path()).await;
    spawn_app_on(dir, database_url, trusted_proxies, web).await
}

/// A server on the database at `database_url` (which may already hold data).
pub async fn spawn_app_at(database_url: String) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    spawn_app_on(dir, database_url, Vec::new(), WebSettings::default()).await
}

/// Another instance on the database of `app`, as a second server sharing it would be (its own manual clock, at
/// the same start time).
pub async fn spawn_instance_of(app: &TestApp) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    spawn_app_on(dir, app.database_url.clone(), Vec::new(), WebSettings::default()).await
}

async fn spawn_app_on(
    dir: TempDir,
    database_url: String,
    trusted_proxies: Vec<app::domain::IpRange>,
    web: WebSettings,
) -> TestApp {
    let sign_in = SignInSetup::default();
    spawn_app_configured(dir, database_url, trusted_proxies, web, test_notifications(), sign_in, |_| {}).await
}

/// A server built the way `tessera serve` builds it, on a fresh database: listening, not yet serving.
pub async fn built_app() -> (TempDir, Application) {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database(dir.path()).await;
    let (core, _clock) = core_config(&database_url, test_notifications());
    let application = Application::build(test_config(core, Vec::new(), WebSettings::default(), None))
        .await
        .expect("build the application");
    (dir, application)
}

fn test_config(
    core: CoreConfig,
    trusted_proxies: Vec<app::domain::IpRange>,
    web: WebSettings,
    sso: Option<app::services::oidc::SsoSettings>,
) -> Config {
    Config {
        core,
        addr: ([127, 0, 0, 1], 0).into(),
        web,
        trusted_proxies: app::api::client_ip::TrustedProxies { ranges: trusted_proxies, ..Default::default() },
        limits: tessera_server::connections::ConnectionLimits::default(),
        tls: None,
        sso,
    }
}

async fn spawn_app_configured(
    dir: TempDir,
    database_url: String,
    trusted_proxies: Vec<app::domain::IpRange>,
    web: WebSettings,
    notifications: NotificationSettings,
    sign_in: SignInSetup,
    tune: impl FnOnce(&mut CoreConfig),
) -> TestApp {
    let db_path = database_url.strip_prefix("sqlite://").map(std::path::PathBuf::from);
    let (mut core, clock) = core_config(&database_url, notifications);
    core.sessions.password_sign_in = sign_in.password_sign_in;
    tune(&mut core);
    let application =
        Application::build(test_config(core, trusted_proxies, web, sign_in.sso)).await.expect("build the application");
    let state = application.state().clone();
    wait_until_caching(&state).await;
    let addr = application.local_addr();
    let server = tokio::spawn(async move {
        let _ = application.run_until(std::future::pending()).await;
    });
    TestApp { base: format!("http://{addr}"), state, clock, db_path, database_url, _dir: dir, server }
}

/// On PostgreSQL the verification cache is used once the change listener is listening: tests start from there,
/// as a server does a moment after start.
pub async fn wait_until_caching(core: &Core) {
    let started = std::time::Instant::now();
    while !core.token_lookup.is_caching() {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "the change listener never connected");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

impl TestApp {
    /// Token look-ups answered from memory so far.
    pub fn cache_hits(&self) -> u64 {
        self.state.token_lookup.cache_hits().expect("test servers cache verifications")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// An account with `privileges`, password [`PASSWORD`].
    pub async fn create_account(&self, name: &str, privileges: &str) {
        create_account_on(&self.state, name, privileges).await;
    }

    /// A client that keeps cookies and does not follow redirects, so tests see them.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    pub async fn login(&self, client: &reqwest::Client, username: &str, password: &str) -> reqwest::Response {
        client
            .post(self.url("/rpc/login"))
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .expect("login request")
    }

    /// The signed-in account's name, as the web app sees it (`None` when signed out).
    pub async fn current_account(&self, client: &reqwest::Client) -> Option<String> {
        let response = client.post(self.url("/rpc/current_account")).send().await.expect("request");
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.expect("json");
        body.get("username").and_then(|v| v.as_str()).map(str::to_owned)
    }
}

/// An account with `privileges` and password [`PASSWORD`], made on `core` directly.
pub async fn create_account_on(core: &Core, name: &str, privileges: &str) {
    accounts::create(
        core,
        &Actor::operator(),
        &account_name(name),
        Password::new(PASSWORD.into()),
        &[privileges.to_owned()],
    )
    .await
    .expect("create account");
}

/// A token made the way the CLI makes it, for API tests: its secret.
pub struct TokenSpec<'a> {
    pub account: &'a str,
    pub name: &'a str,
    pub privileges: &'a [&'a str],
    /// Empty: any address.
    pub allowlist: &'a str,
    /// `never` or `YYYY-MM-DD`.
    pub expires: &'a str,
}

impl TestApp {
    pub async fn account_row(&self, name: &str) -> app::store::accounts::Account {
        store::accounts::find_by_name(&self.state.db, name).await.expect("query").expect("account exists")
    }

    pub async fn account_row_opt(&self, name: &str) -> Option<app::store::accounts::Account> {
        store::accounts::find_by_name(&self.state.db, name).await.expect("query")
    }

    /// Creates a token for `spec.account` (as the operator would) and returns its secret.
    pub async fn token(&self, spec: TokenSpec<'_>) -> String {
        let caller = app::services::Actor::operator_for(self.account_row(spec.account).await);
        let new = app::api::NewToken {
            name: spec.name.into(),
            expires: spec.expires.into(),
            allowlist: spec.allowlist.into(),
            privileges: spec.privileges.iter().map(|p| (*p).to_owned()).collect(),
            rate_limit: String::new(),
        };
        app::services::tokens::create(
            &self.state,
            &caller,
            new.parse(app::services::tokens::today(&self.state)).expect("a valid token"),
        )
        .await
        .expect("create token")
        .secret
    }

    /// A token of `account` with `privileges`, any address, never expiring.
    pub async fn simple_token(&self, account: &str, name: &str, privileges: &[&str]) -> String {
        self.token(TokenSpec { account, name, privileges, allowlist: "", expires: "never" }).await
    }

    /// Runs SQL on the server's database, as an administrator would behind its back. On PostgreSQL a change to
    /// tokens or accounts reaches the verification cache as a notification: this waits (up to a second) until the
    /// server has heard it, as the next request a second later would find.
    pub async fn sql(&self, statement: &str) {
        use app::store::token_lookup::TokenLookup;
        use sea_orm::ConnectionTrait;
        let before = match &*self.state.token_lookup {
            TokenLookup::Postgres(lookup) => Some((lookup, lookup.generation())),
            _ => None,
        };
        self.state.db.execute_unprepared(statement).await.expect("sql");
        let changes = statement.starts_with("UPDATE") || statement.starts_with("DELETE");
        if let (Some((lookup, generation)), true) = (before, changes) {
            let started = std::time::Instant::now();
            while lookup.generation() == generation {
                assert!(started.elapsed() < std::time::Duration::from_secs(1), "no notification for {statement}");
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        }
    }

    pub async fn token_row(&self, name: &str) -> Option<app::store::tokens::Token> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        store::entities::token::Entity::find()
            .filter(store::entities::token::Column::Name.eq(name))
            .one(&self.state.db)
            .await
            .expect("query")
    }

    /// Everything the database holds, as text: the SQLite file's bytes (after a checkpoint, so the WAL is in
    /// it), or every row of every table on PostgreSQL. For looking for plaintext secrets.
    pub async fn database_text(&self) -> String {
        use sea_orm::{ConnectionTrait, Statement};
        match &self.db_path {
            Some(path) => {
                self.state.db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await.expect("checkpoint");
                String::from_utf8_lossy(&std::fs::read(path).expect("read the database file")).into_owned()
            }
            None => {
                let backend = self.state.db.get_database_backend();
                let tables = self
                    .state
                    .db
                    .query_all_raw(Statement::from_string(
                        backend,
                        "SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = 'public'",
                    ))
                    .await
                    .expect("list tables");
                let mut text = String::new();
                for table in tables {
                    let name: String = table.try_get("", "name").expect("table name");
                    let sql = format!("SELECT coalesce(string_agg(t::text, E'\\n'), '') AS rows FROM \"{name}\" t");
                    let rows = self.state.db.query_one_raw(Statement::from_string(backend, sql)).await.expect("dump");
                    text += &rows.map(|r| r.try_get::<String>("", "rows").expect("rows")).unwrap_or_default();
                }
                text
            }
        }
    }

    pub async fn audit_actions(&self) -> Vec<(String, Option<String>, String)> {
        store::audit::recent(&self.state.db, 100)
            .await
            .expect("audit")
            .into_iter()
            .map(|e| (e.action, e.target, e.outcome))
            .collect()
    }

    /// A WHM API 1 call written `function?params`: a GET, or, when it carries a password or token, a POST with
    /// the parameters in the body (the API refuses secrets in URLs). The status and the JSON answer.
    pub async fn whm(&self, auth: &str, query: &str) -> (u16, serde_json::Value) {
        let (function, params) = query.split_once('?').unwrap_or((query, ""));
        let secret = params.split('&').any(|pair| pair.starts_with("password=") || pair.starts_with("token="));
        let response = if secret {
            reqwest::Client::new()
                .post(self.url(&format!("/json-api/{function}")))
                .header("authorization", auth)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(params.to_owned())
                .send()
                .await
                .expect("request")
        } else {
            self.get_with(&format!("/json-api/{query}"), auth).await
        };
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON answer"))
    }

    /// GET `path` with `authorization` until it answers `status`. A change made by another process (the command
    /// line, another instance, SQL) must show: on SQLite in the first answer to a request made once the watch's
    /// interval (a millisecond) has passed; on PostgreSQL, where it arrives as a notification on commit, within a
    /// second.
    pub async fn answers_soon(&self, path: &str, authorization: &str, status: u16) -> reqwest::Response {
        let bound = match backend() {
            // Another process's commit is seen by every look-up that starts the watch's interval after it.
            Backend::Sqlite => {
                tokio::time::sleep(app::store::token_reader::WATCH_INTERVAL).await;
                std::time::Duration::ZERO
            }
            Backend::Postgres => std::time::Duration::from_secs(1),
        };
        let started = std::time::Instant::now();
        loop {
            let response = self.get_with(path, authorization).await;
            if response.status() == status || started.elapsed() > bound {
                assert_eq!(response.status(), status, "{path} after {:?}", started.elapsed());
                return response;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }

    /// GET `path` with `Authorization: authorization`.
    pub async fn get_with(&self, path: &str, authorization: &str) -> reqwest::Response {
        reqwest::Client::new().get(self.url(path)).header("authorization", authorization).send().await.expect("request")
    }
}

pub trait NowForTests {
    fn now_for_tests(&self) -> chrono::DateTime<Utc>;
}

impl NowForTests for ManualClock {
    fn now_for_tests(&self) -> chrono::DateTime<Utc> {
        use app::services::clock::Clock;
        self.now()
    }
}

impl TestApp {
    /// The manual clock's time as Unix seconds.
    pub fn clock_unix(&self) -> i64 {
        self.clock.now_for_tests().timestamp()
    }
}

/// The real `tessera serve` binary on a free loopback port at trace level, everything it prints going to a file,
/// so tests can read the log for secrets. Killed (by PID) when stopped or dropped.
pub struct LoggedServer {
    pub base: String,
    log: std::path::PathBuf,
    child: std::process::Child,
}

/// The password of the `admin` account a [`LoggedServer`] creates on first start.
pub const LOGGED_ADMIN_PASSWORD: &str = "admin-password-123";

impl LoggedServer {
    /// Starts the server on `database_url`, logging into `dir`, and waits until it accepts connections.
    pub fn start(database_url: &str, dir: &std::path::Path) -> Self {
        Self::start_with(database_url, dir, &[])
    }

    /// [`LoggedServer::start`] with more `tessera serve` arguments.
    pub fn start_with(database_url: &str, dir: &std::path::Path, extra: &[&str]) -> Self {
        let server = Self::spawn(database_url, dir, extra);
        server.wait_until_listening();
        server
    }

    /// Starts the server without waiting for it (see [`LoggedServer::wait_until_listening`]).
    pub fn spawn(database_url: &str, dir: &std::path::Path, extra: &[&str]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = dir.join("server.log");
        let log_file = std::fs::File::create(&log).unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .args(extra)
            .env("DATABASE_URL", database_url)
            .env("RUST_LOG", "trace")
            .env("TESSERA_ADMIN_PASSWORD", LOGGED_ADMIN_PASSWORD)
            .stdin(std::process::Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap();
        Self { base: format!("http://127.0.0.1:{port}"), log, child }
    }

    /// Waits (up to 10 s) until the server is ready: it said it is listening and accepts connections.
    pub fn wait_until_listening(&self) {
        let addr = self.base.trim_start_matches("http://");
        for _ in 0..100 {
            // The port accepts connections from the moment it is bound, before the admin account exists: the line
            // the server prints once it is ready is what counts.
            if self.log().contains("Tessera is listening on") && std::net::TcpStream::connect(addr).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the server at once (SIGKILL), as a crash or `kill -9` would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asks the server to stop (SIGTERM, as a service manager does) and waits up to 10 s for it to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: sends a signal to our own child process.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "SIGTERM");
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the server did not stop within 10 s of SIGTERM");
    }

    /// Stops the server and returns everything it logged.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::fs::read_to_string(&self.log).unwrap()
    }
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A valid account name (test input).
pub fn account_name(raw: &str) -> app::domain::AccountName {
    app::domain::AccountName::parse(raw).expect("a valid account name")
}

/// The services' core on any database (SQLite or PostgreSQL), with a manual clock and no web server.
pub async fn state_on(database_url: &str) -> Core {
    let (config, _) = core_config(database_url, NotificationSettings::default());
    Core::open(config).await.expect("open the core")
}
