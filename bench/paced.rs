//! `make bench` helper (not part of the server): an open-loop load generator. It sends GET requests at a fixed
//! rate, whatever the server's latency, and measures each from the moment it was due (so a slow server cannot
//! hide its queueing), cycling through the `Authorization` values of a token file.
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

    // One tick a millisecond, each sending the requests due in it.
    let per_tick = rate / 1000;
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sent = 0usize;
    let mut tasks = Vec::new();
    for n in 0..seconds * 1000 {
        tick.tick().await;
        let due = start + Duration::from_millis(n);
        for _ in 0..per_tick {
            let request = client.get(url).header("authorization", &headers[sent % headers.len()]);
            sent += 1;
            let latencies = latencies.clone();
            let ok = ok.clone();
            tasks.push(tokio::spawn(async move {
                if let Ok(response) = request.send().await
                    && response.status().is_success()
                {
                    ok.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                let elapsed = due.elapsed();
                latencies.lock().unwrap_or_else(|p| p.into_inner()).push(elapsed);
            }));
        }
    }
    for task in tasks {
        let _ = task.await;
    }
    let mut all = latencies.lock().unwrap_or_else(|p| p.into_inner()).clone();
    all.sort();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    println!("{sent} {} {:.3} {:.3} {:.3}", ok.load(std::sync::atomic::Ordering::Relaxed), at(0.50), at(0.99), at(1.0));
    Ok(())
}
