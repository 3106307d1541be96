//! A Tessera state on its own temporary SQLite file, with a manual clock, and helpers that read like the spec.
#![allow(dead_code)] // each test file uses a different part of this helper

use app::{
    api::{IssuedToken, NewToken},
    error::AppError,
    services::{Actor, Core, CoreConfig, accounts, clock::ManualClock, password::Password, tokens},
    store,
};
use chrono::{TimeZone, Utc};
use std::sync::Arc;
use tempfile::TempDir;

pub struct TestStore {
    pub state: Core,
    pub clock: Arc<ManualClock>,
    pub db_path: std::path::PathBuf,
    _dir: TempDir,
}

/// 2026-11-22 10:00 UTC (11:00 in Berlin, the server's zone in these tests).
pub fn start() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap()
}

pub async fn test_store() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("tessera.db");
    let database_url = format!("sqlite://{}", db_path.display());
    let clock = Arc::new(ManualClock::new(start()));
    let config = CoreConfig {
        clock: clock.clone(),
        hash_concurrency: 2,
        ..CoreConfig::new(&database_url, chrono_tz::Tz::Europe__Berlin)
    };
    let state = Core::open(config).await.unwrap();
    TestStore { state, clock, db_path, _dir: dir }
}

impl TestStore {
    /// An account with `privileges`, signed in to the web app.
    pub async fn account(&self, name: &str, privileges: &str) -> Actor {
        let account = accounts::create(
            &self.state,
            &Actor::operator(),
            &app::domain::AccountName::parse(name).expect("a valid account name"),
            Password::new("a-long-password".into()),
            &[privileges.to_owned()],
        )
        .await
        .unwrap();
        Actor::session(account, Some("192.0.2.1".into()))
    }

    /// Creates a token the way the edges do: the fields parsed first, then the service.
    pub async fn create(&self, caller: &Actor, new: NewToken) -> Result<IssuedToken, AppError> {
        tokens::create(&self.state, caller, new.parse(tokens::today(&self.state))?).await
    }

    /// Creates a token with the defaults a user would pick (one year, any address, manage-api-tokens).
    pub async fn create_named(&self, caller: &Actor, name: &str) -> IssuedToken {
        self.create(caller, token(name)).await.unwrap()
    }

    pub async fn token_count(&self) -> usize {
        use sea_orm::{EntityTrait, PaginatorTrait};
        store::entities::token::Entity::find().count(&self.state.db).await.unwrap() as usize
    }

    pub async fn audit_actions(&self) -> Vec<(String, String)> {
        use sea_orm::{EntityTrait, QueryOrder};
        store::entities::audit_event::Entity::find()
            .order_by_asc(store::entities::audit_event::Column::Id)
            .all(&self.state.db)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action.starts_with("token."))
            .map(|e| (e.action, e.target.unwrap_or_default()))
            .collect()
    }

    /// Every byte the database holds, with the WAL folded in.
    pub async fn database_bytes(&self) -> Vec<u8> {
        use sea_orm::ConnectionTrait;
        self.state.db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await.unwrap();
        let mut bytes = std::fs::read(&self.db_path).unwrap();
        if let Ok(wal) = std::fs::read(self.db_path.with_extension("db-wal")) {
            bytes.extend(wal);
        }
        bytes
    }
}

/// A new token as a user would fill in the form: expiring 2027-01-31, any address, `manage-api-tokens`.
pub fn token(name: &str) -> NewToken {
    NewToken {
        name: name.into(),
        expires: "2027-01-31".into(),
        allowlist: String::new(),
        privileges: vec!["manage-api-tokens".into()],
        rate_limit: String::new(),
    }
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}
