//! Tells the server where cargo-leptos put the built site (`<target dir>/site`) so it can be embedded, and
//! rebuilds the server whenever anything in it changes.

use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into()));
    let workspace = manifest_dir.parent().map(PathBuf::from).unwrap_or(manifest_dir);
    let target_dir = match env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    let site = target_dir.join("site");
    // `cargo test` and `cargo clippy` must work before any site is built: embed an empty folder then.
    if let Err(err) = fs::create_dir_all(&site) {
        panic!("cannot create {}: {err}", site.display());
    }
    println!("cargo:rerun-if-changed={}", site.display());
    println!("cargo:rustc-env=TESSERA_SITE_DIR={}", site.display());
}
