//! "Has anyone committed to this SQLite database since I last looked?", answered without a lock or a system
//! call, by reading the WAL-index header at the start of the database's `-shm` file.
//!
//! The header's layout is part of SQLite's documented file format (<https://www.sqlite.org/walformat.html>,
//! "The WAL-Index Header"), shared by every process and SQLite version using the database, so it does not move.
//! Every commit rewrites it (`iChange` is incremented, `mxFrame` grows); SQLite's own `PRAGMA data_version`
//! detects other connections' commits through the same header, but only after taking and releasing a read
//! lock: two `fcntl` calls and a read transaction on every request. Here it is a few loads from shared memory.
//!
//! The header is read with atomic loads (another process writes it concurrently). Any difference from the header
//! seen last, including a torn read during a commit, counts as "changed", so the worst outcome of a race is an
//! unneeded look-up in SQLite. A commit completes (becomes visible to new readers) only once SQLite has written
//! the header, so a commit that finished before a request started is always seen by it.
//!
//! Safety of the mapping: the watch keeps its own SQLite connection open in WAL mode for as long as the mapping
//! lives. While any connection of this process has the `-shm` file open, no process truncates or recreates it
//! (SQLite only resets it when it is opened with nobody else holding it), and the database cannot leave WAL
//! mode (that needs an exclusive lock, which the open connection's shared lock prevents).

use rusqlite::Connection;
use std::{
    fs::File,
    path::Path,
    sync::{
        Mutex,
        atomic::{AtomicU32, Ordering},
    },
};

/// Both copies of the WAL-index header: 2 × 48 bytes.
const HEADER_WORDS: usize = 24;
/// Bytes mapped: one page, well inside the first 32 KiB region SQLite always allocates.
const MAPPED: usize = 4096;

/// A snapshot of the WAL-index header; equal snapshots mean nothing was committed in between.
pub type WalHeader = [u32; HEADER_WORDS];

pub struct WalWatch {
    map: *mut libc::c_void,
    /// The `-shm` file, open for as long as this process runs: closing any descriptor of a file releases every
    /// POSIX lock the process holds on it, including the shared "someone has the WAL index open" lock that
    /// SQLite's own connections hold on `-shm`. Without it another process (the CLI) would rebuild the WAL index
    /// under this one's connections (seen as SQLITE_PROTOCOL errors). So it is never closed, even on drop.
    _shm: std::mem::ManuallyDrop<File>,
    /// Keeps the `-shm` file open and the database in WAL mode (see the module comment). Dropped after the
    /// mapping is unmapped.
    _connection: Mutex<Connection>,
}

// SAFETY: the mapping is read-only and only read through atomic loads; the pointer is never handed out.
unsafe impl Send for WalWatch {}
// SAFETY: as above; concurrent atomic loads from shared memory are sound.
unsafe impl Sync for WalWatch {}

impl WalWatch {
    /// Watches the database at `path` through `connection` (opened on it, and kept). `None` when the database is
    /// not in WAL mode or its `-shm` file cannot be mapped: the caller then asks SQLite on every request.
    pub fn open(path: &Path, connection: Connection) -> Option<Self> {
        let mode: String = connection.query_row("PRAGMA journal_mode", [], |row| row.get(0)).ok()?;
        if !mode.eq_ignore_ascii_case("wal") {
            return None;
        }
        // A read makes this connection open (and initialise) the -shm file before it is mapped.
        connection.query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get::<_, i64>(0)).ok()?;
        let mut shm = path.as_os_str().to_owned();
        shm.push("-shm");
        // Never closed, whatever happens below (see `_shm`).
        let file = std::mem::ManuallyDrop::new(File::open(&shm).ok()?);
        if file.metadata().ok()?.len() < MAPPED as u64 {
            return None;
        }
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: a fresh read-only shared mapping of an open file at least MAPPED bytes long; checked for
            // failure below.
            let map = unsafe {
                libc::mmap(std::ptr::null_mut(), MAPPED, libc::PROT_READ, libc::MAP_SHARED, file.as_raw_fd(), 0)
            };
            if map == libc::MAP_FAILED {
                return None;
            }
            Some(Self { map, _shm: file, _connection: Mutex::new(connection) })
        }
        #[cfg(not(unix))]
        {
            None
        }
    }

    /// The header now.
    pub fn header(&self) -> WalHeader {
        let words = self.map.cast::<AtomicU32>();
        let mut header = [0; HEADER_WORDS];
        for (i, word) in header.iter_mut().enumerate() {
            // SAFETY: `map` is page-aligned and MAPPED bytes long, so words 0..HEADER_WORDS are in bounds and
            // aligned; the memory stays mapped for the life of `self`.
            *word = unsafe { (*words.add(i)).load(Ordering::Acquire) };
        }
        header
    }
}

impl Drop for WalWatch {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: unmaps exactly the mapping made in `open`; nothing reads it after this.
        unsafe {
            libc::munmap(self.map, MAPPED);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_commit_changes_the_header_and_reads_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("watch.db");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "wal").unwrap();
        writer.execute("CREATE TABLE t (x INTEGER)", []).unwrap();
        let watch = WalWatch::open(&path, Connection::open(&path).unwrap()).expect("a WAL database is watched");
        let before = watch.header();
        writer.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(watch.header(), before);
        writer.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let after = watch.header();
        assert_ne!(after, before);
        writer.execute("UPDATE t SET x = 2", []).unwrap();
        assert_ne!(watch.header(), after);
    }

    #[test]
    fn a_database_not_in_wal_mode_is_not_watched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain.db");
        Connection::open(&path).unwrap().execute("CREATE TABLE t (x INTEGER)", []).unwrap();
        assert!(WalWatch::open(&path, Connection::open(&path).unwrap()).is_none());
    }
}
