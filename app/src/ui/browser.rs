//! The few browser facilities the app uses directly: timers, the clipboard, focus, the leave-page guard.
//! On the server (SSR) they do nothing: effects and events only ever run in the browser.

/// Asked before leaving an unconfirmed secret: by the app's links, the Back button and closing the tab.
pub const LEAVE_QUESTION: &str =
    "You have not confirmed that you saved the token. It cannot be shown again. Leave anyway?";

#[cfg(feature = "hydrate")]
mod imp {
    use std::{cell::RefCell, time::Duration};
    use wasm_bindgen::JsCast;

    type Listener = wasm_bindgen::closure::Closure<dyn FnMut(web_sys::Event)>;

    thread_local! {
        /// The Back-button guard's `popstate` listener, while a secret is on screen.
        static BACK_GUARD: RefCell<Option<Listener>> = const { RefCell::new(None) };
        /// Set once the user agreed to leave, so the guard lets the next Back through.
        static LEAVING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
        static TIMEOUTS: RefCell<std::collections::HashMap<&'static str, gloo_timers::callback::Timeout>> =
            RefCell::new(std::collections::HashMap::new());
    }

    /// Runs `f` after `delay`, replacing (cancelling) anything still pending under the same `key`.
    pub fn debounce(key: &'static str, delay: Duration, f: impl FnOnce() + 'static) {
        let millis = u32::try_from(delay.as_millis()).unwrap_or(u32::MAX);
        let timeout = gloo_timers::callback::Timeout::new(millis, move || {
            TIMEOUTS.with(|t| t.borrow_mut().remove(key));
            f();
        });
        TIMEOUTS.with(|t| t.borrow_mut().insert(key, timeout));
    }

    thread_local! {
        /// Per key of [`at_once_then_paced`]: the window's timer and the latest call made during it.
        static PACED: RefCell<std::collections::HashMap<&'static str, Paced>> =
            RefCell::new(std::collections::HashMap::new());
    }

    struct Paced {
        _window: gloo_timers::callback::Timeout,
        latest: Option<Box<dyn FnOnce()>>,
    }

    /// Runs `f` at once when nothing ran under `key` for `delay`; otherwise keeps it as the latest call, which runs
    /// when that `delay` is up (and opens another). So the first keystroke after a pause shows its answer without
    /// waiting, quick typing makes one call per `delay`, and the last call always runs.
    pub fn at_once_then_paced(key: &'static str, delay: Duration, f: impl FnOnce() + 'static) {
        let in_window = PACED.with(|paced| {
            let mut paced = paced.borrow_mut();
            match paced.get_mut(key) {
                Some(window) => {
                    window.latest = Some(Box::new(f));
                    None
                }
                None => Some(f),
            }
        });
        if let Some(f) = in_window {
            open_window(key, delay);
            f();
        }
    }

    fn open_window(key: &'static str, delay: Duration) {
        let millis = u32::try_from(delay.as_millis()).unwrap_or(u32::MAX);
        let window = gloo_timers::callback::Timeout::new(millis, move || {
            let latest = PACED.with(|paced| paced.borrow_mut().remove(key)).and_then(|window| window.latest);
            if let Some(latest) = latest {
                open_window(key, delay);
                latest();
            }
        });
        PACED.with(|paced| paced.borrow_mut().insert(key, Paced { _window: window, latest: None }));
    }

    /// Drops what is pending under `key`, if anything (a component going away cancels its own timers, so they
    /// never touch its disposed signals).
    pub fn cancel(key: &'static str) {
        TIMEOUTS.with(|t| t.borrow_mut().remove(key));
        PACED.with(|paced| paced.borrow_mut().remove(key));
    }

    /// Runs `f` once after `delay`.
    pub fn after(delay: Duration, f: impl FnOnce() + 'static) {
        let millis = u32::try_from(delay.as_millis()).unwrap_or(u32::MAX);
        gloo_timers::callback::Timeout::new(millis, f).forget();
    }

    /// Runs `f` once the browser has painted what is on screen now: a timer started from the next animation
    /// frame's callback, which runs just before that frame's paint.
    pub fn after_paint(f: impl FnOnce() + 'static) {
        leptos::prelude::request_animation_frame(move || after(Duration::ZERO, f));
    }

    /// Copies `text` with the Clipboard API; `false` when it is missing or refused.
    pub async fn copy(text: &str) -> bool {
        let Some(window) = web_sys::window() else { return false };
        let clipboard = window.navigator().clipboard();
        if clipboard.is_undefined() {
            return false;
        }
        wasm_bindgen_futures::JsFuture::from(clipboard.write_text(text)).await.is_ok()
    }

    /// Moves focus to the first element matching `selector`, if any.
    pub fn focus(selector: &str) {
        let element = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector(selector).ok().flatten())
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(element) = element {
            let _ = element.focus();
        }
    }

    /// Tab from the last focusable element of `container` goes to its first (Shift+Tab: the reverse).
    /// Returns whether it moved focus (then the key press must not do its default).
    pub fn wrap_focus(container: &str, backwards: bool) -> bool {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return false };
        let Ok(Some(root)) = document.query_selector(container) else { return false };
        let Ok(list) = root.query_selector_all("button:not([disabled]):not([tabindex='-1'])") else { return false };
        if list.length() == 0 {
            return false;
        }
        let first = list.item(0);
        let last = list.item(list.length() - 1);
        let active: Option<web_sys::Node> = document.active_element().map(Into::into);
        let target = match (backwards, active) {
            (true, Some(active)) if Some(&active) == first.as_ref() => last,
            (false, Some(active)) if Some(&active) == last.as_ref() => first,
            _ => return false,
        };
        match target.and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok()) {
            Some(element) => element.focus().is_ok(),
            None => false,
        }
    }

    /// While `on`, closing or reloading the tab asks the browser's "Leave site?" question, and the Back
    /// button asks [`super::LEAVE_QUESTION`].
    pub fn guard_leaving(on: bool) {
        guard_back(on);
        if let Some(window) = web_sys::window() {
            if on {
                let handler = wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::BeforeUnloadEvent)>::new(
                    |event: web_sys::BeforeUnloadEvent| {
                        event.prevent_default();
                        event.set_return_value("unsaved");
                    },
                );
                window.set_onbeforeunload(Some(handler.as_ref().unchecked_ref()));
                handler.forget();
            } else {
                window.set_onbeforeunload(None);
            }
        }
    }

    /// Back button: an extra history entry for the same address sits on top while guarding, so Back only pops
    /// it (the router stays on the page); we then ask, and either go back for real or put the entry back.
    fn guard_back(on: bool) {
        let Some(window) = web_sys::window() else { return };
        let Ok(history) = window.history() else { return };
        const MARK: &str = "tessera-leave-guard";
        BACK_GUARD.with(|slot| {
            let mut slot = slot.borrow_mut();
            if on {
                if slot.is_some() {
                    return;
                }
                LEAVING.with(|l| l.set(false));
                let _ = history.push_state_with_url(&wasm_bindgen::JsValue::from_str(MARK), "", None);
                let handler = Listener::new(|_: web_sys::Event| {
                    if LEAVING.with(|l| l.get()) {
                        return;
                    }
                    let Some(window) = web_sys::window() else { return };
                    let Ok(history) = window.history() else { return };
                    if confirm(super::LEAVE_QUESTION) {
                        LEAVING.with(|l| l.set(true));
                        window.set_onbeforeunload(None);
                        let _ = history.back();
                    } else {
                        let _ = history.push_state_with_url(&wasm_bindgen::JsValue::from_str(MARK), "", None);
                    }
                });
                let _ = window.add_event_listener_with_callback("popstate", handler.as_ref().unchecked_ref());
                *slot = Some(handler);
            } else if let Some(handler) = slot.take() {
                // Called from the page's cleanup, never from inside the listener itself, so it may be dropped.
                let _ = window.remove_event_listener_with_callback("popstate", handler.as_ref().unchecked_ref());
            }
        });
    }

    /// Asks the user to confirm with the browser's own dialog.
    pub fn confirm(question: &str) -> bool {
        web_sys::window().and_then(|w| w.confirm_with_message(question).ok()).unwrap_or(true)
    }
}

#[cfg(not(feature = "hydrate"))]
mod imp {
    use std::time::Duration;

    pub fn debounce(_key: &'static str, _delay: Duration, _f: impl FnOnce() + 'static) {}
    pub fn at_once_then_paced(_key: &'static str, _delay: Duration, _f: impl FnOnce() + 'static) {}
    pub fn cancel(_key: &'static str) {}
    pub fn after(_delay: Duration, _f: impl FnOnce() + 'static) {}
    pub fn after_paint(_f: impl FnOnce() + 'static) {}
    pub async fn copy(_text: &str) -> bool {
        false
    }
    pub fn focus(_selector: &str) {}
    pub fn wrap_focus(_container: &str, _backwards: bool) -> bool {
        false
    }
    pub fn guard_leaving(_on: bool) {}
    pub fn confirm(_question: &str) -> bool {
        true
    }
}

pub use imp::*;
