//! The built site (WASM, JS, CSS, favicon), embedded into the binary at compile time so `tessera` serves the
//! app from any working directory. `build.rs` points `TESSERA_SITE_DIR` at cargo-leptos's output.
//!
//! The release build precompresses every file (`cargo leptos build --precompress`) and the brotli copy
//! (quality 11, written beside the file as `.br`) is what browsers that accept brotli get: the WASM goes out 20%
//! smaller than the compression layer's on-the-fly brotli, which has to be fast and so compresses lightly.
//! (The `.gz` copies are left unused: cargo-leptos's gzip is larger than the layer's own.) Without a copy (a
//! debug site, a client without brotli) the plain file is answered and the compression layer does its usual.
//!
//! The page names its script, module and stylesheet under `/assets/{version}/` (issue 17), `version` being a hash
//! of every embedded file: those answers are `immutable` for a year, so a second visit downloads none of them,
//! and a new build has a new version, so no browser keeps an old file. Another version is not found (a page
//! from an older build is itself revalidated, so a reload asks for the new one). The same files stay at their
//! plain paths (`/pkg/…`), revalidated on every use, for anything that links to them directly.

use sha2::{Digest, Sha256};
use std::{collections::HashMap, sync::OnceLock};

use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::Response,
};

#[derive(rust_embed::Embed)]
#[folder = "$TESSERA_SITE_DIR"]
struct Site;

/// The suffix of precompressed copies, which are ways of sending their file, not files of their own.
const COPY_SUFFIXES: [&str; 2] = [".br", ".gz"];

/// The prefix the page names its files under: `/assets/` and the version of what is embedded.
pub fn root() -> &'static str {
    static ROOT: OnceLock<String> = OnceLock::new();
    ROOT.get_or_init(|| {
        format!(
            "/assets/{}",
            version(Site::iter().filter_map(|path| Some((Site::get(&path)?.metadata.sha256_hash(), path))))
        )
    })
}

/// The first 16 hex digits of a SHA-256 over every file's path and content hash, in path order: any change to
/// any file gives another version.
fn version(files: impl Iterator<Item = ([u8; 32], std::borrow::Cow<'static, str>)>) -> String {
    let mut files: Vec<_> = files.collect();
    files.sort_by(|a, b| a.1.cmp(&b.1));
    let mut digest = Sha256::new();
    for (hash, path) in &files {
        digest.update(path.as_bytes());
        digest.update([0]);
        digest.update(hash);
    }
    hex_prefix(&digest.finalize().into()).chars().take(16).collect()
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// The site file `path` (without the leading slash) names, and its `Cache-Control`: under `assets/{current}/`
/// immutable, under another version nothing, anywhere else the path itself, revalidated.
fn locate<'a>(path: &'a str, current: &str) -> Option<(&'a str, &'static str)> {
    match path.strip_prefix("assets/") {
        Some(versioned) => {
            let file = versioned.strip_prefix(current)?.strip_prefix('/')?;
            (!file.is_empty()).then_some((file, IMMUTABLE))
        }
        None => Some((path, REVALIDATE)),
    }
}

/// The embedded file at `path` (without the leading slash), answered with its type and an ETag; `304` when
/// the browser already has it. Under [`root`] it is `immutable`; at its plain path browsers revalidate every
/// time (`no-cache`), so a new build is picked up at once.
pub fn response(path: &str, request_headers: &HeaderMap) -> Option<Response> {
    if COPY_SUFFIXES.iter().any(|suffix| path.ends_with(suffix)) {
        return None;
    }
    let (path, cache_control) = locate(path, root().trim_start_matches("/assets/"))?;
    let file = Site::get(path)?;
    let mime = file.metadata.mimetype().to_owned();
    let accept = request_headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("");
    let brotli = if accepts(accept, "br") { Site::get(&format!("{path}.br")) } else { None };
    let is_brotli = brotli.is_some();
    let body = brotli.unwrap_or(file);
    // Each representation has its own validator, so a cache never answers a plain request with brotli bytes.
    let etag = format!("\"{}{}\"", hex_prefix(&body.metadata.sha256_hash()), if is_brotli { "-br" } else { "" });
    let not_modified = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let mut builder = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::CACHE_CONTROL, HeaderValue::from_static(cache_control))
        .header(header::VARY, HeaderValue::from_static("accept-encoding"));
    if is_brotli {
        builder = builder.header(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
    }
    let response = if not_modified {
        builder.status(StatusCode::NOT_MODIFIED).body(Body::empty())
    } else {
        // The embedded bytes are `'static` in a release build: sent as they are, not copied per request.
        builder.header(header::CONTENT_TYPE, mime).body(Body::from(body.data))
    };
    response.ok()
}

/// Whether an `Accept-Encoding` value allows `coding`: named, or covered by `*`, with a quality above zero
/// (RFC 9110 §12.5.3). An explicit entry for the coding wins over `*`.
fn accepts(accept_encoding: &str, coding: &str) -> bool {
    let mut wildcard = None;
    for entry in accept_encoding.split(',') {
        let mut parts = entry.split(';');
        let name = parts.next().unwrap_or("").trim();
        let quality = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if name.eq_ignore_ascii_case(coding) {
            return quality > 0.0;
        }
        if name == "*" {
            wildcard = Some(quality > 0.0);
        }
    }
    wildcard.unwrap_or(false)
}

/// The split modules' manifest (`cargo leptos build --split`): for each lazy function, the modules it needs.
/// The page names them for preloading when it shows a page they hold. Empty for a site built without splitting
/// (or not built: the tests' empty site).
pub fn split_modules() -> &'static HashMap<String, Vec<String>> {
    static MODULES: OnceLock<HashMap<String, Vec<String>>> = OnceLock::new();
    MODULES.get_or_init(|| {
        Site::get("pkg/__wasm_split_manifest.json")
            .and_then(|file| serde_json::from_slice(&file.data).ok())
            .unwrap_or_default()
    })
}

/// Every embedded path, for tests and diagnostics.
pub fn paths() -> impl Iterator<Item = String> {
    Site::iter().map(|p| p.into_owned())
}

fn hex_prefix(hash: &[u8; 32]) -> String {
    hash.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::{IMMUTABLE, REVALIDATE, accepts, locate, version};

    #[test]
    fn the_version_changes_with_any_file_and_not_with_their_order() {
        let files = |a: u8, b: u8| vec![([a; 32], "pkg/tessera.js".into()), ([b; 32], "pkg/tessera.wasm".into())];
        let one = version(files(1, 2).into_iter());
        assert_eq!(one.len(), 16);
        assert_eq!(one, version(files(1, 2).into_iter().rev()));
        assert_ne!(one, version(files(1, 3).into_iter()));
        let renamed = vec![([1; 32], "pkg/tessera2.js".into()), ([2; 32], "pkg/tessera.wasm".into())];
        assert_ne!(one, version(renamed.into_iter()));
    }

    #[test]
    fn files_under_the_current_version_are_immutable_others_are_not_found() {
        let current = "0123456789abcdef";
        assert_eq!(locate("assets/0123456789abcdef/pkg/tessera.css", current), Some(("pkg/tessera.css", IMMUTABLE)));
        assert_eq!(locate("pkg/tessera.css", current), Some(("pkg/tessera.css", REVALIDATE)));
        assert_eq!(locate("favicon.svg", current), Some(("favicon.svg", REVALIDATE)));
        for other in [
            "assets/fedcba9876543210/pkg/tessera.css",
            "assets/0123456789abcdef",
            "assets/0123456789abcdef/",
            "assets/0123456789abcdefXX/pkg/tessera.css",
            "assets/pkg/tessera.css",
        ] {
            assert_eq!(locate(other, current), None, "{other}");
        }
    }

    #[test]
    fn a_named_coding_is_accepted_unless_its_quality_is_zero() {
        assert!(accepts("gzip, deflate, br, zstd", "br"));
        assert!(accepts("gzip;q=0.5, br;q=0.1", "br"));
        assert!(!accepts("br;q=0, gzip", "br"));
        assert!(!accepts("br; q=0.000", "br"));
        assert!(accepts("br;q=0, gzip", "gzip"));
        assert!(accepts("GZIP", "gzip"));
    }

    #[test]
    fn the_wildcard_covers_codings_not_named() {
        assert!(accepts("*", "br"));
        assert!(!accepts("*;q=0", "gzip"));
        assert!(!accepts("*, br;q=0", "br"), "the explicit refusal wins over the wildcard");
        assert!(accepts("*;q=0, br", "br"));
    }

    #[test]
    fn nothing_is_accepted_from_an_empty_or_identity_only_header() {
        assert!(!accepts("", "br"));
        assert!(!accepts("identity", "gzip"));
        assert!(!accepts("gzipped, brotli", "br"), "names are compared whole");
    }
}
