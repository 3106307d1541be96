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
    /// A request's headers must arrive within this (also bounds how long a new connection may stay silent).
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

/// When a connection last finished a request, and how many it has in flight.
struct Activity {
    opened: Instant,
    /// Milliseconds after `opened`.
    last: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let last = Duration::from_millis(self.last.load(Ordering::SeqCst));
        Some(self.opened.elapsed().saturating_sub(last))
    }

    fn touch(&self) {
        let now = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(now, Ordering::SeqCst);
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
        let activity =
            Arc::new(Activity { opened: Instant::now(), last: AtomicU64::new(0), in_flight: AtomicUsize::new(0) });
        let service = {
            let activity = activity.clone();
            hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                let app = app.clone();
                let activity = activity.clone();
                let deadline = limits.request_timeout;
                activity.in_flight.fetch_add(1, Ordering::SeqCst);
                async move {
                    let answer = tokio::time::timeout(deadline, app.oneshot(request.map(Body::new))).await;
                    activity.in_flight.fetch_sub(1, Ordering::SeqCst);
                    activity.touch();
                    Ok::<Response, std::convert::Infallible>(match answer {
                        Ok(Ok(response)) => response,
                        Ok(Err(never)) => match never {},
                        Err(_) => (StatusCode::REQUEST_TIMEOUT, "The request took too long and was abandoned.\n")
                            .into_response(),
                    })
                }
            })
        };
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
        tokio::pin!(connection);
        let check_every = (limits.keep_alive_timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
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
                _ = tick.tick(), if !closing => {
                    if activity.idle_for().is_some_and(|idle| idle >= limits.keep_alive_timeout) {
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
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
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
