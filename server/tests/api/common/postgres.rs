//! A throw-away PostgreSQL for tests: `initdb` into a temp dir, a server on a free loopback port and a socket in
//! that dir (fsync off), stopped by PID when dropped. Uses Debian's `postgresql` package (installed by
//! `.ci/setup test`); as root it runs as the `postgres` user, since PostgreSQL refuses to run as root.
//!
//! [`shared`] is one cluster for the whole test process (each test takes its own database on it), stopped by
//! PID when the process exits (an `atexit` hook: statics are never dropped).

use std::{
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

pub struct PgCluster {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

static SHARED: std::sync::OnceLock<std::sync::Mutex<Option<PgCluster>>> = std::sync::OnceLock::new();

/// The process's shared cluster, started on first use. It is started from a thread that lives as long as the
/// process, so PostgreSQL's parent-death signal (see [`PgCluster::start`]) fires only when the process ends,
/// however it ends; a normal exit also removes its directory (`atexit`).
pub fn shared() -> u16 {
    let cell = SHARED.get_or_init(|| {
        let (started, cluster) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("postgres-cluster".into())
            .spawn(move || {
                let _ = started.send(PgCluster::start());
                loop {
                    std::thread::park();
                }
            })
            .expect("start the cluster's thread");
        let cluster = cluster.recv().expect("the cluster started");
        extern "C" fn stop_shared() {
            if let Some(mutex) = SHARED.get() {
                // Taking it out drops it: stopped by PID, its directory removed.
                drop(mutex.lock().unwrap_or_else(|p| p.into_inner()).take());
            }
        }
        // SAFETY: registers a plain function to run at process exit; it touches only the static above.
        unsafe { libc::atexit(stop_shared) };
        std::sync::Mutex::new(Some(cluster))
    });
    cell.lock().unwrap_or_else(|p| p.into_inner()).as_ref().expect("the shared cluster is running").port
}

/// A new, empty database on the process's shared cluster: its URL.
pub async fn shared_database() -> String {
    database_on(shared()).await
}

/// The newest `/usr/lib/postgresql/<version>/bin`.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is not installed: run .ci/setup test")
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().expect("no PostgreSQL server binaries under /usr/lib/postgresql")
}

/// The uid and gid to run as: `postgres` when we are root, else ourselves.
fn run_as() -> Option<(u32, u32)> {
    let me = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&me.stdout).trim() != "0" {
        return None;
    }
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, "postgres"]).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

fn as_cluster_user(command: &mut Command, user: Option<(u32, u32)>) -> &mut Command {
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
    }
    command
}

fn chown(path: &Path, user: Option<(u32, u32)>) {
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown the cluster dir");
    }
}

impl PgCluster {
    pub fn start() -> Self {
        let bin = bin_dir();
        let user = run_as();
        let dir = tempfile::tempdir().expect("temp dir");
        chown(dir.path(), user);
        let data = dir.path().join("data");
        let out = as_cluster_user(&mut Command::new(bin.join("initdb")), user)
            .args(["-D", data.to_str().unwrap(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .stdout(Stdio::null())
            .output()
            .expect("run initdb");
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = std::fs::File::create(dir.path().join("postgres.log")).unwrap();
        chown(&dir.path().join("postgres.log"), user);
        let mut command = Command::new(bin.join("postgres"));
        // SAFETY: prctl is async-signal-safe. When the thread that started it ends (the test process was killed,
        // say), PostgreSQL gets SIGINT, its fast shutdown, instead of running on orphaned. Set after the switch
        // to the cluster's user (which would clear it), and kept across exec.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        let child = as_cluster_user(&mut command, user)
            .args(["-D", data.to_str().unwrap(), "-p", &port.to_string(), "-k", dir.path().to_str().unwrap()])
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off"])
            .args(["-c", "synchronous_commit=off", "-c", "max_connections=200"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start postgres");
        let cluster = Self { port, child, _dir: dir };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "PostgreSQL did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        // Accepting connections is not yet accepting queries: wait for pg_isready.
        while !Command::new(bin.join("pg_isready"))
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .output()
            .is_ok_and(|o| o.status.success())
        {
            assert!(started.elapsed() < Duration::from_secs(30), "PostgreSQL did not become ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        cluster
    }

    /// A new, empty database on this cluster: its URL.
    pub async fn database(&self) -> String {
        database_on(self.port).await
    }
}

/// A new, empty database on the cluster at `port`: its URL.
async fn database_on(port: u16) -> String {
    use sea_orm::ConnectionTrait;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!("tessera_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
    let admin = sea_orm::Database::connect(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
        .await
        .expect("connect to the cluster");
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create database");
    admin.close().await.ok();
    format!("postgres://postgres@127.0.0.1:{port}/{name}")
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // SIGINT: PostgreSQL's fast shutdown (no waiting for clients).
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
