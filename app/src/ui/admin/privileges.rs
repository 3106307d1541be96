//! The Privileges screen: the built-in catalog and the operator's own privileges (e.g. `billing:read`), which
//! accounts holding `all` add and remove here. Removing one takes it off every account and token.

use crate::{
    api::{PrivilegesScreen, add_privilege, load_privileges, remove_privilege},
    domain::{PrivilegeInfo, check_custom_name, check_label},
    ui::{dialog::ConfirmDialog, toast::use_toasts},
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn PrivilegesPage() -> impl IntoView {
    let reload = RwSignal::new(0u32);
    let screen = Resource::new(move || reload.get(), |_| load_privileges());
    view! {
        <Title text="Privileges" />
        <div class="page-header">
            <h1>"Privileges"</h1>
            <p class="muted">
                "Built-in privileges follow WHM's names. Add your own for the services you protect with Tessera, "
                "then check them with " <code>"/api/v1/auth?privilege=NAME"</code> "."
            </p>
        </div>
        <Transition fallback=|| view! { <div class="card" aria-busy="true">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match screen.await {
                    Ok(screen) => view! { <Privileges screen reload /> }.into_any(),
                    Err(err) => view! { <div class="card state-card" role="alert">{err.to_string()}</div> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Privileges(screen: PrivilegesScreen, reload: RwSignal<u32>) -> impl IntoView {
    let toasts = use_toasts();
    let remove_open = RwSignal::new(false);
    let to_remove = RwSignal::new(String::new());
    let remove = Action::new(|name: &String| {
        let name = name.clone();
        async move { remove_privilege(name.clone()).await.map(|removed| (name, removed)) }
    });
    Effect::new(move |_| match remove.value().get() {
        Some(Ok((name, removed))) => {
            toasts.success(format!(
                "Removed “{name}”; taken from {} account(s) and {} token(s).",
                removed.accounts, removed.tokens
            ));
            reload.update(|n| *n += 1);
        }
        Some(Err(err)) => toasts.error(err.to_string()),
        None => {}
    });
    let can_edit = screen.can_edit;
    let names: Vec<String> = screen.catalog.iter().map(|p| p.name.clone()).collect();
    let (builtin, custom): (Vec<PrivilegeInfo>, Vec<PrivilegeInfo>) =
        screen.catalog.into_iter().partition(|p| p.builtin);
    view! {
        {can_edit.then(|| view! { <super::second_factor_policy::SecondFactorPolicyCard names /> })}
        {can_edit.then(|| view! { <AddPrivilege reload /> })}
        <section class="card table-card" aria-labelledby="custom-heading">
            <h2 id="custom-heading" class="card-title">"Your privileges"</h2>
            {if custom.is_empty() {
                view! { <p class="muted card-note">"None yet."</p> }.into_any()
            } else {
                view! {
                    <table class="privileges-table">
                        <thead><tr><th scope="col">"Name"</th><th scope="col">"Label"</th><th scope="col">"Dangerous"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
                        <tbody>
                            {custom.into_iter().map(|p| {
                                let name = p.name.clone();
                                view! {
                                    <tr data-privilege=p.name.clone()>
                                        <th scope="row"><code>{p.name.clone()}</code></th>
                                        <td>{p.label.clone()}</td>
                                        <td>{if p.dangerous { "Yes" } else { "" }}</td>
                                        <td class="actions">
                                            {can_edit.then(|| view! {
                                                <button type="button" class="button button-small button-danger-outline" on:click=move |_| {
                                                    to_remove.set(name.clone());
                                                    remove_open.set(true);
                                                }>"Remove"</button>
                                            })}
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
        <section class="card table-card" aria-labelledby="builtin-heading">
            <h2 id="builtin-heading" class="card-title">"Built-in privileges"</h2>
            <table class="privileges-table">
                <thead><tr><th scope="col">"Name"</th><th scope="col">"Label"</th><th scope="col">"Dangerous"</th></tr></thead>
                <tbody>
                    {builtin.into_iter().map(|p| view! {
                        <tr><th scope="row"><code>{p.name}</code></th><td>{p.label}</td><td>{if p.dangerous { "Yes" } else { "" }}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <ConfirmDialog id="remove-privilege-dialog" open=remove_open title=Signal::derive(move || format!("Remove privilege “{}”?", to_remove.get())) confirm_label="Remove" danger=true on_confirm=Callback::new(move |()| {
            remove.dispatch(to_remove.get_untracked());
        })>
            <p>"It is taken off every account and token that holds it. Services checking it will refuse them."</p>
        </ConfirmDialog>
    }
}

#[component]
fn AddPrivilege(reload: RwSignal<u32>) -> impl IntoView {
    let toasts = use_toasts();
    let name = RwSignal::new(String::new());
    let label = RwSignal::new(String::new());
    let dangerous = RwSignal::new(false);
    let name_error = RwSignal::new(None::<String>);
    let label_error = RwSignal::new(None::<String>);
    let name_problem = move || {
        name_error.get().or_else(|| {
            (!name.get().is_empty())
                .then(|| check_custom_name(name.get().trim()).err().map(|e| e.to_string()))
                .flatten()
        })
    };
    let label_problem = move || {
        label_error.get().or_else(|| {
            (!label.get().is_empty()).then(|| check_label(&label.get()).err().map(|e| e.to_string())).flatten()
        })
    };
    let valid = move || {
        check_custom_name(name.get().trim()).is_ok() && check_label(&label.get()).is_ok() && name_error.get().is_none()
    };
    let add = Action::new(|(name, label, dangerous): &(String, String, bool)| {
        let (name, label, dangerous) = (name.clone(), label.clone(), *dangerous);
        async move { add_privilege(name, label, dangerous).await }
    });
    Effect::new(move |_| match add.value().get() {
        Some(Ok(added)) => {
            toasts.success(format!("Added privilege “{}”.", added.name));
            name.set(String::new());
            label.set(String::new());
            dangerous.set(false);
            reload.update(|n| *n += 1);
        }
        Some(Err(err)) => {
            if let Some(message) = err.for_field("name") {
                name_error.set(Some(message));
            } else if let Some(message) = err.for_field("label") {
                label_error.set(Some(message));
            } else {
                toasts.error(err.to_string());
            }
        }
        None => {}
    });
    view! {
        <form class="card form" aria-labelledby="add-privilege-heading" on:submit=move |ev| {
            ev.prevent_default();
            if valid() {
                add.dispatch((name.get_untracked().trim().to_owned(), label.get_untracked(), dangerous.get_untracked()));
            }
        }>
            <h2 id="add-privilege-heading">"Add a privilege"</h2>
            <div class="form-row">
                <div class="field">
                    <label for="privilege-name">"Name"</label>
                    <div class="hint" id="privilege-name-hint">"a–z, 0–9 and - _ : . starting with a letter, e.g. billing:read"</div>
                    <input id="privilege-name" type="text" autocomplete="off" spellcheck="false" aria-describedby="privilege-name-hint privilege-name-error"
                        aria-invalid=move || name_problem().is_some().to_string()
                        prop:value=move || name.get() on:input=move |ev| { name.set(event_target_value(&ev)); name_error.set(None); } />
                    <p id="privilege-name-error" class="field-error" aria-live="polite">{name_problem}</p>
                </div>
                <div class="field">
                    <label for="privilege-label">"Label"</label>
                    <div class="hint" id="privilege-label-hint">"What it allows, shown in the forms."</div>
                    <input id="privilege-label" type="text" autocomplete="off" aria-describedby="privilege-label-hint privilege-label-error"
                        aria-invalid=move || label_problem().is_some().to_string()
                        prop:value=move || label.get() on:input=move |ev| { label.set(event_target_value(&ev)); label_error.set(None); } />
                    <p id="privilege-label-error" class="field-error" aria-live="polite">{label_problem}</p>
                </div>
            </div>
            <label class="checkbox-row">
                <input type="checkbox" prop:checked=move || dangerous.get() on:change=move |ev| dangerous.set(event_target_checked(&ev)) />
                "Dangerous: warn before it is granted"
            </label>
            <div class="form-actions">
                <button type="submit" class="button button-primary" disabled=move || !valid() || add.pending().get()>"Add privilege"</button>
            </div>
        </form>
    }
}
