//! `make bench` helper (not part of the server): an open-loop load generator. It sends GET requests at a fixed
//! rate, whatever the server's latency, and measures each from the moment it was due (so a slow server cannot
//! hide its queueing), cycling through the `Authorization` values of a token file.
//!
//! Requests are due evenly spaced (every 100 µs at 10,000 req/s), as independent clients would send them, not
//! in bursts: a pacer thread sleeps until each due time (tokio's timers tick only once a millisecond, which
//! would send a millisecond's requests at once and measure the burst's own queueing) and hands the request to
//! the runtime's workers.
//!
//! Usage: bench_paced URL TOKEN_FILE RATE SECONDS   (prints: sent ok p50_ms p99_ms max_ms)

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, token_file, rate, seconds] = args.as_slice() else {
        anyhow::bail!("usage: bench_paced URL TOKEN_FILE RATE SECONDS");
    };
    let rate: u64 = rate.parse()?;
    let seconds: u64 = seconds.parse()?;
    let headers: Vec<String> = std::fs::read_to_string(token_file)?
        .lines()
        .filter_map(|line| line.split_once(' ').map(|(_, secret)| format!("Bearer {secret}")))
        .collect();
    anyhow::ensure!(!headers.is_empty(), "no tokens in {token_file}");
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    let latencies = Arc::new(Mutex::new(Vec::with_capacity((rate * seconds) as usize)));
    let ok = Arc::new(std::sync::atomic::AtomicU64::new(0));

    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let total = (rate * seconds) as usize;
    let runtime = tokio::runtime::Handle::current();
    let pacer = std::thread::spawn({
        let latencies = latencies.clone();
        let ok = ok.clone();
        let url = url.clone();
        move || {
            let start = Instant::now();
            let mut tasks = Vec::with_capacity(total);
            for n in 0..total {
                let due = start + interval * n as u32;
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let request = client.get(&url).header("authorization", &headers[n % headers.len()]);
                let latencies = latencies.clone();
                let ok = ok.clone();
                tasks.push(runtime.spawn(async move {
                    if let Ok(response) = request.send().await
                        && response.status().is_success()
                    {
                        ok.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    let elapsed = due.elapsed();
                    latencies.lock().unwrap_or_else(|p| p.into_inner()).push(elapsed);
                }));
            }
            tasks
        }
    });
    let tasks =
        tokio::task::spawn_blocking(move || pacer.join()).await?.map_err(|_| anyhow::anyhow!("pacer panicked"))?;
    let sent = tasks.len();
    for task in tasks {
        let _ = task.await;
    }
    let mut all = latencies.lock().unwrap_or_else(|p| p.into_inner()).clone();
    all.sort();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    println!("{sent} {} {:.3} {:.3} {:.3}", ok.load(std::sync::atomic::Ordering::Relaxed), at(0.50), at(0.99), at(1.0));
    Ok(())
}
