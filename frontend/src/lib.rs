//! The WASM entry point: its only job is to hydrate the server-rendered app. Hydration waits for the signed-in
//! pages' module when the browser landed on one of them (they are split out of the main module), and only then
//! marks the page as taken over (`data-hydrated` on `<html>`, what the browser tests and the bench wait for).
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
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) else { return };
        // `hydrate_lazy`, with the mark once it is done: an effect in the app would run while the page's module
        // is still on its way, before the page can be used.
        leptos::mount::hydrate_from_async(body, app::App).await.forget();
        if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
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
