//! `tessera`: serve the app, or manage accounts from the command line.

use clap::Parser;
use std::process::ExitCode;
use tessera_server::{
    cli,
    config::{Cli, Command},
    serve,
};
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's malloc: per-thread heaps and free lists, where glibc's `_int_malloc`,
/// `malloc_consolidate` and arena locks took about a seventh of a verification's time (bench/RESULTS.md). Argon2's
/// 19 MiB blocks, which mimalloc held on to for a while after each sign-in, are mapped from the system for each
/// hash and handed back after it (`app::services::password`), so resident memory does not drift with sign-ins.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's option `purge_delay` (its number in mimalloc v3's `mimalloc.h`; the Rust bindings list v2's).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Memory mimalloc no longer uses goes back to the system at once, instead of after a second (the default), which
/// it only looks at when it next allocates in that thread: the threads that ran SQLite's statements go quiet and
/// kept theirs. Same by-hand measure as [`sqlite_on_mimalloc`]: anonymous memory 53 MB with both against 65-66 MB
/// with neither, 65 MB with this alone, 66-68 MB with SQLite on mimalloc alone. CPU per verification at 5,000 a
/// second (interleaved rounds): 50-67 µs against 45-73 µs with the default, within the machine's noise.
fn return_freed_memory_at_once() {
    // SAFETY: sets one of mimalloc's tuning values; any number is valid for it.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
}

/// Keeps the heap in 4 KiB pages where the system backs memory with transparent huge pages by default (`always`, as on
/// RHEL): one touched byte of a 2 MiB huge page makes all of it resident, which took idle memory 16 MiB higher
/// (mimalloc's own `madvise` for them is compiled out, the `no_thp` feature, for systems set to `madvise`).
fn no_transparent_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE only sets a flag on this process; a system without it answers an error, ignored.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// SQLite's allocations through mimalloc too, instead of glibc's malloc. SQLite (its page caches, statements and
/// a write's journal) is the only C code here that allocates much, and glibc's heap kept what it freed: by hand on
/// the bench machine with 100,000 tokens in use (`bench/run.sh`'s at-scale database, after the list walks, 20 s
/// of verifications and 15 s of quiet), its heap held 22 MB for 9 MB in use, and grew back within the minute after
/// a `malloc_trim`. Runs before SQLite is first used (its configuration is only taken then); if it was used already,
/// SQLite refuses and keeps its own allocator.
fn sqlite_on_mimalloc() {
    use libmimalloc_sys as mi;
    use libsqlite3_sys as sqlite;
    use std::ffi::{c_int, c_void};

    unsafe extern "C" fn malloc(size: c_int) -> *mut c_void {
        // SAFETY: any size may be asked of mi_malloc; SQLite never asks for a negative one.
        usize::try_from(size).map_or(std::ptr::null_mut(), |size| unsafe { mi::mi_malloc(size) })
    }
    unsafe extern "C" fn free(block: *mut c_void) {
        // SAFETY: SQLite frees only what `malloc`/`realloc` above gave it.
        unsafe { mi::mi_free(block) }
    }
    unsafe extern "C" fn realloc(block: *mut c_void, size: c_int) -> *mut c_void {
        // SAFETY: as `malloc` and `free`.
        usize::try_from(size).map_or(std::ptr::null_mut(), |size| unsafe { mi::mi_realloc(block, size) })
    }
    unsafe extern "C" fn size(block: *mut c_void) -> c_int {
        // SAFETY: a block from `malloc`/`realloc` (or null, which has size 0).
        c_int::try_from(unsafe { mi::mi_usable_size(block) }).unwrap_or(c_int::MAX)
    }
    unsafe extern "C" fn roundup(size: c_int) -> c_int {
        // SAFETY: a pure function of its argument.
        usize::try_from(size)
            .map_or(size, |size| c_int::try_from(unsafe { mi::mi_good_size(size) }).unwrap_or(c_int::MAX))
    }
    unsafe extern "C" fn init(_: *mut c_void) -> c_int {
        sqlite::SQLITE_OK
    }
    unsafe extern "C" fn shutdown(_: *mut c_void) {}

    let methods = sqlite::sqlite3_mem_methods {
        xMalloc: Some(malloc),
        xFree: Some(free),
        xRealloc: Some(realloc),
        xSize: Some(size),
        xRoundup: Some(roundup),
        xInit: Some(init),
        xShutdown: Some(shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: SQLite copies the methods before it returns; nothing calls SQLite meanwhile (this runs first in
    // `main`, before anything opens a database).
    let code = unsafe { sqlite::sqlite3_config(sqlite::SQLITE_CONFIG_MALLOC, &raw const methods) };
    if code != sqlite::SQLITE_OK {
        eprintln!("tessera: SQLite keeps its own allocator (sqlite3_config answered {code})");
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    no_transparent_huge_pages();
    return_freed_memory_at_once();
    sqlite_on_mimalloc();
    let args = Cli::parse();
    // The server logs its activity; command-line tools stay quiet unless something is wrong.
    let default_filter = if matches!(args.command, Command::Serve(_)) { "info,sqlx=warn" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter)))
        .with_writer(std::io::stderr)
        .init();

    let time_zone = match serve::time_zone(args.time_zone.as_deref()) {
        Ok(zone) => zone,
        Err(err) => {
            eprintln!("tessera: {err:#}");
            return ExitCode::from(2);
        }
    };
    let outcome = match args.command {
        Command::Serve(serve_args) => {
            return match serve::run(&args.database_url, time_zone, *serve_args).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("tessera: {err:#}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Account(command) => cli::account(&args.database_url, time_zone, command).await,
        Command::Token(command) => cli::token(&args.database_url, time_zone, command).await,
        Command::Privilege(command) => cli::privilege(&args.database_url, time_zone, command).await,
        Command::Audit(audit_args) => cli::audit(&args.database_url, time_zone, audit_args).await,
        Command::Webhook(command) => cli::webhook(&args.database_url, time_zone, command).await,
    };
    match outcome {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("tessera: {err:#}");
            ExitCode::FAILURE
        }
    }
}
