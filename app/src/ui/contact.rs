//! The contact e-mail card: where expiry warnings and leaked-token notices go. On the Account page for oneself,
//! on an account's page for an administrator with `edit-accounts`.

use super::toast::use_toasts;
use crate::api::{load_contact_email, set_contact_email};
use leptos::prelude::*;

#[component]
pub fn ContactEmailCard(
    /// The account; `None`: the signed-in one.
    name: Option<String>,
) -> impl IntoView {
    let toasts = use_toasts();
    let loaded = {
        let name = name.clone();
        Resource::new(|| (), move |()| load_contact_email(name.clone()))
    };
    let email = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let save = Action::new(move |value: &String| set_contact_email(name.clone(), value.clone()));
    Effect::new(move |_| match save.value().get() {
        Some(Ok(saved)) => {
            error.set(None);
            email.set(saved.clone().unwrap_or_default());
            toasts.success(match saved {
                Some(address) => format!("Warnings and notices now go to {address}."),
                None => "The contact e-mail was removed: no e-mail will be sent.".to_owned(),
            });
        }
        Some(Err(err)) => error.set(Some(err.for_field("email").unwrap_or_else(|| err.to_string()))),
        None => {}
    });
    view! {
        <form class="card form narrow-form" aria-labelledby="contact-heading" novalidate=true on:submit=move |ev| {
            ev.prevent_default();
            save.dispatch(email.get_untracked());
        }>
            <h2 id="contact-heading">"Contact e-mail"</h2>
            <p class="muted">
                "Where warnings go before a token expires (30, 7 and 1 day before, and when it has), and the notice when a token is found in public and revoked."
            </p>
            <Suspense>
                {move || Suspend::new(async move {
                    if let Ok(current) = loaded.await {
                        email.set(current.unwrap_or_default());
                    }
                })}
            </Suspense>
            <div class="field">
                <label for="contact-email">"E-mail address"</label>
                <input
                    id="contact-email"
                    type="email"
                    autocomplete="email"
                    placeholder="name@example.com"
                    maxlength="254"
                    aria-describedby="contact-email-error"
                    aria-invalid=move || error.get().is_some().to_string()
                    prop:value=move || email.get()
                    on:input=move |ev| {
                        email.set(event_target_value(&ev));
                        error.set(None);
                    }
                />
                <p id="contact-email-error" class="field-error" aria-live="polite">{move || error.get()}</p>
            </div>
            <div class="form-actions">
                <button type="submit" class="button button-primary" disabled=move || save.pending().get()>"Save e-mail"</button>
            </div>
        </form>
    }
}
