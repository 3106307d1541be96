//! The one and only showing of a new secret: read-only field, Copy (Clipboard API, with a select-and-Ctrl+C
//! fallback), the warning, and "Yes, I saved my token". Leaving before confirming asks first.

use super::LeaveGuard;
use crate::{api::IssuedToken, ui::browser};
use leptos::prelude::*;
use std::time::Duration;

/// The pending "Copied" reset, cancelled when the reveal goes away.
const COPIED_KEY: &str = "token-copied";

#[component]
pub fn RevealSecret(
    issued: IssuedToken,
    #[prop(into)] heading: String,
    /// Offer the "Create another token" checkbox (create flow only).
    #[prop(optional)]
    offer_another: bool,
    /// Called with whether to create another token.
    #[prop(into)]
    on_done: Callback<bool>,
) -> impl IntoView {
    let guard = expect_context::<LeaveGuard>();
    guard.0.set(true);
    browser::guard_leaving(true);
    on_cleanup(move || {
        guard.0.set(false);
        browser::guard_leaving(false);
    });

    let copied = RwSignal::new(false);
    on_cleanup(|| browser::cancel(COPIED_KEY));
    let fallback = RwSignal::new(false);
    let another = RwSignal::new(false);
    let secret = StoredValue::new(issued.secret.clone());
    let copy = move |_| {
        let text = secret.get_value();
        leptos::task::spawn_local(async move {
            if browser::copy(&text).await {
                fallback.set(false);
                copied.set(true);
                // Keyed, so copying again restarts the two seconds instead of being cut short by the first timer.
                browser::debounce(COPIED_KEY, Duration::from_secs(2), move || copied.set(false));
            } else {
                fallback.set(true);
                browser::focus("#token-secret");
                select_secret();
            }
        });
    };
    let done = move |_| {
        guard.0.set(false);
        browser::guard_leaving(false);
        on_done.run(another.get_untracked());
    };

    view! {
        <section class="card reveal" aria-labelledby="reveal-heading">
            <h2 id="reveal-heading">{heading}</h2>
            <p>"Token "<strong>{issued.token.name.clone()}</strong>" is ready. Copy its secret now:"</p>
            <div class="secret-row">
                <label for="token-secret" class="visually-hidden">"Token secret"</label>
                <input
                    id="token-secret"
                    class="secret"
                    type="text"
                    readonly
                    spellcheck="false"
                    value=issued.secret.clone()
                    on:focus=move |_| select_secret()
                />
                <button type="button" class="button button-primary copy-button" on:click=copy>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
            <p class="copy-status" role="status" aria-live="polite">
                {move || {
                    if copied.get() {
                        "Copied to the clipboard."
                    } else if fallback.get() {
                        "Copying is not available here: the token is selected, press Ctrl+C (⌘C on a Mac) to copy it."
                    } else {
                        ""
                    }
                }}
            </p>
            <div class="callout callout-warning" role="note">
                <strong>"This is the only time the token is shown."</strong>
                " Tessera keeps only a fingerprint of it: once you leave this page it cannot be shown again. "
                "If you lose it, revoke it and create a new one."
            </div>
            {offer_another.then(|| view! {
                <label class="checkbox-row">
                    <input type="checkbox" prop:checked=move || another.get() on:change=move |ev| another.set(event_target_checked(&ev)) />
                    "Create another token after I click Yes, I saved my token"
                </label>
            })}
            <div class="form-actions">
                <button type="button" class="button button-primary" on:click=done>"Yes, I saved my token"</button>
            </div>
        </section>
    }
}

/// Selects the secret's text, so Ctrl+C copies it.
fn select_secret() {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        if let Some(input) = document()
            .get_element_by_id("token-secret")
            .and_then(|e| e.dyn_into::<leptos::web_sys::HtmlInputElement>().ok())
        {
            input.select();
        }
    }
}
