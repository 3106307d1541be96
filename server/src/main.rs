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

/// Keeps the heap in 4 KiB pages where the system backs memory with transparent huge pages by default (`always`, as on
/// RHEL): one touched byte of a 2 MiB huge page makes all of it resident, which took idle memory 16 MiB higher
/// (mimalloc's own `madvise` for them is compiled out, the `no_thp` feature, for systems set to `madvise`).
fn no_transparent_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE only sets a flag on this process; a system without it answers an error, ignored.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// One glibc malloc arena. SQLite (the only C code here that allocates much) uses glibc's malloc, which gives each
/// thread that finds the arenas busy an arena of its own (up to eight per core), each keeping the memory freed into
/// it: sqlx's connection threads and the look-up path's connections. By hand on the bench machine with 100,000
/// tokens in use (`bench/run.sh`'s at-scale database), resident memory with every token cached was 79-82 MiB with
/// one arena against 87-88 MiB without, 93-97 against 102-103 after a usage write. Verifications answered from
/// the cache make no SQLite call, so the shared arena's lock is not on their path.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tuning value of glibc's allocator; it runs before the database is opened.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    no_transparent_huge_pages();
    one_malloc_arena();
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
