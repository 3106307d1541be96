//! `make bench` helper (not part of the server): the limit Tessera's HTTP stack is measured against. axum's hello
//! world on the same runtime as `tessera serve` (`#[tokio::main]`, so as many workers as the CPUs it may run on),
//! the same hyper connection builder (`axum::serve` drives hyper-util's HTTP/1 and HTTP/2 `auto` builder, as
//! `tessera_server::connections` does) and `TCP_NODELAY` as Tessera sets it; one route, no layers, no state.
//!
//! Usage: bench_bare ADDR   (serves `GET /healthz` answering `ok` until killed)

use axum::{Router, routing::get, serve::ListenerExt};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args().nth(1).ok_or_else(|| anyhow::anyhow!("usage: bench_bare ADDR"))?;
    let app = Router::new().route("/healthz", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}
