//! The WASM entry point: its only job is to hydrate the server-rendered app. `hydrate_lazy` first loads the
//! signed-in pages' module when the browser landed on one of them (they are split out of the main module),
//! then hydrates.
#![recursion_limit = "256"]

/// What the split-module loader panics with when a module cannot be fetched (leptos's `#[lazy]` through
/// `wasm_split_helpers`): after an upgrade, the build this tab started with is gone from the server.
const MODULE_GONE: &str = "load callback should succeed";
/// When this tab last reloaded for a lost module (milliseconds since the epoch, in the tab's session storage).
const RELOADED_AT: &str = "tessera-reloaded-for-module";

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        if info.to_string().contains(MODULE_GONE) {
            reload_for_current_build();
        }
    }));
    leptos::mount::hydrate_lazy(app::App);
}

/// Loads the page again, which brings the server's current build and its modules. At most once a minute, so a
/// module that cannot be fetched for another reason (the server down) leaves the error shown instead of
/// reloading in a loop.
fn reload_for_current_build() {
    let Some(window) = web_sys::window() else { return };
    let now = js_sys::Date::now();
    let storage = window.session_storage().ok().flatten();
    let last =
        storage.as_ref().and_then(|s| s.get_item(RELOADED_AT).ok().flatten()).and_then(|v| v.parse::<f64>().ok());
    if last.is_some_and(|at| now - at < 60_000.0) {
        return;
    }
    if let Some(storage) = &storage {
        let _ = storage.set_item(RELOADED_AT, &now.to_string());
    }
    let _ = window.location().reload();
}
