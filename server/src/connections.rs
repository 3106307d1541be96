//! Accepting and serving connections with limits (issue 11 item 3), so a slow or hostile client cannot hold
//! the server: a cap on open connections (the next waits to be accepted), a deadline for a request's headers
//! (slowloris: headers trickled a byte at a time are cut off), an idle keep-alive timeout, and a deadline for
//! each whole request; HTTPS when given a certificate. The binary and the test harness both serve through here.

use axum::{
    Router,
    body::Body,
    extract::ConnectInfo,
    http::{Request, StatusCode},
    response::{IntoResponse, Response},
};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto::Builder,
};
use std::{
    future::Future,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::{
    net::TcpListener,
    sync::{Semaphore, watch},
};
use tower::ServiceExt;

/// How long and how many.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// A request's headers must arrive within this from their first byte (and a new connection's first request's
    /// from its opening: a silent one is closed).
    pub header_read_timeout: Duration,
    /// A kept-alive connection with no request in flight is closed after this.
    pub keep_alive_timeout: Duration,
    /// A whole request, body and handler included, must be answered within this (408 otherwise).
    pub request_timeout: Duration,
    /// Connections open at once; more wait in the kernel's queue until one closes (up to 1,024 of them, the
    /// listener's backlog, `startup::LISTEN_BACKLOG`; beyond that the kernel drops their SYNs and they retry).
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

/// When a connection last finished a request, how many it has in flight, and whether a request is arriving.
struct Activity {
    opened: Instant,
    /// Milliseconds after `opened`.
    last: AtomicU64,
    in_flight: AtomicUsize,
    /// When the first byte of a request whose headers are not complete yet arrived: milliseconds after `opened`,
    /// plus one (0: none is arriving). A new connection counts as arriving from the start, so one that stays silent
    /// is cut off like one trickling its headers.
    arriving_since: AtomicU64,
    /// How many bytes of HTTP/2's preface the connection began with so far ([`NOT_HTTP2`]: it began otherwise). An
    /// HTTP/2 connection (all of it seen) has frames arriving between requests, so only the idle timeout applies.
    preface: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            last: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            arriving_since: AtomicU64::new(1),
            preface: AtomicUsize::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        Some(Duration::from_millis(self.now().saturating_sub(self.last.load(Ordering::SeqCst))))
    }

    /// How long the headers of the request arriving have taken so far, if one is arriving (HTTP/1).
    fn headers_arriving_for(&self) -> Option<Duration> {
        let since = self.arriving_since.load(Ordering::SeqCst).checked_sub(1)?;
        if self.preface.load(Ordering::SeqCst) == HTTP2_PREFACE_START.len() {
            return None;
        }
        Some(Duration::from_millis(self.now().saturating_sub(since)))
    }

    /// Bytes came in: the first of a request when none is in flight or arriving.
    fn received(&self, bytes: &[u8]) {
        if self.in_flight.load(Ordering::SeqCst) == 0 && self.arriving_since.load(Ordering::SeqCst) == 0 {
            self.arriving_since.store(self.now() + 1, Ordering::SeqCst);
        }
        // The client's first bytes: HTTP/2's preface (possibly over several reads), or anything else.
        let matched = self.preface.load(Ordering::SeqCst);
        if let Some(expected) = HTTP2_PREFACE_START.get(matched..).filter(|rest| !rest.is_empty()) {
            let n = bytes.len().min(expected.len());
            let next = if bytes[..n] == expected[..n] { matched + n } else { NOT_HTTP2 };
            self.preface.store(next, Ordering::SeqCst);
        }
    }

    /// A request's headers are complete: it goes to the app.
    fn started(&self) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.arriving_since.store(0, Ordering::SeqCst);
    }

    /// A request was answered.
    fn finished(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.last.store(self.now().max(1), Ordering::SeqCst);
        // Bytes read while it was served (its body) were not the next request's.
        self.arriving_since.store(0, Ordering::SeqCst);
    }
}

/// The start of HTTP/2's connection preface (`PRI * HTTP/2.0`), enough to tell it from any HTTP/1 request.
const HTTP2_PREFACE_START: &[u8] = b"PRI * HTTP/2";

/// [`Activity::preface`] of a connection that did not begin with HTTP/2's preface.
const NOT_HTTP2: usize = usize::MAX;

/// A connection's stream, noting in its [`Activity`] when bytes come in. hyper's own header read timeout also
/// bounds the wait for the next request on a kept-alive connection (so idle connections closed after it, 10 s,
/// whatever the keep-alive timeout said, and a client reusing one just then had its request dropped); here the
/// header deadline runs from a request's first byte, and the wait before it is the keep-alive timeout's.
struct Watched<I> {
    io: I,
    activity: Arc<Activity>,
}

impl<I: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Watched<I> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(polled, std::task::Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.received(&buf.filled()[before..]);
        }
        polled
    }
}

impl<I: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// One accepted connection and what serving it needs.
struct Connection {
    app: Router,
    builder: Arc<Builder<TokioExecutor>>,
    limits: ConnectionLimits,
    stop: watch::Receiver<bool>,
    peer: SocketAddr,
}

impl Connection {
    /// Serves requests on `io` (plain TCP or TLS) until the client leaves, it idles too long, or the server stops.
    async fn serve<I>(self, io: I)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let Self { app, builder, limits, mut stop, peer } = self;
        let activity = Arc::new(Activity::new());
        let service = {
            let activity = activity.clone();
            hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                let app = app.clone();
                let activity = activity.clone();
                let deadline = limits.request_timeout;
                activity.started();
                async move {
                    let answer = tokio::time::timeout(deadline, app.oneshot(request.map(Body::new))).await;
                    activity.finished();
                    Ok::<Response, std::convert::Infallible>(match answer {
                        Ok(Ok(response)) => response,
                        Ok(Err(never)) => match never {},
                        Err(_) => (StatusCode::REQUEST_TIMEOUT, "The request took too long and was abandoned.\n")
                            .into_response(),
                    })
                }
            })
        };
        let io = Watched { io, activity: activity.clone() };
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
        tokio::pin!(connection);
        let shortest = limits.keep_alive_timeout.min(limits.header_read_timeout);
        let check_every = (shortest / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        let mut tick = tokio::time::interval(check_every);
        let mut closing = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(err) = result {
                        tracing::debug!(error = %err, %peer, "connection ended with an error");
                    }
                    break;
                }
                _ = tick.tick() => {
                    // Headers trickled in, or a new connection that never sent one: cut off (dropping it closes it).
                    if activity.headers_arriving_for().is_some_and(|took| took >= limits.header_read_timeout) {
                        tracing::debug!(%peer, "request headers not complete in time; connection closed");
                        break;
                    }
                    if !closing && activity.idle_for().is_some_and(|idle| idle >= limits.keep_alive_timeout) {
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                    }
                }
                _ = stop.changed(), if !closing => {
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}

/// Serves `app` on `listener` (over TLS with `tls`) until `shutdown` completes, then lets open requests finish
/// (up to 10 s).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut builder = Builder::new(TokioExecutor::new());
    // The header deadline is `Connection::serve`'s (see `Watched`), not hyper's.
    builder.http1().timer(TokioTimer::new()).header_read_timeout(None);
    builder.http2().timer(TokioTimer::new()).keep_alive_interval(None);
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.map_err(std::io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            app: app.clone(),
            builder: builder.clone(),
            limits: limits.clone(),
            stop: stop_rx.clone(),
            peer,
        };
        match &tls {
            None => {
                tokio::spawn(async move {
                    connection.serve(stream).await;
                    drop(permit);
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // The handshake counts as reading the request's headers: a client stalling in it is cut off.
                    match tokio::time::timeout(connection.limits.header_read_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => connection.serve(stream).await,
                        Ok(Err(err)) => tracing::debug!(error = %err, %peer, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                    drop(permit);
                });
            }
        }
    }
    // Stop accepting; ask every connection to finish its request and close; wait for them, within reason.
    drop(listener);
    let _ = stop_tx.send(true);
    let max = u32::try_from(limits.max_connections.max(1)).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(Duration::from_secs(10), permits.acquire_many(max)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http2_is_told_by_its_preface_even_when_it_arrives_in_pieces() {
        let http2 = Activity::new();
        http2.received(b"PRI * HT");
        assert!(http2.headers_arriving_for().is_some(), "not told yet");
        http2.received(b"TP/2.0\r\n\r\nSM\r\n\r\n");
        assert_eq!(http2.headers_arriving_for(), None, "HTTP/2: only the idle timeout applies");

        for first in [&b"POST /rpc/login HTTP/1.1\r\n"[..], b"PRI", b"PROPFIND / HTTP/1.1\r\n"] {
            let http1 = Activity::new();
            http1.received(first);
            http1.received(b"Host: x\r\n");
            assert!(http1.headers_arriving_for().is_some(), "{}", String::from_utf8_lossy(first));
        }
    }

    #[test]
    fn the_header_deadline_runs_from_a_requests_first_byte_not_from_the_last_answer() {
        let activity = Activity::new();
        activity.received(b"GET / HTTP/1.1\r\n\r\n");
        activity.started();
        assert_eq!(activity.headers_arriving_for(), None, "in flight");
        activity.finished();
        assert_eq!(activity.headers_arriving_for(), None, "idle: the keep-alive timeout's business");
        assert!(activity.idle_for().is_some());
        activity.received(b"GET");
        assert!(activity.headers_arriving_for().is_some_and(|took| took < Duration::from_secs(1)));
    }
}
