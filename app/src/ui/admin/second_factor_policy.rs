//! The second-factor policy on the Privileges screen (accounts holding `all`): nobody, everyone, or the accounts
//! holding chosen privileges must sign in with a second factor. A covered account without one may do nothing
//! but set one up, from its next page on.

use crate::{
    api::{load_second_factor_policy, set_second_factor_policy},
    domain::SecondFactorPolicy,
    ui::{Session, toast::use_toasts},
};
use leptos::prelude::*;
use std::collections::BTreeSet;

#[component]
pub fn SecondFactorPolicyCard(
    /// Every privilege name an account can hold, in the catalog's order.
    names: Vec<String>,
) -> impl IntoView {
    let toasts = use_toasts();
    let session = expect_context::<Session>();
    let required = RwSignal::new("nobody".to_owned());
    let chosen = RwSignal::new(BTreeSet::<String>::new());
    let error = RwSignal::new(None::<String>);
    let loaded = Resource::new(|| (), |()| load_second_factor_policy());
    Effect::new(move |_| {
        if let Some(Ok(policy)) = loaded.get() {
            show(policy, required, chosen);
        }
    });
    let save = Action::new(|(required, privileges): &(String, String)| {
        set_second_factor_policy(required.clone(), privileges.clone())
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(policy)) => {
            toasts.success(match &policy {
                SecondFactorPolicy::Nobody => "Saved: a second factor is optional.".to_owned(),
                SecondFactorPolicy::Everyone => "Saved: every account must sign in with a second factor.".to_owned(),
                SecondFactorPolicy::Holding(_) => {
                    "Saved: accounts holding those privileges must sign in with a second factor.".to_owned()
                }
            });
            show(policy, required, chosen);
            // The policy may now cover this very administrator: the app then shows only the set-up.
            session.account.refetch();
        }
        Some(Err(err)) => match err.for_field("privileges") {
            Some(message) => error.set(Some(message)),
            None => toasts.error(err.to_string()),
        },
        None => {}
    });
    let option = move |value: &'static str, label: &'static str| {
        view! {
            <label class="checkbox-row">
                <input type="radio" name="second-factor-required" value=value
                    prop:checked=move || required.get() == value
                    on:change=move |_| { required.set(value.to_owned()); error.set(None); } />
                {label}
            </label>
        }
    };
    view! {
        <form class="card form" aria-labelledby="policy-heading" on:submit=move |ev| {
            ev.prevent_default();
            let privileges = chosen.get_untracked().into_iter().collect::<Vec<_>>().join(",");
            save.dispatch((required.get_untracked(), privileges));
        }>
            <h2 id="policy-heading">"Require two-factor authentication"</h2>
            <p class="muted">
                "Accounts this covers that have no second factor yet (an authenticator app or a passkey) can do nothing "
                "but set one up, from their next page on. An account holding all holds every privilege, so any choice "
                "here covers administrators too. API tokens are not affected."
            </p>
            <fieldset class="plain-fieldset">
                <legend class="visually-hidden">"Who must sign in with a second factor"</legend>
                {option("nobody", "Nobody: each person decides")}
                {option("everyone", "Every account")}
                {option("holding", "Accounts holding any of these privileges:")}
            </fieldset>
            <Show when=move || required.get() == "holding">
                <fieldset class="plain-fieldset policy-privileges" aria-describedby="policy-error">
                    <legend class="visually-hidden">"Privileges that require a second factor"</legend>
                    {names.iter().map(|name| {
                        let name = name.clone();
                        let (checked, toggled) = (name.clone(), name.clone());
                        view! {
                            <label class="checkbox-row">
                                <input type="checkbox" prop:checked=move || chosen.with(|set| set.contains(&checked))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        chosen.update(|set| { if on { set.insert(toggled.clone()); } else { set.remove(&toggled); } });
                                        error.set(None);
                                    } />
                                <code>{name}</code>
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
            </Show>
            <p id="policy-error" class="field-error" aria-live="polite">{move || error.get()}</p>
            <div class="form-actions">
                <button type="submit" class="button button-primary" disabled=move || save.pending().get()>"Save policy"</button>
            </div>
        </form>
    }
}

/// Puts a policy into the form's signals.
fn show(policy: SecondFactorPolicy, required: RwSignal<String>, chosen: RwSignal<BTreeSet<String>>) {
    let (kind, privileges) = match policy {
        SecondFactorPolicy::Nobody => ("nobody", BTreeSet::new()),
        SecondFactorPolicy::Everyone => ("everyone", BTreeSet::new()),
        SecondFactorPolicy::Holding(set) => ("holding", set.iter().map(str::to_owned).collect()),
    };
    required.set(kind.to_owned());
    chosen.set(privileges);
}
