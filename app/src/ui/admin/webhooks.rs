//! The Webhooks screen (administrators): add an endpoint for chosen events (its signing secret shown once), see
//! each endpoint's latest deliveries (status, attempts, last answer or error, next attempt), send a test event,
//! remove an endpoint.

use crate::{
    api::{AddedWebhook, WebhookView, WebhooksScreen, add_webhook, load_webhooks, remove_webhook, send_test_webhook},
    error::AppError,
    ui::{browser, dialog::ConfirmDialog, toast::use_toasts},
};
use leptos::prelude::*;
use leptos_meta::Title;
use std::collections::BTreeSet;

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let reload = RwSignal::new(0u32);
    let screen = Resource::new(move || reload.get(), |_| load_webhooks());
    let added = RwSignal::new(None::<AddedWebhook>);
    // The actions, their outcomes and the removal dialog live here, outside the list that each refresh rebuilds:
    // a refresh landing while the dialog is open or a removal is under way (the test event's own refresh, a
    // second and a half later) must not close the one or lose the other's answer.
    let toasts = use_toasts();
    let remove_open = RwSignal::new(false);
    let to_remove = RwSignal::new(None::<(i64, String)>);
    let remove = Action::new(|id: &i64| remove_webhook(*id));
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(())) => {
            toasts.success("Removed the endpoint.");
            reload.update(|n| *n += 1);
        }
        Some(Err(err)) => toasts.error(err.to_string()),
        None => {}
    });
    let test = Action::new(|id: &i64| send_test_webhook(*id));
    Effect::new(move |_| match test.value().get() {
        Some(Ok(())) => {
            toasts.success("Test event queued; its delivery shows below in a moment.");
            let refresh = move || reload.update(|n| *n += 1);
            browser::after(std::time::Duration::from_millis(1500), refresh);
        }
        Some(Err(err)) => toasts.error(err.to_string()),
        None => {}
    });
    let ask_remove = Callback::new(move |endpoint: (i64, String)| {
        to_remove.set(Some(endpoint));
        remove_open.set(true);
    });
    view! {
        <Title text="Webhooks" />
        <div class="page-header page-header-row">
            <div>
                <h1>"Webhooks"</h1>
                <p class="muted">
                    "Tessera tells other systems what happens to tokens and accounts by calling their endpoints. "
                    "Each call is signed as the Standard Webhooks specification says, so receivers can check it with "
                    "an existing library; failed calls are retried for about a day."
                </p>
            </div>
            <button type="button" class="button" on:click=move |_| reload.update(|n| *n += 1)>"Refresh"</button>
        </div>
        {move || added.get().map(|shown| view! { <NewSecret shown on_done=Callback::new(move |()| added.set(None)) /> })}
        <Transition fallback=|| view! { <div class="card" aria-busy="true">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match screen.await {
                    Ok(screen) => view! { <Webhooks screen reload added test ask_remove /> }.into_any(),
                    Err(err) => view! { <div class="card state-card" role="alert">{err.to_string()}</div> }.into_any(),
                }
            })}
        </Transition>
        <ConfirmDialog id="remove-webhook-dialog" open=remove_open title=Signal::derive(move || {
            format!("Remove the endpoint {}?", to_remove.get().map(|(_, url)| url).unwrap_or_default())
        }) confirm_label="Remove" danger=true on_confirm=Callback::new(move |()| {
            if let Some((id, _)) = to_remove.get_untracked() {
                remove.dispatch(id);
            }
        })>
            <p>"No more events are sent to it, including those not yet delivered."</p>
        </ConfirmDialog>
    }
}

/// The new endpoint's signing secret, shown once, with a copy button.
#[component]
fn NewSecret(shown: AddedWebhook, on_done: Callback<()>) -> impl IntoView {
    let toasts = use_toasts();
    let secret = shown.secret.clone();
    let copy = move |_| {
        let secret = secret.clone();
        leptos::task::spawn_local(async move {
            if browser::copy(&secret).await {
                toasts.success("Copied the signing secret.");
            } else {
                toasts.error("Could not copy: select the secret and copy it yourself.");
            }
        });
    };
    view! {
        <section class="card reveal" role="status" aria-labelledby="secret-heading">
            <h2 id="secret-heading">{format!("Endpoint added: {}", shown.webhook.url)}</h2>
            <p>"Give this signing secret to the receiver. It is shown only now."</p>
            <div class="secret-row">
                <label for="webhook-secret" class="visually-hidden">"Signing secret"</label>
                <input id="webhook-secret" class="secret" type="text" readonly spellcheck="false" value=shown.secret.clone() />
                <button type="button" class="button button-primary copy-button" on:click=copy>"Copy"</button>
            </div>
            <div class="form-actions">
                <button type="button" class="button button-primary" on:click=move |_| on_done.run(())>"I have saved it"</button>
            </div>
        </section>
    }
}

#[component]
fn Webhooks(
    screen: WebhooksScreen,
    reload: RwSignal<u32>,
    added: RwSignal<Option<AddedWebhook>>,
    test: Action<i64, Result<(), AppError>>,
    ask_remove: Callback<(i64, String)>,
) -> impl IntoView {
    let endpoints = if screen.webhooks.is_empty() {
        view! {
            <section class="card empty-state">
                <h2>"No endpoints yet"</h2>
                <p class="muted">"Add one above to hear of tokens created, revoked, expiring, expired or leaked."</p>
            </section>
        }
        .into_any()
    } else {
        screen
            .webhooks
            .into_iter()
            .map(|hook| {
                let (id, url) = (hook.id, hook.url.clone());
                view! {
                    <Endpoint hook on_test=Callback::new(move |()| { test.dispatch(id); }) on_remove=Callback::new(move |()| {
                        ask_remove.run((id, url.clone()));
                    }) />
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <AddWebhook event_types=screen.event_types allow_http=screen.allow_http reload added />
        {endpoints}
    }
}

#[component]
fn Endpoint(hook: WebhookView, on_test: Callback<()>, on_remove: Callback<()>) -> impl IntoView {
    let heading = format!("webhook-{}", hook.id);
    let labelled_by = heading.clone();
    view! {
        <section class="card table-card webhook" aria-labelledby=labelled_by data-webhook=hook.url.clone()>
            <div class="card-title-row">
                <div>
                    <h2 id=heading class="card-title webhook-url">{hook.url.clone()}</h2>
                    <p class="muted card-note">
                        {format!("Added {} · ", hook.created)}
                        {hook.events.iter().map(|e| view! { <code class="event-chip">{e.clone()}</code>" " }).collect_view()}
                    </p>
                </div>
                <div class="card-actions">
                    <button type="button" class="button button-small" on:click=move |_| on_test.run(())>"Send test event"</button>
                    <button type="button" class="button button-small button-danger-outline" on:click=move |_| on_remove.run(())>"Remove…"</button>
                </div>
            </div>
            {if hook.deliveries.is_empty() {
                view! { <p class="muted card-note">"Nothing sent yet."</p> }.into_any()
            } else {
                view! {
                    <table class="deliveries-table">
                        <caption class="visually-hidden">{format!("Latest deliveries to {}", hook.url)}</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Event"</th>
                                <th scope="col">"Happened"</th>
                                <th scope="col">"Status"</th>
                                <th scope="col">"Attempts"</th>
                                <th scope="col">"Last answer"</th>
                                <th scope="col">"Next attempt"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {hook.deliveries.into_iter().map(|d| {
                                let answer = match (d.last_status_code, d.last_error.clone()) {
                                    (_, Some(error)) => error,
                                    (Some(code), None) => format!("answered {code}"),
                                    (None, None) => String::new(),
                                };
                                let status_class = format!("status status-{}", d.status);
                                view! {
                                    <tr data-delivery=d.message_id.clone()>
                                        <th scope="row"><code>{d.event_type}</code></th>
                                        <td>{d.created}</td>
                                        <td><span class=status_class>{d.status}</span></td>
                                        <td>{d.attempts}</td>
                                        <td>{answer}</td>
                                        <td>{d.next_attempt.unwrap_or_default()}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn AddWebhook(
    event_types: Vec<(String, String)>,
    allow_http: bool,
    reload: RwSignal<u32>,
    added: RwSignal<Option<AddedWebhook>>,
) -> impl IntoView {
    let toasts = use_toasts();
    let url = RwSignal::new(String::new());
    let chosen = RwSignal::new(BTreeSet::<String>::new());
    let url_error = RwSignal::new(None::<String>);
    let events_error = RwSignal::new(None::<String>);
    let add = Action::new(|(url, events): &(String, Vec<String>)| add_webhook(url.clone(), events.clone()));
    Effect::new(move |_| match add.value().get() {
        Some(Ok(new)) => {
            url.set(String::new());
            chosen.set(BTreeSet::new());
            added.set(Some(new));
            reload.update(|n| *n += 1);
        }
        Some(Err(err)) => {
            if let Some(message) = err.for_field("url") {
                url_error.set(Some(message));
            } else if let Some(message) = err.for_field("events") {
                events_error.set(Some(message));
            } else {
                toasts.error(err.to_string());
            }
        }
        None => {}
    });
    let valid = move || !url.get().trim().is_empty() && !chosen.get().is_empty();
    let hint = if allow_http {
        "https:// (or http://, which this server allows). Redirects are not followed."
    } else {
        "https:// only. Redirects are not followed."
    };
    view! {
        <form class="card form" aria-labelledby="add-webhook-heading" novalidate=true on:submit=move |ev| {
            ev.prevent_default();
            if valid() {
                add.dispatch((url.get_untracked().trim().to_owned(), chosen.get_untracked().into_iter().collect()));
            }
        }>
            <h2 id="add-webhook-heading">"Add an endpoint"</h2>
            <div class="field">
                <label for="webhook-url">"URL"</label>
                <div class="hint" id="webhook-url-hint">{hint}</div>
                <input id="webhook-url" type="url" autocomplete="off" spellcheck="false" placeholder="https://hooks.example.com/tessera"
                    aria-describedby="webhook-url-hint webhook-url-error"
                    aria-invalid=move || url_error.get().is_some().to_string()
                    prop:value=move || url.get() on:input=move |ev| { url.set(event_target_value(&ev)); url_error.set(None); } />
                <p id="webhook-url-error" class="field-error" aria-live="polite">{move || url_error.get()}</p>
            </div>
            <fieldset class="field" aria-describedby="webhook-events-error">
                <legend>"Events"</legend>
                {event_types.into_iter().map(|(kind, label)| {
                    let value = kind.clone();
                    let checked = kind.clone();
                    view! {
                        <label class="checkbox-row">
                            <input type="checkbox" name="webhook-event" value=kind.clone()
                                prop:checked=move || chosen.with(|c| c.contains(&checked))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    chosen.update(|c| { if on { c.insert(value.clone()); } else { c.remove(&value); } });
                                    events_error.set(None);
                                } />
                            <span><code>{kind}</code>" "<span class="muted">{label}</span></span>
                        </label>
                    }
                }).collect_view()}
                <p id="webhook-events-error" class="field-error" aria-live="polite">{move || events_error.get()}</p>
            </fieldset>
            <div class="form-actions">
                <button type="submit" class="button button-primary" disabled=move || !valid() || add.pending().get()>"Add endpoint"</button>
            </div>
        </form>
    }
}
