//! The built site (WASM, JS, CSS, favicon), embedded into the binary at compile time so `tessera` serves the
//! app from any working directory. `build.rs` points `TESSERA_SITE_DIR` at cargo-leptos's output.

use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::Response,
};

#[derive(rust_embed::Embed)]
#[folder = "$TESSERA_SITE_DIR"]
struct Site;

/// The embedded file at `path` (without the leading slash), answered with its type and an ETag; `304` when
/// the browser already has it. Browsers revalidate every time (`no-cache`), so a new build is picked up at once.
pub fn response(path: &str, request_headers: &HeaderMap) -> Option<Response> {
    let file = Site::get(path)?;
    let etag = format!("\"{}\"", hex_prefix(&file.metadata.sha256_hash()));
    let mime = file.metadata.mimetype().to_owned();
    let not_modified = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let builder = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let response = if not_modified {
        builder.status(StatusCode::NOT_MODIFIED).body(Body::empty())
    } else {
        builder.header(header::CONTENT_TYPE, mime).body(Body::from(file.data.into_owned()))
    };
    response.ok()
}

/// Every embedded path, for tests and diagnostics.
pub fn paths() -> impl Iterator<Item = String> {
    Site::iter().map(|p| p.into_owned())
}

fn hex_prefix(hash: &[u8; 32]) -> String {
    hash.iter().take(12).map(|b| format!("{b:02x}")).collect()
}
