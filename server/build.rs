//! Tells the server where cargo-leptos puts the built site (`target/site` in the workspace, the `site-root` of
//! Cargo.toml and Leptos.toml, even when CARGO_TARGET_DIR moves the rest) so it can be embedded, and rebuilds
//! the server whenever anything in it changes.

use std::{env, fs, path::PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into()));
    let workspace = manifest_dir.parent().map(PathBuf::from).unwrap_or(manifest_dir);
    let site = workspace.join("target").join("site");
    // `cargo test` and `cargo clippy` must work before any site is built: embed an empty folder then.
    if let Err(err) = fs::create_dir_all(&site) {
        panic!("cannot create {}: {err}", site.display());
    }
    println!("cargo:rerun-if-changed={}", site.display());
    println!("cargo:rustc-env=TESSERA_SITE_DIR={}", site.display());
}
