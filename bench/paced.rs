//! `make bench` helper (not part of the server): an open-loop load generator. It sends GET requests at a fixed
//! rate, whatever the server's latency, and measures each from the moment it was due (so a slow server cannot
//! hide its queueing), cycling through the `Authorization` values of a token file.
//!
//! Requests are due evenly spaced (every 100 µs at 10,000 req/s), as independent clients would send them, not in
//! bursts. The client must cost its core little, or its own queueing is what gets measured: the first version
//! (reqwest, and a pacer thread that slept until each due time and handed the request to the runtime's workers)
//! took 80% of its core at 10,000 req/s, and against bare axum it measured a p99 of 30-190 ms, the client's own
//! backlog. This one is a single thread: one loop that waits for each due time and sends the request on an idle
//! keep-alive HTTP/1 connection (hyper's, no pool or URL handling per request), opening one more only when every
//! connection is busy. Connections are opened before the clock starts, as a client's pool would be.
//!
//! Two ways to wait for a due time (tokio's own timers tick once a millisecond, which would send a millisecond's
//! requests at once):
//! - `spin`, for a client with a core of its own (`taskset`): the last stretch is spent yielding to the runtime,
//!   which serves the connections' I/O between two looks at the clock. It keeps the core busy, and adds nothing to
//!   what it measures: against bare axum at 10,000 req/s, p50 0.06 ms and p99 0.2-0.5 ms here.
//! - otherwise a `timerfd` in the runtime's epoll: the thread sleeps between requests (about half a core at 10,000
//!   req/s), for clients that share a core with each other or with the servers; waking up costs each request about
//!   0.1 ms more as measured (p50 0.16 ms against the same bare axum).
//!
//! Usage: bench_paced URL TOKEN_FILE RATE SECONDS [spin]   (prints: sent ok p50_ms p99_ms max_ms)

use http_body_util::{BodyExt, Empty};
use hyper::{Request, body::Bytes, client::conn::http1::SendRequest, header::HeaderValue};
use hyper_util::rt::TokioIo;
use std::{
    cell::RefCell,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    rc::Rc,
    time::{Duration, Instant},
};
use tokio::{
    io::{Interest, unix::AsyncFd},
    net::TcpStream,
};

/// Connections opened before the clock starts (a few more than the latency times the rate ever needs).
const WARM_CONNECTIONS: usize = 16;

type Connection = SendRequest<Empty<Bytes>>;

struct Target {
    addr: String,
    host: HeaderValue,
    path: String,
}

async fn connect(target: &Target) -> anyhow::Result<Connection> {
    let stream = TcpStream::connect(&target.addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::task::spawn_local(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

struct Tally {
    ok: u64,
    latencies: Vec<Duration>,
    /// Calls that got no answer at all (a connection refused, reset or closed before the answer), and the first
    /// such error: a server falling behind an open loop shows here, not as an error status.
    unanswered: u64,
    first_failure: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (url, token_file, rate, seconds, spin) = match args.as_slice() {
        [url, token_file, rate, seconds] => (url, token_file, rate, seconds, false),
        [url, token_file, rate, seconds, mode] if mode == "spin" => (url, token_file, rate, seconds, true),
        _ => anyhow::bail!("usage: bench_paced URL TOKEN_FILE RATE SECONDS [spin]"),
    };
    let rate: u64 = rate.parse()?;
    let seconds: u64 = seconds.parse()?;
    let uri: hyper::Uri = url.parse()?;
    anyhow::ensure!(uri.scheme_str() == Some("http"), "only http:// URLs");
    let authority = uri.authority().ok_or_else(|| anyhow::anyhow!("no host in {url}"))?;
    let target = Rc::new(Target {
        addr: format!("{}:{}", authority.host(), authority.port_u16().unwrap_or(80)),
        host: HeaderValue::from_str(authority.as_str())?,
        path: uri.path_and_query().map_or("/", |p| p.as_str()).to_owned(),
    });
    let headers: Vec<HeaderValue> = std::fs::read_to_string(token_file)?
        .lines()
        .filter_map(|line| line.split_once(' ').map(|(_, secret)| format!("Bearer {secret}")))
        .map(HeaderValue::try_from)
        .collect::<Result<_, _>>()?;
    anyhow::ensure!(!headers.is_empty(), "no tokens in {token_file}");
    let total = usize::try_from(rate * seconds)?;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    let tally = Rc::new(RefCell::new(Tally {
        ok: 0,
        latencies: Vec::with_capacity(total),
        unanswered: 0,
        first_failure: None,
    }));
    local.block_on(&runtime, {
        let tally = tally.clone();
        async move {
            let idle: Rc<RefCell<Vec<Connection>>> = Rc::default();
            for _ in 0..WARM_CONNECTIONS {
                let connection = connect(&target).await?;
                idle.borrow_mut().push(connection);
            }
            let timer = if spin { None } else { Some(Timer::new()?) };
            let start = Instant::now() + Duration::from_millis(5);
            let mut tasks = Vec::with_capacity(total);
            for n in 0..total {
                let due = start + interval * u32::try_from(n)?;
                match &timer {
                    Some(timer) => timer.wait_until(due).await?,
                    None => spin_until(due).await,
                }
                let request = Request::get(&target.path)
                    .header(hyper::header::HOST, target.host.clone())
                    .header(hyper::header::AUTHORIZATION, headers[n % headers.len()].clone())
                    .body(Empty::<Bytes>::new())?;
                let connection = idle.borrow_mut().pop();
                let (idle, tally, target) = (idle.clone(), tally.clone(), target.clone());
                tasks.push(tokio::task::spawn_local(async move {
                    let answered = async {
                        // A kept connection the server has closed meanwhile (nginx closes a client's connection
                        // after its 1,000th request, saying so in that answer) is replaced before the request
                        // goes out, as any client's pool does; a failure after that counts as unanswered.
                        let kept = match connection {
                            Some(mut connection) => connection.ready().await.is_ok().then_some(connection),
                            None => None,
                        };
                        let mut connection = match kept {
                            Some(connection) => connection,
                            None => connect(&target).await?,
                        };
                        connection.ready().await?;
                        let response = connection.send_request(request).await?;
                        let ok = response.status().is_success();
                        response.into_body().collect().await?;
                        anyhow::Ok((ok, connection))
                    }
                    .await;
                    let elapsed = due.elapsed();
                    let mut tally = tally.borrow_mut();
                    tally.latencies.push(elapsed);
                    match answered {
                        Ok((ok, connection)) => {
                            tally.ok += u64::from(ok);
                            idle.borrow_mut().push(connection);
                        }
                        Err(err) => {
                            tally.unanswered += 1;
                            tally.first_failure.get_or_insert_with(|| format!("{err:#}"));
                        }
                    }
                }));
            }
            for task in tasks {
                let _ = task.await;
            }
            anyhow::Ok(())
        }
    })?;
    let tally = tally.borrow();
    let mut all = tally.latencies.clone();
    all.sort();
    anyhow::ensure!(!all.is_empty(), "no requests sent");
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    println!("{total} {} {:.3} {:.3} {:.3}", tally.ok, at(0.50), at(0.99), at(1.0));
    if let Some(first) = &tally.first_failure {
        eprintln!("bench_paced: {} of {total} calls got no answer (the first: {first})", tally.unanswered);
    }
    Ok(())
}

/// Waits until `due` on a core of its own: on tokio's timer while it is more than two of its ticks away, then by
/// yielding, which lets the connections' tasks and the I/O driver run between two looks at the clock.
async fn spin_until(due: Instant) {
    let coarse = Duration::from_millis(2);
    if let Some(far) = due.checked_duration_since(Instant::now())
        && far > coarse
    {
        tokio::time::sleep_until((due - coarse).into()).await;
    }
    while Instant::now() < due {
        tokio::task::yield_now().await;
    }
}

/// A one-shot timer with the kernel's resolution (`timerfd`), waited on in the runtime's epoll.
struct Timer {
    fd: AsyncFd<OwnedFd>,
}

impl Timer {
    fn new() -> anyhow::Result<Self> {
        // SAFETY: timerfd_create takes no pointers; a negative result is an error, checked below.
        let fd = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) };
        anyhow::ensure!(fd >= 0, "timerfd_create: {}", std::io::Error::last_os_error());
        // SAFETY: `fd` was just created and is owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: an OwnedFd's descriptor is open and stays the same until the AsyncFd that owns it is dropped.
        let fd =
            unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.map_err(|err| err.into_parts().1)?;
        Ok(Self { fd })
    }

    /// Waits until `due` (at once if it has passed).
    async fn wait_until(&self, due: Instant) -> anyhow::Result<()> {
        let Some(left) = due.checked_duration_since(Instant::now()).filter(|left| !left.is_zero()) else {
            return Ok(());
        };
        let value = libc::itimerspec {
            it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
            it_value: libc::timespec {
                tv_sec: libc::time_t::try_from(left.as_secs())?,
                tv_nsec: libc::c_long::from(left.subsec_nanos()),
            },
        };
        // SAFETY: the fd is a timerfd; `value` is a valid itimerspec and the old value is not asked for.
        let set = unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &value, std::ptr::null_mut()) };
        anyhow::ensure!(set == 0, "timerfd_settime: {}", std::io::Error::last_os_error());
        loop {
            let mut ready = self.fd.readable().await?;
            let mut expirations = [0u8; 8];
            // SAFETY: reads at most 8 bytes into an 8-byte buffer from a fd we own.
            let read = unsafe { libc::read(self.fd.as_raw_fd(), expirations.as_mut_ptr().cast(), expirations.len()) };
            if read == 8 {
                return Ok(());
            }
            ready.clear_ready();
        }
    }
}
