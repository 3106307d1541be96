//! `make bench` helper (not part of the server): the limit Tessera's HTTP stack is measured against. axum's hello
//! world on the same runtime as `tessera serve` (`#[tokio::main]`, so as many workers as the CPUs it may run on),
//! the same hyper connection builder (`axum::serve` drives hyper-util's HTTP/1 and HTTP/2 `auto` builder, as
//! `tessera_server::connections` does), `TCP_NODELAY` and a listen backlog of 1,024 as Tessera sets them
//! (`TcpListener::bind` would give 128); one route, no layers, no state.
//!
//! Usage: bench_bare ADDR   (serves `GET /healthz` answering `ok` until killed)

use axum::{Router, routing::get, serve::ListenerExt};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args().nth(1).ok_or_else(|| anyhow::anyhow!("usage: bench_bare ADDR"))?;
    let app = Router::new().route("/healthz", get(|| async { "ok" }));
    let addr: std::net::SocketAddr = addr.parse()?;
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener = socket.listen(1_024)?;
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}
