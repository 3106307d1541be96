//! A password input with a show/hide switch and, for new passwords, a strength meter (the server's only rule
//! is the length; the meter helps people choose well).

use crate::domain::{PASSWORD_MIN_LEN, Strength, strength};
use leptos::prelude::*;

#[component]
pub fn PasswordField(
    /// The input's id; the hint and error ids derive from it.
    #[prop(into)]
    id: String,
    #[prop(into)] label: String,
    value: RwSignal<String>,
    /// An error from the server for this field; cleared when the value changes.
    server_error: RwSignal<Option<String>>,
    /// A new password: show the strength meter and the length rule (`new-password` autocomplete).
    #[prop(optional)]
    new: bool,
) -> impl IntoView {
    let shown = RwSignal::new(false);
    let level = Memo::new(move |_| strength(&value.get()));
    let error = move || {
        server_error.get().or_else(|| {
            (new && !value.get().is_empty() && level.get() == Strength::TooShort)
                .then(|| format!("The password must be at least {PASSWORD_MIN_LEN} characters long."))
        })
    };
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let strength_id = format!("{id}-strength");
    let described = if new { format!("{hint_id} {strength_id} {error_id}") } else { error_id.clone() };
    let autocomplete = if new { "new-password" } else { "current-password" };
    let input_id = id.clone();
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            {new.then(|| view! {
                <div class="hint" id=hint_id.clone()>
                    {format!("At least {PASSWORD_MIN_LEN} characters. A few unrelated words make a strong, memorable password.")}
                </div>
            })}
            <div class="password-row">
                <input
                    id=input_id
                    type=move || if shown.get() { "text" } else { "password" }
                    autocomplete=autocomplete
                    spellcheck="false"
                    aria-describedby=described
                    aria-invalid=move || error().is_some().to_string()
                    prop:value=move || value.get()
                    on:input=move |ev| {
                        value.set(event_target_value(&ev));
                        server_error.set(None);
                    }
                />
                <button
                    type="button"
                    class="button button-small"
                    aria-pressed=move || shown.get().to_string()
                    aria-controls=id.clone()
                    on:click=move |_| shown.update(|s| *s = !*s)
                >
                    {move || if shown.get() { "Hide" } else { "Show" }}
                </button>
            </div>
            {new.then(|| view! {
                <div class="strength" id=strength_id.clone() aria-live="polite">
                    <meter
                        min="0"
                        max="4"
                        low="2"
                        high="3"
                        optimum="4"
                        aria-label="Password strength"
                        value=move || level.get().score().to_string()
                    ></meter>
                    <span class=move || format!("strength-label strength-{}", level.get().score())>
                        {move || if value.get().is_empty() { String::new() } else { format!("Strength: {}", level.get().label()) }}
                    </span>
                </div>
            })}
            <p id=error_id class="field-error" aria-live="polite">{error}</p>
        </div>
    }
}
