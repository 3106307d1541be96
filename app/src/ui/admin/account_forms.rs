//! Creating an account, and managing one: rename, privileges, password reset, suspend and delete. Each part
//! shows only when the admin holds the privilege it needs; the server checks again.

use super::{account_href, options_from};
use crate::{
    api::{
        AccountEditor, create_account, delete_account, load_account_editor, rename_account, reset_account_password,
        reset_second_factors, set_account_privileges, suspend_account, unlock_account,
    },
    domain::{AccountName, PASSWORD_MIN_LEN},
    error::AppError,
    ui::{
        contact::ContactEmailCard, dialog::ConfirmDialog, password::PasswordField, toast::use_toasts,
        tokens::fields::PrivilegesField,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    NavigateOptions,
    components::A,
    hooks::{use_navigate, use_params_map},
};
use std::collections::BTreeSet;

const ACCOUNT_WARNING: &str = "Dangerous: an account with this privilege can take over others or itself.";

fn name_problem(name: &str) -> Option<String> {
    AccountName::parse(name).err().map(|e| e.to_string())
}

/// Field-level errors from the server, each shown beside its field.
#[derive(Clone, Copy)]
struct Errors {
    name: RwSignal<Option<String>>,
    password: RwSignal<Option<String>>,
    privileges: RwSignal<Option<String>>,
}

impl Errors {
    fn new() -> Self {
        Self { name: RwSignal::new(None), password: RwSignal::new(None), privileges: RwSignal::new(None) }
    }

    /// Puts `err` beside its field, or in a toast when it belongs to none.
    fn show(&self, err: &AppError) {
        for (field, signal) in [("name", self.name), ("password", self.password), ("privileges", self.privileges)] {
            if let Some(message) = err.for_field(field) {
                signal.set(Some(message));
                return;
            }
        }
        use_toasts().error(err.to_string());
    }
}

#[component]
fn AccountNameField(value: RwSignal<String>, server_error: RwSignal<Option<String>>) -> impl IntoView {
    let error =
        move || server_error.get().or_else(|| (!value.get().is_empty()).then(|| name_problem(&value.get())).flatten());
    view! {
        <div class="field">
            <label for="account-name">"Username"</label>
            <div class="hint" id="account-name-hint">"Letters, digits, hyphens and underscores; up to 50 characters."</div>
            <input
                id="account-name"
                type="text"
                autocomplete="off"
                spellcheck="false"
                aria-describedby="account-name-hint account-name-error"
                aria-invalid=move || error().is_some().to_string()
                prop:value=move || value.get()
                on:input=move |ev| {
                    value.set(event_target_value(&ev));
                    server_error.set(None);
                }
            />
            <p id="account-name-error" class="field-error" aria-live="polite">{error}</p>
        </div>
    }
}

#[component]
pub fn CreateAccountPage() -> impl IntoView {
    let editor = Resource::new(|| (), |()| load_account_editor(None));
    view! {
        <Title text="Create account" />
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <A href="/accounts">"Accounts"</A>
            <span aria-hidden="true">" / "</span>
            <span aria-current="page">"Create"</span>
        </nav>
        <div class="page-header"><h1>"Create an account"</h1></div>
        <Suspense fallback=|| view! { <div class="card skeleton-form" aria-busy="true">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match editor.await {
                    Ok(editor) if editor.rights.create => view! { <CreateAccountForm editor /> }.into_any(),
                    Ok(_) => view! { <div class="card state-card" role="alert">"Creating accounts needs the “create-acct” privilege."</div> }.into_any(),
                    Err(err) => view! { <div class="card state-card" role="alert">{err.to_string()}</div> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CreateAccountForm(editor: AccountEditor) -> impl IntoView {
    let toasts = use_toasts();
    let navigate = use_navigate();
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let chosen: RwSignal<BTreeSet<String>> = RwSignal::new(BTreeSet::new());
    let errors = Errors::new();
    let valid = Memo::new(move |_| {
        name_problem(&name.get()).is_none()
            && password.get().chars().count() >= PASSWORD_MIN_LEN
            && !chosen.get().is_empty()
            && errors.name.get().is_none()
    });
    let create = Action::new(|(name, password, privileges): &(String, String, Vec<String>)| {
        let (name, password, privileges) = (name.clone(), password.clone(), privileges.clone());
        async move { create_account(name, password, privileges).await }
    });
    Effect::new(move |_| match create.value().get() {
        Some(Ok(account)) => {
            toasts.success(format!("Created account “{}”.", account.username));
            navigate("/accounts", NavigateOptions::default());
        }
        Some(Err(err)) => errors.show(&err),
        None => {}
    });
    view! {
        <form class="card form" on:submit=move |ev| {
            ev.prevent_default();
            if valid.get_untracked() {
                create.dispatch((name.get_untracked(), password.get_untracked(), chosen.get_untracked().into_iter().collect()));
            }
        }>
            <AccountNameField value=name server_error=errors.name />
            <PasswordField id="account-password" label="Password" value=password server_error=errors.password new=true />
            <PrivilegesField options=options_from(&editor.grantable) chosen server_error=errors.privileges warning=ACCOUNT_WARNING />
            <p class="muted">"You can grant only privileges you hold yourself."</p>
            <div class="form-actions">
                <A href="/accounts" attr:class="button">"Cancel"</A>
                <button type="submit" class="button button-primary" disabled=move || !valid.get() || create.pending().get()>
                    "Create account"
                </button>
            </div>
        </form>
    }
}

#[component]
pub fn ManageAccountPage() -> impl IntoView {
    let params = use_params_map();
    let name = Memo::new(move |_| params.with(|p| p.get("name").unwrap_or_default()));
    let reload = RwSignal::new(0u32);
    let editor = Resource::new(move || (name.get(), reload.get()), |(name, _)| load_account_editor(Some(name)));
    view! {
        // `try_get`: in a rare server-side render race the route's signals are gone when the title is read (seen once
        // in the full browser suite); an empty name beats a 500.
        <Title text=move || format!("Account {}", name.try_get().unwrap_or_default()) />
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <A href="/accounts">"Accounts"</A>
            <span aria-hidden="true">" / "</span>
            <span aria-current="page">{move || name.get()}</span>
        </nav>
        <Suspense fallback=|| view! { <div class="card skeleton-form" aria-busy="true">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match editor.await {
                    Ok(editor) => view! { <ManageAccount editor reload /> }.into_any(),
                    Err(AppError::NotFound) => view! {
                        <div class="card state-card" role="alert">
                            <h1>"No such account"</h1>
                            <p class="muted">"It may have been renamed or deleted."</p>
                            <A href="/accounts" attr:class="button">"Back to Accounts"</A>
                        </div>
                    }.into_any(),
                    Err(err) => view! { <div class="card state-card" role="alert">{err.to_string()}</div> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ManageAccount(editor: AccountEditor, reload: RwSignal<u32>) -> impl IntoView {
    let Some(account) = editor.account else {
        return view! { <p>"No such account."</p> }.into_any();
    };
    let toasts = use_toasts();
    let navigate = use_navigate();
    let rights = editor.rights;
    let current = account.username.clone();
    let errors = Errors::new();

    let new_name = RwSignal::new(current.clone());
    let rename = Action::new(|(old, new): &(String, String)| {
        let (old, new) = (old.clone(), new.clone());
        async move { rename_account(old, new.clone()).await.map(|()| new) }
    });
    {
        let navigate = navigate.clone();
        Effect::new(move |_| match rename.value().get() {
            Some(Ok(new)) => {
                toasts.success(format!("Renamed to “{new}”. Its API tokens keep working with the new name."));
                navigate(&account_href(&new), NavigateOptions { replace: true, ..Default::default() });
            }
            Some(Err(err)) => errors.show(&err),
            None => {}
        });
    }

    let chosen: RwSignal<BTreeSet<String>> = RwSignal::new(account.privileges.iter().cloned().collect());
    let save_privileges = Action::new(|(name, privileges): &(String, Vec<String>)| {
        let (name, privileges) = (name.clone(), privileges.clone());
        async move { set_account_privileges(name, privileges).await }
    });
    Effect::new(move |_| match save_privileges.value().get() {
        Some(Ok(())) => {
            toasts.success("Saved the privileges. Its tokens lose removed privileges at once.");
            reload.update(|n| *n += 1);
        }
        Some(Err(err)) => errors.show(&err),
        None => {}
    });

    let password = RwSignal::new(String::new());
    let reset = Action::new(|(name, password): &(String, String)| {
        let (name, password) = (name.clone(), password.clone());
        async move { reset_account_password(name, password).await }
    });
    Effect::new(move |_| match reset.value().get() {
        Some(Ok(())) => {
            toasts.success("Set the new password. The account's sessions have ended.");
            password.set(String::new());
        }
        Some(Err(err)) => errors.show(&err),
        None => {}
    });

    let suspend = Action::new(|(name, on): &(String, bool)| {
        let (name, on) = (name.clone(), *on);
        async move { suspend_account(name, on).await.map(|()| on) }
    });
    Effect::new(move |_| match suspend.value().get() {
        Some(Ok(true)) => {
            toasts.success("Suspended: it cannot sign in, and its tokens are refused.");
            reload.update(|n| *n += 1);
        }
        Some(Ok(false)) => {
            toasts.success("Unsuspended.");
            reload.update(|n| *n += 1);
        }
        Some(Err(err)) => toasts.error(err.to_string()),
        None => {}
    });

    let unlock = Action::new(|name: &String| {
        let name = name.clone();
        async move { unlock_account(name).await }
    });
    Effect::new(move |_| match unlock.value().get() {
        Some(Ok(())) => {
            toasts.success("Unlocked: the account can sign in again.");
            reload.update(|n| *n += 1);
        }
        Some(Err(err)) => toasts.error(err.to_string()),
        None => {}
    });

    let reset_factors = Action::new(|name: &String| {
        let name = name.clone();
        async move { reset_second_factors(name).await }
    });
    Effect::new(move |_| match reset_factors.value().get() {
        Some(Ok(())) => {
            toasts.success("Two-factor authentication removed: the password alone signs in until it is set up again.");
            reload.update(|n| *n += 1);
        }
        Some(Err(err)) => toasts.error(err.to_string()),
        None => {}
    });

    let delete_open = RwSignal::new(false);
    let delete = Action::new(|name: &String| {
        let name = name.clone();
        async move { delete_account(name).await }
    });
    Effect::new(move |_| match delete.value().get() {
        Some(Ok(tokens)) => {
            toasts.success(format!(
                "Deleted the account and revoked {tokens} API token{}.",
                if tokens == 1 { "" } else { "s" }
            ));
            navigate("/accounts", NavigateOptions::default());
        }
        Some(Err(err)) => toasts.error(err.to_string()),
        None => {}
    });

    let (rename_from, privileges_of, password_of, suspend_of, delete_of, unlock_of) =
        (current.clone(), current.clone(), current.clone(), current.clone(), current.clone(), current.clone());
    let locked_until = account.locked_until.map(|at| at.format("%b %-d, %Y %H:%M:%S UTC").to_string());
    let suspended = account.suspended;
    let tokens = account.token_count;
    let delete_text = match tokens {
        0 => "It owns no API tokens. The account and its sessions end at once; this cannot be undone.".to_owned(),
        1 => "Its 1 API token will be revoked, and its sessions end. This cannot be undone.".to_owned(),
        n => format!("All {n} of its API tokens will be revoked, and its sessions end. This cannot be undone."),
    };
    let contact_of = current.clone();
    let factors_of = current.clone();
    let second_factor = account.second_factor && rights.edit && !account.is_self;
    view! {
        <div class="page-header">
            <h1>{format!("Account “{current}”")}</h1>
            <p class="muted">
                {match (suspended, locked_until.is_some()) {
                    (true, _) => "Suspended",
                    (false, true) => "Sign-in locked",
                    (false, false) => "Active",
                }}
                {format!(" · {tokens} API token{} · created {}", if tokens == 1 { "" } else { "s" }, account.created_at.format("%b %-d, %Y"))}
            </p>
        </div>
        <div class="manage-grid">
            <div class="manage-main">
                <Show when=move || rights.edit>
                    <form class="card form" on:submit={
                        let rename_from = rename_from.clone();
                        move |ev| {
                            ev.prevent_default();
                            if name_problem(&new_name.get_untracked()).is_none() {
                                rename.dispatch((rename_from.clone(), new_name.get_untracked()));
                            }
                        }
                    }>
                        <h2>"Name"</h2>
                        <AccountNameField value=new_name server_error=errors.name />
                        <p class="muted">"Its API tokens keep working; API clients must send the new name."</p>
                        <div class="form-actions">
                            <button type="submit" class="button button-primary" disabled=move || name_problem(&new_name.get()).is_some() || rename.pending().get()>
                                "Rename"
                            </button>
                        </div>
                    </form>
                    <form class="card form" on:submit={
                        let privileges_of = privileges_of.clone();
                        move |ev| {
                            ev.prevent_default();
                            if !chosen.get_untracked().is_empty() {
                                save_privileges.dispatch((privileges_of.clone(), chosen.get_untracked().into_iter().collect()));
                            }
                        }
                    }>
                        <h2>"Privileges"</h2>
                        <PrivilegesField options=options_from(&editor.grantable) chosen server_error=errors.privileges warning=ACCOUNT_WARNING />
                        <div class="form-actions">
                            <button type="submit" class="button button-primary" disabled=move || chosen.get().is_empty() || save_privileges.pending().get()>
                                "Save privileges"
                            </button>
                        </div>
                    </form>
                    <ContactEmailCard name=Some(contact_of.clone()) />
                </Show>
                <Show when=move || rights.password>
                    <form class="card form" on:submit={
                        let password_of = password_of.clone();
                        move |ev| {
                            ev.prevent_default();
                            if password.get_untracked().chars().count() >= PASSWORD_MIN_LEN {
                                reset.dispatch((password_of.clone(), password.get_untracked()));
                            }
                        }
                    }>
                        <h2>"Reset password"</h2>
                        <PasswordField id="reset-password" label="New password" value=password server_error=errors.password new=true />
                        <div class="form-actions">
                            <button type="submit" class="button button-primary" disabled=move || password.get().chars().count() < PASSWORD_MIN_LEN || reset.pending().get()>
                                "Set password"
                            </button>
                        </div>
                    </form>
                </Show>
            </div>
            <div class="manage-side">
                {locked_until.filter(|_| rights.suspend).map(|until| view! {
                    <section class="card" aria-labelledby="unlock-heading">
                        <h2 id="unlock-heading">"Sign-in locked"</h2>
                        <p class="muted">{format!("Locked after too many failed sign-ins, until {until}.")}</p>
                        <button type="button" class="button" on:click=move |_| { unlock.dispatch(unlock_of.clone()); }>
                            "Unlock account"
                        </button>
                    </section>
                })}
                {second_factor.then(|| view! {
                    <section class="card" aria-labelledby="second-factor-heading">
                        <h2 id="second-factor-heading">"Two-factor authentication"</h2>
                        <p class="muted">
                            "On: signing in asks for a code from an authenticator app. If the person lost the app and "
                            "their recovery codes, remove it so the password alone signs in (recorded in the audit log)."
                        </p>
                        <button type="button" class="button" disabled=move || reset_factors.pending().get()
                            on:click=move |_| { reset_factors.dispatch(factors_of.clone()); }>
                            "Remove two-factor authentication"
                        </button>
                    </section>
                })}
                <Show when=move || rights.suspend && !account.is_self>
                    <section class="card" aria-labelledby="suspend-heading">
                        <h2 id="suspend-heading">{if suspended { "Unsuspend" } else { "Suspend" }}</h2>
                        <p class="muted">{if suspended {
                            "The account may sign in again, and its tokens work again."
                        } else {
                            "The account cannot sign in or create tokens, and its tokens are refused, until unsuspended."
                        }}</p>
                        <button type="button" class="button" on:click={
                            let suspend_of = suspend_of.clone();
                            move |_| { suspend.dispatch((suspend_of.clone(), !suspended)); }
                        }>
                            {if suspended { "Unsuspend account" } else { "Suspend account" }}
                        </button>
                    </section>
                </Show>
                <Show when=move || rights.delete && !account.is_self>
                    <section class="card danger-zone" aria-labelledby="delete-heading">
                        <h2 id="delete-heading">"Delete"</h2>
                        <p class="muted">"Deletes the account and revokes every API token it owns."</p>
                        <button type="button" class="button button-danger" on:click=move |_| delete_open.set(true)>"Delete account…"</button>
                    </section>
                </Show>
            </div>
        </div>
        <ConfirmDialog id="delete-account-dialog" open=delete_open title=format!("Delete account “{current}”?") confirm_label="Delete account" danger=true on_confirm=Callback::new(move |()| {
            delete.dispatch(delete_of.clone());
        })>
            <p>{delete_text.clone()}</p>
        </ConfirmDialog>
    }
    .into_any()
}
