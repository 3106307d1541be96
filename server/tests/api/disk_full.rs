//! A full disk and a read-only database file under the SQLite database (issue 16): writes are refused with a clear
//! 503 and change nothing, tokens already issued keep verifying, nothing is corrupted, and writes work again once
//! space (or write access) is back. The database lives on a small tmpfs the test mounts itself, so this needs the
//! right to mount (root, as on the CI machine); it uses SQLite in both runs of the suite, since it is about the file.

use crate::common::{TestApp, spawn_app_at};
use serde_json::{Value, json};
use std::{io::Write, path::PathBuf, process::Command};

/// A tmpfs of `size` mounted on a fresh directory, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(status.success(), "mounting a {size} tmpfs failed: this test needs the right to mount (root)");
        Self { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// Appends to a filler file until the file system says it is full; returns its path. Called again before each
    /// write that must be refused: SQLite may free space in between (a checkpoint restarts the WAL from its start).
    fn fill(&self) -> PathBuf {
        let path = self.dir.path().join("filler");
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path).expect("filler");
        let chunk = vec![0u8; 4096];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

async fn create(app: &TestApp, admin: &str, name: &str) -> reqwest::Response {
    let body = json!({"name": name, "expires": "never", "privileges": ["list-accts"]});
    reqwest::Client::new().post(app.url("/api/v1/tokens")).bearer_auth(admin).json(&body).send().await.expect("create")
}

async fn verifies(app: &TestApp, secret: &str) -> u16 {
    app.get_with("/api/v1/auth", &format!("Bearer {secret}")).await.status().as_u16()
}

async fn integrity(app: &TestApp) -> String {
    use sea_orm::ConnectionTrait;
    let db = &app.state.core.db;
    let statement = sea_orm::Statement::from_string(db.get_database_backend(), "PRAGMA integrity_check");
    let row = db.query_one_raw(statement).await.expect("integrity_check").expect("a row");
    row.try_get_by_index::<String>(0).expect("text")
}

/// Creates tokens through the native API on the full disk until one is refused (the WAL must grow into the full disk
/// at some point): every answer is a success or the clear 503, never a 500. Returns the secrets of those created
/// and the name of the refused one.
async fn create_until_refused(app: &TestApp, disk: &SmallDisk, admin: &str, prefix: &str) -> (Vec<String>, String) {
    let mut created = Vec::new();
    for i in 0..5_000 {
        disk.fill();
        let name = format!("{prefix}{i}");
        let response = create(app, admin, &name).await;
        match response.status().as_u16() {
            201 => created.push(response.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_owned()),
            503 => {
                let body: Value = response.json().await.unwrap();
                let message = body["message"].as_str().unwrap_or_default();
                assert!(message.contains("cannot save changes right now"), "{body}");
                assert!(message.contains("full or read-only"), "{body}");
                return (created, name);
            }
            other => panic!("creating {name} answered {other}: {}", response.text().await.unwrap_or_default()),
        }
    }
    panic!("5,000 tokens fitted on a full disk");
}

/// The same through WHM's `api_token_create`: each answer is a success or the 503 in WHM's own envelope.
async fn whm_create_until_refused(app: &TestApp, disk: &SmallDisk, admin: &str) -> String {
    for i in 0..5_000 {
        disk.fill();
        let name = format!("whm{i}");
        let (status, body) =
            app.whm(&format!("whm alice:{admin}"), &format!("api_token_create?api.version=1&token_name={name}")).await;
        match (status, body["metadata"]["result"].as_i64()) {
            (200, Some(1)) => {}
            (503, Some(0)) => {
                assert!(
                    body["metadata"]["reason"].as_str().unwrap_or_default().contains("full or read-only"),
                    "{body}"
                );
                return name;
            }
            _ => panic!("WHM creating {name} answered {status}: {body}"),
        }
    }
    panic!("5,000 WHM tokens fitted on a full disk");
}

#[tokio::test]
async fn a_full_disk_refuses_writes_with_a_503_keeps_verifying_and_recovers_when_space_is_back() {
    let disk = SmallDisk::mount("6m");
    let app = spawn_app_at(format!("sqlite://{}", disk.path().join("tessera.db").display())).await;
    app.create_account("alice", "all").await;
    let admin = app.simple_token("alice", "admin", &["all"]).await;
    let before = app.simple_token("alice", "before", &["list-accts"]).await;

    let (created, refused) = create_until_refused(&app, &disk, &admin, "full").await;
    // The refusal is the API's own envelope on the cPanel side too.
    let whm_refused = whm_create_until_refused(&app, &disk, &admin).await;
    let filler = disk.fill();

    // Tokens issued before (and those created before the disk filled) keep verifying, repeatedly, while the
    // last-use writer fails in the background.
    for _ in 0..20 {
        assert_eq!(verifies(&app, &before).await, 200);
        for secret in &created {
            assert_eq!(verifies(&app, secret).await, 200);
        }
    }
    assert_eq!(verifies(&app, "tsr_not_a_token").await, 401);
    assert!(app.token_row(&refused).await.is_none(), "a refused create left nothing");
    assert!(app.token_row(&whm_refused).await.is_none(), "a refused WHM create left nothing");

    // Space is back: writes work again, nothing was lost or corrupted.
    std::fs::remove_file(filler).unwrap();
    let response = create(&app, &admin, "after").await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap_or_default());
    for secret in created.iter().chain([&before]) {
        assert_eq!(verifies(&app, secret).await, 200);
    }
    assert_eq!(integrity(&app).await, "ok");
}

/// A database file opened read-only (what SQLite falls back to when it cannot write the file) refuses writes as
/// "unavailable", the 503, not as an internal error. (A file system turning read-only under a running server
/// could not be staged here: tmpfs refuses to remount read-only while the database is open for writing.)
#[tokio::test]
async fn a_read_only_database_file_refuses_writes_as_unavailable_and_still_reads() {
    use sea_orm::ConnectionTrait;
    let disk = SmallDisk::mount("8m");
    let path = disk.path().join("tessera.db");
    let app = spawn_app_at(format!("sqlite://{}", path.display())).await;
    app.create_account("alice", "all").await;

    let read_only = sea_orm::Database::connect(format!("sqlite://{}?mode=ro", path.display())).await.unwrap();
    let backend = read_only.get_database_backend();
    let count = read_only
        .query_one_raw(sea_orm::Statement::from_string(backend, "SELECT count(*) FROM accounts"))
        .await
        .unwrap()
        .unwrap();
    assert!(count.try_get_by_index::<i64>(0).unwrap() >= 1, "reads work");
    let err = read_only
        .execute_raw(sea_orm::Statement::from_string(backend, "DELETE FROM accounts"))
        .await
        .expect_err("a read-only file refuses writes");
    assert_eq!(app::error::AppError::from(err), app::error::AppError::Unavailable);
    assert!(app.account_row_opt("alice").await.is_some());
}
