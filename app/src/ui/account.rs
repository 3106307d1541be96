//! The signed-in account: its name and privileges, and changing its own password (the current one is
//! required; every other session of the account ends).

use super::{
    Session, contact::ContactEmailCard, password::PasswordField, second_factor::SecondFactorCard, toast::use_toasts,
};
use crate::{
    api::change_password,
    domain::{PASSWORD_MIN_LEN, builtin},
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AccountPage() -> impl IntoView {
    let session = expect_context::<Session>();
    view! {
        <Title text="Account" />
        <div class="page-header">
            <h1>"Account"</h1>
        </div>
        <Suspense>
            {move || Suspend::new(async move {
                session.account.await.ok().flatten().map(|account| view! {
                    <section class="card">
                        <dl class="details">
                            <dt>"Username"</dt>
                            <dd>{account.username}</dd>
                            <dt>"Privileges"</dt>
                            <dd>
                                <ul class="privilege-list">
                                    {account.privileges.into_iter().map(|name| {
                                        let label = builtin(&name).map(|p| p.label).unwrap_or_default();
                                        view! { <li><code>{name}</code>" "<span class="muted">{label}</span></li> }
                                    }).collect_view()}
                                </ul>
                            </dd>
                        </dl>
                    </section>
                })
            })}
        </Suspense>
        <ContactEmailCard name=None />
        <ChangePassword />
        <SecondFactorCard />
    }
}

#[component]
fn ChangePassword() -> impl IntoView {
    let toasts = use_toasts();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let current_error = RwSignal::new(None::<String>);
    let new_error = RwSignal::new(None::<String>);
    let change = Action::new(|(current, new): &(String, String)| {
        let (current, new) = (current.clone(), new.clone());
        async move { change_password(current, new).await }
    });
    Effect::new(move |_| match change.value().get() {
        Some(Ok(())) => {
            toasts.success("Password changed. Your other sessions have been signed out.");
            current.set(String::new());
            new.set(String::new());
        }
        Some(Err(err)) => {
            if let Some(message) = err.for_field("current_password") {
                current_error.set(Some(message));
            } else if let Some(message) = err.for_field("new_password") {
                new_error.set(Some(message));
            } else {
                toasts.error(err.to_string());
            }
        }
        None => {}
    });
    let valid = move || !current.get().is_empty() && new.get().chars().count() >= PASSWORD_MIN_LEN;
    view! {
        <form class="card form narrow-form" aria-labelledby="password-heading" on:submit=move |ev| {
            ev.prevent_default();
            if valid() {
                change.dispatch((current.get_untracked(), new.get_untracked()));
            }
        }>
            <h2 id="password-heading">"Change password"</h2>
            <PasswordField id="current-password" label="Current password" value=current server_error=current_error />
            <PasswordField id="new-password" label="New password" value=new server_error=new_error new=true />
            <p class="muted">"Your other browser sessions are signed out; this one stays signed in."</p>
            <div class="form-actions">
                <button type="submit" class="button button-primary" disabled=move || !valid() || change.pending().get()>
                    "Change password"
                </button>
            </div>
        </form>
    }
}
