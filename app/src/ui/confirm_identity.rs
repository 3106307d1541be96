//! "Confirm it is you": asked before giving a token a dangerous privilege when the person signed in (or last
//! confirmed) more than a few minutes ago, like GitHub's sudo mode. The password, a code from the authenticator
//! app, a passkey, or the identity provider; then the act it interrupted goes on.

use super::password::PasswordField;
use crate::{
    api::{
        confirm_identity, confirm_identity_with_passkey, load_second_factors, load_sign_in_options,
        start_passkey_confirmation,
    },
    domain::totp::percent_encode,
};
use leptos::prelude::*;
use leptos_router::hooks::use_location;

#[component]
pub fn ConfirmIdentity(
    /// Runs once the server has accepted the confirmation (to repeat the interrupted act).
    #[prop(into)]
    on_confirmed: Callback<()>,
    /// Runs when the person gives up.
    #[prop(into)]
    on_cancel: Callback<()>,
) -> impl IntoView {
    let proof = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let confirm = Action::new(|proof: &String| confirm_identity(proof.clone()));
    Effect::new(move |_| match confirm.value().get() {
        Some(Ok(())) => {
            proof.set(String::new());
            on_confirmed.run(());
        }
        Some(Err(err)) => error.set(Some(err.for_field("confirmation").unwrap_or_else(|| err.to_string()))),
        None => {}
    });
    let options = Resource::new(|| (), |()| load_sign_in_options(None));
    let factors = Resource::new(|| (), |()| load_second_factors());
    let passkey = Action::new_local(|(): &()| async move {
        let challenge = start_passkey_confirmation().await.map_err(|err| err.to_string())?;
        let credential = super::webauthn::get(&challenge.options).await?;
        confirm_identity_with_passkey(challenge.handle, credential).await.map_err(|err| err.to_string())
    });
    Effect::new(move |_| match passkey.value().get() {
        Some(Ok(())) => on_confirmed.run(()),
        Some(Err(message)) => error.set(Some(message)),
        None => {}
    });
    let location = use_location();
    let through_provider = move || {
        let here = format!("{}{}", location.pathname.get(), location.search.get());
        format!("/auth/oidc/start?confirm=true&return_to={}", percent_encode(&here))
    };
    view! {
        <form class="card form narrow-form confirm-identity" aria-labelledby="confirm-identity-heading" on:submit=move |ev| {
            ev.prevent_default();
            confirm.dispatch(proof.get_untracked());
        }>
            <h2 id="confirm-identity-heading">"Confirm it is you"</h2>
            <p class="muted">
                "This token gets a dangerous privilege, and you signed in a while ago. Enter your password, or a code "
                "from your authenticator app, to go on."
            </p>
            <PasswordField id="confirm-identity-proof" label="Password or authenticator code" value=proof server_error=error />
            <div class="form-actions">
                <button type="submit" class="button button-primary" disabled=move || proof.get().is_empty() || confirm.pending().get()>
                    "Confirm"
                </button>
                <button type="button" class="button" on:click=move |_| on_cancel.run(())>"Cancel"</button>
            </div>
            <Suspense>
                {move || Suspend::new(async move {
                    let has_passkey = factors.await.is_ok_and(|view| !view.passkeys.is_empty());
                    has_passkey.then(|| view! {
                        <p>
                            <button type="button" class="button" disabled=move || passkey.pending().get()
                                on:click=move |_| { error.set(None); passkey.dispatch(()); }>
                                "Use a passkey instead"
                            </button>
                        </p>
                    })
                })}
            </Suspense>
            <Suspense>
                {move || Suspend::new(async move {
                    let name = options.await.ok()?.single_sign_on?;
                    Some(view! {
                        <p class="muted">
                            <a href=through_provider rel="external">{format!("Confirm with {name} instead")}</a>
                            " (you come back to this page and do it again)."
                        </p>
                    })
                })}
            </Suspense>
        </form>
    }
}
