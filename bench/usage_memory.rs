//! `make bench` helper (not part of the server): the memory usage counting and rate limits hold for 100,000
//! active tokens (issue 15), measured exactly: a counting allocator adds up the bytes held by the process's heap
//! allocations before and after each step, on a copy of the bench database.
//!
//! 1. Every token is verified once between two usage writes: its counter, its address and its rate-limit cell
//!    are held in memory until the write.
//! 2. The write: the counters leave memory; what stays is the writer's memory of recorded addresses (bounded at
//!    200,000 pairs) and maps sized for the next interval.
//! 3. Every token looked up once by its secret's hash, as verification does (issue 17): the rows the verification
//!    cache keeps.
//!
//! Usage: bench_usage_memory DATABASE_URL
//! (prints: tokens waiting_bytes limiter_bytes after_write_bytes cached_bytes)

use app::{
    domain::{Period, RateLimit},
    services::{
        Core, CoreConfig,
        usage::{self, UseOutcome},
    },
    store::tokens::SecretHash,
};
use sea_orm::ConnectionTrait;
use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::atomic::{AtomicIsize, Ordering},
    time::Duration,
};

struct Counting;

static HELD: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only the sizes are added up.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        HELD.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        HELD.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn held() -> isize {
    HELD.load(Ordering::Relaxed)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let url = std::env::args().nth(1).ok_or_else(|| anyhow::anyhow!("usage: bench_usage_memory DATABASE_URL"))?;
    // Usage on, but no background writer in the way: an hour between writes, and this program writes itself.
    let config = CoreConfig {
        last_used_flush: Some(Duration::from_secs(3_600)),
        usage_flush: Duration::from_secs(3_600),
        cache_verifications: true,
        ..CoreConfig::new(url, chrono_tz::UTC)
    };
    let core = Core::open(config).await?;
    let rows = core
        .db
        .query_all_raw(sea_orm::Statement::from_string(core.db.get_database_backend(), "SELECT id FROM tokens"))
        .await?;
    let ids: Vec<i64> = rows.iter().map(|row| row.try_get_by_index(0)).collect::<Result<_, _>>()?;
    let (now, limit) = (core.clock.now(), RateLimit { calls: 1_000_000, per: Period::Second });

    let before = held();
    for (i, id) in ids.iter().enumerate() {
        // A different address per token: the worst case for the address maps.
        let ip = std::net::Ipv4Addr::from(0x0a00_0000 + u32::try_from(i)?).into();
        core.usage.count(*id, UseOutcome::Accepted, now, ip);
    }
    let waiting = held() - before;
    let before = held();
    for id in &ids {
        let _ = core.rate_limiter.check(*id, limit, now);
    }
    let limiter = held() - before;
    let before_write = held() - waiting - limiter;
    usage::flush(&core).await?;
    let after_write = held() - before_write - limiter;
    // 3. Every token (the first 100,000, what the cache is sized for) looked up once by its secret's hash, as
    // verification does: its row is kept in memory.
    let statement =
        sea_orm::Statement::from_string(core.db.get_database_backend(), "SELECT secret_hash FROM tokens LIMIT 100000");
    let rows = core.db.query_all_raw(statement).await?;
    let hashes: Vec<String> = rows.iter().map(|row| row.try_get_by_index(0)).collect::<Result<_, _>>()?;
    let before = held();
    for hash in &hashes {
        let bytes = SecretHash::from_hex(hash).ok_or_else(|| anyhow::anyhow!("{hash} is not a SHA-256 in hex"))?;
        core.token_lookup
            .find_by_secret_hash(&core.db, &bytes)
            .await?
            .ok_or_else(|| anyhow::anyhow!("{hash} not found"))?;
    }
    let cached = held() - before;
    let entries = core.token_lookup.cached_entries().unwrap_or(0);
    anyhow::ensure!(entries == hashes.len(), "{entries} of {} rows cached", hashes.len());
    println!("{} {waiting} {limiter} {after_write} {cached}", ids.len());
    Ok(())
}
