//! Create an API token: name, "Should the API Token Expire?", IP allowlist, privileges; then reveal it once.

use super::{
    fields::{
        AllowlistField, NameField, PrivilegesField, RateLimitField, allowlist_problems, name_problem, skip_name_check,
    },
    reveal::RevealSecret,
};
use crate::{
    api::{IssuedToken, NewToken, TokenFormOptions, create_token, load_token_form},
    domain::{Expiry, RateLimit},
    error::AppError,
    ui::{
        date_picker::DatePicker,
        toast::{Toasts, use_toasts},
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_navigate};
use std::collections::BTreeSet;

#[component]
pub fn CreateTokenPage() -> impl IntoView {
    let options = Resource::new(|| (), |_| load_token_form());
    let issued = RwSignal::new(None::<IssuedToken>);
    // Bumped for "Create another": a fresh form.
    let form_key = RwSignal::new(0u32);
    let navigate = use_navigate();

    let on_done = Callback::new(move |another: bool| {
        issued.set(None);
        if another {
            form_key.update(|k| *k += 1);
        } else {
            navigate("/tokens", Default::default());
        }
    });

    view! {
        <Title text="Create API Token" />
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <A href="/tokens">"API Tokens"</A>
            <span aria-hidden="true">" / "</span>
            <span aria-current="page">"Create"</span>
        </nav>
        <div class="page-header">
            <h1>"Create API Token"</h1>
        </div>
        <Suspense fallback=|| view! { <div class="card skeleton-form" aria-busy="true">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match options.await {
                    Ok(options) => view! {
                        {move || match issued.get() {
                            Some(token) => view! {
                                <RevealSecret issued=token heading="Your new API token" offer_another=true on_done />
                            }.into_any(),
                            None => {
                                let options = options.clone();
                                let _key = form_key.get();
                                view! { <CreateForm options on_created=Callback::new(move |t| issued.set(Some(t))) /> }.into_any()
                            }
                        }}
                    }.into_any(),
                    Err(err) => view! { <div class="card" role="alert">{err.to_string()}</div> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CreateForm(options: TokenFormOptions, #[prop(into)] on_created: Callback<IssuedToken>) -> impl IntoView {
    let toasts = use_toasts();
    let name = RwSignal::new(String::new());
    let expires_never = RwSignal::new(false);
    let date = RwSignal::new(options.default_expiry.format("%Y-%m-%d").to_string());
    let allowlist = RwSignal::new(String::new());
    let rate_limit = RwSignal::new(String::new());
    let chosen: RwSignal<BTreeSet<String>> = RwSignal::new(options.privileges.iter().map(|p| p.name.clone()).collect());
    let errors = FieldErrors::new();
    let today = options.today;

    Effect::new(move |_| {
        date.track();
        expires_never.track();
        errors.expires.set(None);
    });
    let date_error = Memo::new(move |_| {
        if expires_never.get() {
            return None;
        }
        errors.expires.get().or_else(|| Expiry::parse(&date.get(), today).err().map(|e| e.to_string()))
    });
    let valid = Memo::new(move |_| {
        name_problem(&name.get()).is_none()
            && date_error.get().is_none()
            && allowlist_problems(&allowlist.get()).is_empty()
            && !chosen.get().is_empty()
            && RateLimit::parse_optional(&rate_limit.get()).is_ok()
            && errors.name.get().is_none()
    });

    let create = Action::new(move |new: &NewToken| {
        let new = new.clone();
        async move { create_token(new).await }
    });
    let last = StoredValue::new(None::<NewToken>);
    // A dangerous privilege long after signing in: confirm, then the same token is created.
    let confirming = RwSignal::new(false);
    Effect::new(move |_| match create.value().get() {
        Some(Ok(issued)) => {
            toasts.success(format!("Created API token “{}”.", issued.token.name));
            on_created.run(issued);
        }
        Some(Err(AppError::ConfirmationRequired)) => confirming.set(true),
        Some(Err(err)) => errors.show(&err, toasts),
        None => {}
    });
    let retry = move |()| {
        confirming.set(false);
        if let Some(new) = last.get_value() {
            create.dispatch(new);
        }
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !valid.get_untracked() {
            return;
        }
        let new = NewToken {
            name: name.get_untracked(),
            expires: if expires_never.get_untracked() { "never".into() } else { date.get_untracked() },
            allowlist: allowlist.get_untracked(),
            privileges: chosen.get_untracked().into_iter().collect(),
            rate_limit: rate_limit.get_untracked(),
        };
        last.set_value(Some(new.clone()));
        skip_name_check();
        create.dispatch(new);
    };
    let zone = options.time_zone.clone();

    view! {
        <form class="card form token-form" on:submit=submit novalidate>
            <NameField value=name server_error=errors.name />

            <fieldset class="field expiry">
                <legend>"Should the API Token Expire?"</legend>
                <label class="radio-row">
                    <input
                        type="radio"
                        name="expiry"
                        prop:checked=move || expires_never.get()
                        on:change=move |_| expires_never.set(true)
                    />
                    "The API Token will not expire."
                </label>
                <label class="radio-row">
                    <input
                        type="radio"
                        name="expiry"
                        prop:checked=move || !expires_never.get()
                        on:change=move |_| expires_never.set(false)
                    />
                    "Specify an expiration date."
                </label>
                <Show when=move || !expires_never.get()>
                    <div class="field nested">
                        <label for="token-expires">"Expiration date"</label>
                        <DatePicker
                            id="token-expires"
                            value=date
                            min=Signal::derive(move || today)
                            described_by="token-expires-hint token-expires-error"
                            invalid=Signal::derive(move || date_error.get().is_some())
                        />
                        <p id="token-expires-hint" class="hint">
                            {format!("The token stops working at 23:59:59 on this day, server time ({zone}).")}
                        </p>
                        <p id="token-expires-error" class="field-error" aria-live="polite">{move || date_error.get()}</p>
                    </div>
                </Show>
                <Show when=move || expires_never.get()>
                    <p class="callout callout-info">
                        "We recommend an expiration date: a token that never expires stays usable if it leaks."
                    </p>
                </Show>
            </fieldset>

            <AllowlistField value=allowlist server_error=errors.allowlist />
            <PrivilegesField options=options.privileges.clone() chosen server_error=errors.privileges />
            <RateLimitField value=rate_limit server_error=errors.rate_limit />

            <div class="form-actions">
                <button type="submit" class="button button-primary" disabled=move || !valid.get() || create.pending().get()>
                    {move || if create.pending().get() { "Creating…" } else { "Create" }}
                </button>
                <A href="/tokens" attr:class="button">"Cancel"</A>
            </div>
        </form>
        <Show when=move || confirming.get()>
            <crate::ui::confirm_identity::ConfirmIdentity on_confirmed=retry on_cancel=move |()| confirming.set(false) />
        </Show>
    }
}

/// Server errors that belong to a field, so they show next to it.
#[derive(Clone, Copy)]
pub(super) struct FieldErrors {
    pub name: RwSignal<Option<String>>,
    pub expires: RwSignal<Option<String>>,
    pub allowlist: RwSignal<Option<String>>,
    pub privileges: RwSignal<Option<String>>,
    pub rate_limit: RwSignal<Option<String>>,
}

impl FieldErrors {
    pub fn new() -> Self {
        Self {
            name: RwSignal::new(None),
            expires: RwSignal::new(None),
            allowlist: RwSignal::new(None),
            privileges: RwSignal::new(None),
            rate_limit: RwSignal::new(None),
        }
    }

    /// Shows `err` next to its field, or as a toast when it belongs to none.
    pub fn show(&self, err: &AppError, toasts: Toasts) {
        if !self.place(err) {
            toasts.error(err.to_string());
        }
    }

    /// Shows `err` next to its field; `false` when it belongs to none.
    fn place(&self, err: &AppError) -> bool {
        let slot = [
            ("name", self.name),
            ("expires", self.expires),
            ("allowlist", self.allowlist),
            ("privileges", self.privileges),
            ("rate_limit", self.rate_limit),
        ]
        .into_iter()
        .find_map(|(field, slot)| err.for_field(field).map(|message| (slot, message)));
        match slot {
            Some((slot, message)) => {
                slot.set(Some(message));
                true
            }
            None => false,
        }
    }
}
