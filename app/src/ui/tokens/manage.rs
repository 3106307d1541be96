//! Manage one token: rename, edit allowlist and privileges, see the expiry (fixed at creation), rotate the
//! secret (revealed once), revoke.

use super::{
    create::FieldErrors,
    fields::{
        AllowlistField, NameField, PrivilegesField, RateLimitField, allowlist_problems, name_problem, skip_name_check,
    },
    manage_href,
    reveal::RevealSecret,
    usage::UsageCard,
};
use crate::{
    api::{
        IssuedToken, TokenFormOptions, TokenRow, UsageSummary, load_manage_token, rename_token, revoke_tokens,
        rotate_token, update_token,
    },
    domain::{Expiry, RateLimit},
    error::AppError,
    ui::{date_picker::DatePicker, dialog::ConfirmDialog, toast::use_toasts},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    NavigateOptions,
    components::A,
    hooks::{use_navigate, use_params_map},
};
use std::collections::BTreeSet;

#[component]
pub fn ManageTokenPage() -> impl IntoView {
    let params = use_params_map();
    let name = Memo::new(move |_| params.with(|p| p.get("name").unwrap_or_default()));
    let reload = RwSignal::new(0u32);
    let data = Resource::new(move || (name.get(), reload.get()), |(name, _)| load_manage_token(name));
    let rotated = RwSignal::new(None::<IssuedToken>);

    view! {
        // `try_get`: in a rare server-side render race the route's signals are gone when the title is read (seen once
        // in the full browser suite); an empty name beats a 500.
        <Title text=move || format!("Manage {}", name.try_get().unwrap_or_default()) />
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <A href="/tokens">"API Tokens"</A>
            <span aria-hidden="true">" / "</span>
            <span aria-current="page">{move || name.get()}</span>
        </nav>
        <Suspense fallback=|| view! { <div class="card skeleton-form" aria-busy="true">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok((row, options, usage)) => match rotated.get() {
                        Some(issued) => view! {
                            <RevealSecret issued heading="Token rotated: here is the new secret" on_done=Callback::new(move |_| {
                                rotated.set(None);
                                reload.update(|n| *n += 1);
                            }) />
                        }.into_any(),
                        None => view! { <ManageToken row options usage rotated /> }.into_any(),
                    },
                    Err(AppError::NoSuchToken(_)) => view! {
                        <div class="card state-card" role="alert">
                            <h1>"No such token"</h1>
                            <p class="muted">"It may have been renamed or revoked."</p>
                            <A href="/tokens" attr:class="button">"Back to API Tokens"</A>
                        </div>
                    }.into_any(),
                    Err(err) => view! { <div class="card state-card" role="alert">{err.to_string()}</div> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ManageToken(
    row: TokenRow,
    options: TokenFormOptions,
    usage: UsageSummary,
    rotated: RwSignal<Option<IssuedToken>>,
) -> impl IntoView {
    let toasts = use_toasts();
    let navigate = use_navigate();
    let current = row.token.name.clone();
    let errors = FieldErrors::new();

    // Rename
    let new_name = RwSignal::new(current.clone());
    let rename = Action::new(move |(old, new): &(String, String)| {
        let (old, new) = (old.clone(), new.clone());
        async move { rename_token(old, new).await }
    });
    {
        let navigate = navigate.clone();
        Effect::new(move |_| match rename.value().get() {
            Some(Ok(token)) => {
                toasts.success(format!("Renamed to “{}”.", token.name));
                navigate(&manage_href(&token.name), NavigateOptions { replace: true, ..Default::default() });
            }
            Some(Err(err)) => errors.show(&err, toasts),
            None => {}
        });
    }

    // Allowlist and privileges
    let allowlist = RwSignal::new(row.token.allowlist.join("\n"));
    let chosen: RwSignal<BTreeSet<String>> = RwSignal::new(row.token.privileges.iter().cloned().collect());
    let rate_limit = RwSignal::new(row.token.rate_limit.clone().unwrap_or_default());
    let update = Action::new(move |(name, allowlist, privileges, limit): &(String, String, Vec<String>, String)| {
        let (name, allowlist, privileges, limit) = (name.clone(), allowlist.clone(), privileges.clone(), limit.clone());
        async move { update_token(name, Some(allowlist), Some(privileges), Some(limit)).await }
    });
    // Adding a dangerous privilege long after signing in: confirm, then the same change is saved.
    let confirming = RwSignal::new(false);
    let last_update = StoredValue::new(None::<(String, String, Vec<String>, String)>);
    Effect::new(move |_| match update.value().get() {
        Some(Ok(token)) => toasts.success(format!("Saved the access rules of “{}”.", token.name)),
        Some(Err(AppError::ConfirmationRequired)) => confirming.set(true),
        Some(Err(err)) => errors.show(&err, toasts),
        None => {}
    });
    let retry = move |()| {
        confirming.set(false);
        if let Some(change) = last_update.get_value() {
            update.dispatch(change);
        }
    };
    let edits_valid = Memo::new(move |_| {
        allowlist_problems(&allowlist.get()).is_empty()
            && !chosen.get().is_empty()
            && RateLimit::parse_optional(&rate_limit.get()).is_ok()
    });

    // Rotate
    let rotate_mode = RwSignal::new("keep".to_owned());
    let rotate_date = RwSignal::new(options.default_expiry.format("%Y-%m-%d").to_string());
    let grace = RwSignal::new(0u32);
    let today = options.today;
    let rotate_date_error = Memo::new(move |_| {
        (rotate_mode.get() == "date")
            .then(|| Expiry::parse(&rotate_date.get(), today).err().map(|e| e.to_string()))
            .flatten()
    });
    let rotate_open = RwSignal::new(false);
    let rotate = Action::new(move |(name, expires, grace): &(String, Option<String>, u32)| {
        let (name, expires, grace) = (name.clone(), expires.clone(), *grace);
        async move { rotate_token(name, expires, grace).await }
    });
    Effect::new(move |_| match rotate.value().get() {
        Some(Ok(issued)) => {
            toasts.success(format!("Rotated “{}”.", issued.token.name));
            rotated.set(Some(issued));
        }
        Some(Err(err)) => toasts.error(err.to_string()),
        None => {}
    });

    // Revoke
    let revoke_open = RwSignal::new(false);
    let revoke = Action::new(move |name: &String| {
        let name = name.clone();
        async move { revoke_tokens(vec![name]).await }
    });
    Effect::new(move |_| match revoke.value().get() {
        Some(Ok(names)) => {
            toasts.success(format!("Revoked API token “{}”.", names.join(", ")));
            navigate("/tokens", Default::default());
        }
        Some(Err(err)) => toasts.error(err.to_string()),
        None => {}
    });

    let name_for_rename = current.clone();
    let name_for_update = current.clone();
    let name_for_rotate = current.clone();
    let name_for_revoke = current.clone();
    let zone = options.time_zone.clone();
    let expiry_text = match (&row.expires, &row.notice) {
        (None, _) => "Never expires".to_owned(),
        (Some(at), Some(notice)) => format!("{at} ({zone}) · {notice}"),
        (Some(at), None) => format!("{at} ({zone})"),
    };

    view! {
        <div class="page-header">
            <h1>{format!("Manage “{current}”")}</h1>
            <p class="muted">{format!("Created {} · {}", row.created, row.token.hint)}"…"</p>
        </div>

        <div class="manage-grid">
            <div class="manage-main">
            <form class="card form" on:submit=move |ev| {
                ev.prevent_default();
                if name_problem(&new_name.get_untracked()).is_none() {
                    skip_name_check();
                    rename.dispatch((name_for_rename.clone(), new_name.get_untracked()));
                }
            }>
                <h2>"Name"</h2>
                <NameField value=new_name server_error=errors.name current=current.clone() />
                <div class="form-actions">
                    <button type="submit" class="button button-primary" disabled=move || name_problem(&new_name.get()).is_some() || errors.name.get().is_some() || rename.pending().get()>
                        "Rename"
                    </button>
                </div>
            </form>

            <form class="card form" on:submit=move |ev| {
                ev.prevent_default();
                if edits_valid.get_untracked() {
                    let change = (name_for_update.clone(), allowlist.get_untracked(), chosen.get_untracked().into_iter().collect(), rate_limit.get_untracked());
                    last_update.set_value(Some(change.clone()));
                    update.dispatch(change);
                }
            }>
                <h2>"Allowlist, privileges and rate limit"</h2>
                <AllowlistField value=allowlist server_error=errors.allowlist />
                <PrivilegesField options=options.privileges.clone() chosen server_error=errors.privileges />
                <RateLimitField value=rate_limit server_error=errors.rate_limit />
                <div class="form-actions">
                    <button type="submit" class="button button-primary" disabled=move || !edits_valid.get() || update.pending().get()>
                        "Save changes"
                    </button>
                </div>
            </form>
            <Show when=move || confirming.get()>
                <crate::ui::confirm_identity::ConfirmIdentity on_confirmed=retry on_cancel=move |()| confirming.set(false) />
            </Show>

            <UsageCard usage />
            </div>
            <div class="manage-side">
            <section class="card" aria-labelledby="expiry-heading">
                <h2 id="expiry-heading">"Expiry"</h2>
                <p class="expiry-value">{expiry_text}</p>
                <p class="muted">
                    "The expiry cannot be changed after a token is created, so a leaked token cannot be extended. "
                    "To change it, rotate the token and choose a new expiry."
                </p>
            </section>

            <section id="rotate" class="card form" aria-labelledby="rotate-heading">
                <h2 id="rotate-heading">"Rotate"</h2>
                <p class="muted">"Replace the secret, keeping the name, allowlist and privileges."</p>
                <fieldset class="field">
                    <legend>"New expiry"</legend>
                    {[("keep", "Keep the current expiry"), ("never", "Never expire"), ("date", "Expire on a date")].into_iter().map(|(value, label)| view! {
                        <label class="radio-row">
                            <input type="radio" name="rotate-expiry" prop:checked=move || rotate_mode.get() == value on:change=move |_| rotate_mode.set(value.to_owned()) />
                            {label}
                        </label>
                    }).collect_view()}
                    <Show when=move || rotate_mode.get() == "date">
                        <div class="field nested">
                            <label for="rotate-expires">"Expiration date"</label>
                            <DatePicker id="rotate-expires" value=rotate_date min=Signal::derive(move || today) described_by="rotate-expires-error" invalid=Signal::derive(move || rotate_date_error.get().is_some()) />
                            <p id="rotate-expires-error" class="field-error" aria-live="polite">{move || rotate_date_error.get()}</p>
                        </div>
                    </Show>
                </fieldset>
                <div class="field">
                    <label for="rotate-grace">"The old secret"</label>
                    <select id="rotate-grace" on:change=move |ev| grace.set(event_target_value(&ev).parse().unwrap_or(0))>
                        <option value="0" selected=true>"Stops working at once"</option>
                        <option value="60">"Keeps working for 1 hour"</option>
                        <option value="1440">"Keeps working for 24 hours"</option>
                    </select>
                </div>
                <div class="form-actions">
                    <button type="button" class="button" disabled=move || rotate_date_error.get().is_some() on:click=move |_| rotate_open.set(true)>
                        "Rotate…"
                    </button>
                </div>
            </section>

            <section class="card danger-zone" aria-labelledby="revoke-heading">
                <h2 id="revoke-heading">"Revoke"</h2>
                <p class="muted">"The token stops working at once. This cannot be undone."</p>
                <button type="button" class="button button-danger" on:click=move |_| revoke_open.set(true)>"Revoke…"</button>
            </section>
            </div>
        </div>

        <ConfirmDialog id="rotate-dialog" open=rotate_open title=format!("Rotate “{current}”?") confirm_label="Rotate" on_confirm=Callback::new(move |()| {
            let expires = match rotate_mode.get_untracked().as_str() {
                "never" => Some("never".to_owned()),
                "date" => Some(rotate_date.get_untracked()),
                _ => None,
            };
            rotate.dispatch((name_for_rotate.clone(), expires, grace.get_untracked()));
        })>
            <p>"A new secret is created and shown once. Scripts using the current secret must be updated."</p>
        </ConfirmDialog>
        <ConfirmDialog id="revoke-one-dialog" open=revoke_open title=format!("Revoke API token “{current}”?") confirm_label="Revoke" danger=true on_confirm=Callback::new(move |()| {
            revoke.dispatch(name_for_revoke.clone());
        })>
            <p>"Scripts and services using this token will be refused from now on."</p>
        </ConfirmDialog>
    }
}
