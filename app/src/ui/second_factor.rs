//! Two-factor authentication on the Account page (issue 19): set up an authenticator app (QR code or the secret
//! as text, confirmed by one code), add named passkeys or security keys (WebAuthn), see the recovery codes once
//! (they come with the first factor), make new ones, or remove a factor. Removing and new codes ask for the
//! password again.

use super::{Session, password::PasswordField, toast::use_toasts};
use crate::api::{
    PasskeyView, TotpSetup, confirm_totp, finish_passkey, load_second_factors, regenerate_recovery_codes,
    remove_passkey, remove_totp, start_passkey, start_totp,
};
use crate::error::AppError;
use leptos::prelude::*;

/// What the card shows below its status line.
#[derive(Clone, PartialEq)]
enum Step {
    Idle,
    /// Setting up: the QR code and the secret, waiting for a code.
    Enrolling(TotpSetup),
    /// New recovery codes, shown once.
    Codes(Vec<String>),
    /// Asking for the password before new codes (`false`) or removal (`true`).
    Password {
        remove: bool,
    },
    /// Asking for the password before removing a passkey.
    RemovePasskey {
        id: i64,
        name: String,
    },
}

#[component]
pub fn SecondFactorCard() -> impl IntoView {
    let toasts = use_toasts();
    let session = expect_context::<Session>();
    let changed = RwSignal::new(0u32);
    let status = Resource::new(move || changed.get(), |_| load_second_factors());
    let step = RwSignal::new(Step::Idle);
    let code = RwSignal::new(String::new());
    let code_error = RwSignal::new(None::<String>);
    let password = RwSignal::new(String::new());
    let password_error = RwSignal::new(None::<String>);

    let start = Action::new(|(): &()| start_totp());
    Effect::new(move |_| match start.value().get() {
        Some(Ok(setup)) => {
            code.set(String::new());
            step.set(Step::Enrolling(setup));
        }
        Some(Err(err)) => toasts.error(err.to_string()),
        None => {}
    });
    let confirm = Action::new(|code: &String| confirm_totp(code.clone()));
    Effect::new(move |_| match confirm.value().get() {
        Some(Ok(codes)) => {
            toasts.success("Two-factor authentication is on.");
            step.set(Step::Codes(codes));
            changed.update(|n| *n += 1);
        }
        Some(Err(err)) => match err.for_field("code") {
            Some(message) => code_error.set(Some(message)),
            None => toasts.error(err.to_string()),
        },
        None => {}
    });
    let regenerate = Action::new(|password: &String| regenerate_recovery_codes(password.clone()));
    Effect::new(move |_| match regenerate.value().get() {
        Some(Ok(codes)) => {
            password.set(String::new());
            step.set(Step::Codes(codes));
            changed.update(|n| *n += 1);
        }
        Some(Err(err)) => match err.for_field("password") {
            Some(message) => password_error.set(Some(message)),
            None => toasts.error(err.to_string()),
        },
        None => {}
    });
    // A removal asked with the password has ended: back to the card with a toast, or the error by the field.
    let removed = move |ended: Option<Result<(), AppError>>, done: &'static str| match ended {
        Some(Ok(())) => {
            toasts.success(done);
            password.set(String::new());
            step.set(Step::Idle);
            changed.update(|n| *n += 1);
        }
        Some(Err(err)) => match err.for_field("password") {
            Some(message) => password_error.set(Some(message)),
            None => toasts.error(err.to_string()),
        },
        None => {}
    };
    let remove = Action::new(|password: &String| remove_totp(password.clone()));
    Effect::new(move |_| {
        removed(remove.value().get(), "The authenticator app is removed.");
    });

    let status_line = move || {
        status.get().map(|loaded| match loaded {
            Ok(view) if view.totp || !view.passkeys.is_empty() => {
                let how = match (view.totp, view.passkeys.is_empty()) {
                    (true, true) => "a code from your authenticator app",
                    (true, false) => "a code from your authenticator app or one of your passkeys",
                    _ => "one of your passkeys",
                };
                view! {
                    <p class="second-factor-status">
                        <span class="badge badge-success">"On"</span>
                        {format!(" Signing in asks for {how}. {} of 10 recovery codes left.", view.recovery_codes_left)}
                    </p>
                }
                .into_any()
            }
            Ok(_) => view! {
                <p class="second-factor-status">
                    <span class="badge">"Off"</span>
                    " Signing in asks for your password only. Add an authenticator app (such as Aegis, Google Authenticator or 1Password) or a passkey so a stolen password is not enough."
                </p>
            }
            .into_any(),
            Err(err) => view! { <p class="form-error" role="alert">{err.to_string()}</p> }.into_any(),
        })
    };
    let loaded = move || status.get().and_then(Result::ok);
    let enabled = move || loaded().is_some_and(|view| view.totp);
    let any_factor = move || loaded().is_some_and(|view| view.totp || !view.passkeys.is_empty());
    let remove_key = Action::new(|(id, password): &(i64, String)| remove_passkey(*id, password.clone()));
    Effect::new(move |_| {
        removed(remove_key.value().get(), "The passkey is removed.");
    });

    let body = move || {
        match step.get() {
        Step::Idle => view! {
            <div class="form-actions">
                <Show when=move || !enabled()>
                    <button type="button" class="button button-primary" disabled=move || start.pending().get()
                        on:click=move |_| { start.dispatch(()); }>
                        "Set up an authenticator app"
                    </button>
                </Show>
                <Show when=any_factor>
                    <button type="button" class="button" on:click=move |_| {
                        password_error.set(None);
                        step.set(Step::Password { remove: false });
                    }>"New recovery codes"</button>
                </Show>
                <Show when=enabled>
                    <button type="button" class="button button-danger" on:click=move |_| {
                        password_error.set(None);
                        step.set(Step::Password { remove: true });
                    }>"Remove authenticator app"</button>
                </Show>
            </div>
            <Passkeys keys=loaded().map(|view| view.passkeys).unwrap_or_default() step changed />
        }
        .into_any(),
        Step::Enrolling(setup) => view! {
            <div class="totp-setup">
                <p>"Scan this QR code with your authenticator app:"</p>
                <div class="qr-code" role="img" aria-label="QR code for your authenticator app" inner_html=setup.qr_svg></div>
                <p>"Or type this key into the app:"</p>
                <p><code class="totp-secret" data-testid="totp-secret">{setup.secret}</code></p>
                <form class="form narrow-form" on:submit=move |ev| {
                    ev.prevent_default();
                    code_error.set(None);
                    confirm.dispatch(code.get_untracked());
                }>
                    <div class="field">
                        <label for="totp-code">"Code from the app"</label>
                        <input id="totp-code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="7"
                            aria-describedby="totp-code-error"
                            prop:value=move || code.get()
                            on:input=move |ev| { code.set(event_target_value(&ev)); code_error.set(None); } />
                        <p id="totp-code-error" class="field-error" role="alert">{move || code_error.get()}</p>
                    </div>
                    <div class="form-actions">
                        <button type="submit" class="button button-primary" disabled=move || confirm.pending().get()>
                            "Turn on"
                        </button>
                        <button type="button" class="button" on:click=move |_| step.set(Step::Idle)>"Cancel"</button>
                    </div>
                </form>
            </div>
        }
        .into_any(),
        Step::Codes(codes) => view! {
            <div class="recovery-codes">
                <div class="callout callout-warning" role="note">
                    <strong>"Save these recovery codes now: they are shown only this once."</strong>
                    " Each one signs you in once if you lose your authenticator app or passkeys. Older codes no longer work."
                </div>
                <ul class="recovery-code-list" data-testid="recovery-codes">
                    {codes.into_iter().map(|code| view! { <li><code>{code}</code></li> }).collect_view()}
                </ul>
                <div class="form-actions">
                    <button type="button" class="button button-primary" on:click=move |_| {
                        step.set(Step::Idle);
                        // An account the policy held at this set-up gets the whole app now.
                        if session.account.get_untracked().and_then(Result::ok).flatten().is_some_and(|a| a.must_enrol) {
                            session.account.refetch();
                        }
                    }>
                        "I have saved my recovery codes"
                    </button>
                </div>
            </div>
        }
        .into_any(),
        Step::Password { remove: removing } => view! {
            <form class="form narrow-form" on:submit=move |ev| {
                ev.prevent_default();
                let typed = password.get_untracked();
                if removing { remove.dispatch(typed); } else { regenerate.dispatch(typed); }
            }>
                <p>{if removing {
                    "Confirm with your password to remove the authenticator app (and the recovery codes, unless a passkey stays)."
                } else {
                    "Confirm with your password to make ten new recovery codes. The old ones stop working."
                }}</p>
                <PasswordField id="second-factor-password" label="Password" value=password server_error=password_error />
                <div class="form-actions">
                    <button type="submit" class=if removing { "button button-danger" } else { "button button-primary" }
                        disabled=move || password.get().is_empty() || remove.pending().get() || regenerate.pending().get()>
                        {if removing { "Remove authenticator app" } else { "Make new recovery codes" }}
                    </button>
                    <button type="button" class="button" on:click=move |_| {
                        password.set(String::new());
                        step.set(Step::Idle);
                    }>"Cancel"</button>
                </div>
            </form>
        }
        .into_any(),
        Step::RemovePasskey { id, name } => view! {
            <form class="form narrow-form" on:submit=move |ev| {
                ev.prevent_default();
                remove_key.dispatch((id, password.get_untracked()));
            }>
                <p>{format!("Confirm with your password to remove the passkey “{name}”.")}</p>
                <PasswordField id="passkey-password" label="Password" value=password server_error=password_error />
                <div class="form-actions">
                    <button type="submit" class="button button-danger"
                        disabled=move || password.get().is_empty() || remove_key.pending().get()>
                        "Remove passkey"
                    </button>
                    <button type="button" class="button" on:click=move |_| {
                        password.set(String::new());
                        step.set(Step::Idle);
                    }>"Cancel"</button>
                </div>
            </form>
        }
        .into_any(),
    }
    };

    view! {
        <section class="card" aria-labelledby="second-factor-heading">
            <h2 id="second-factor-heading">"Two-factor authentication"</h2>
            // Both read the status: inside the transition, so the server renders them with it as the browser will.
            <Transition>{status_line}{body}</Transition>
        </section>
    }
}

/// The account's passkeys and security keys, each with a Remove button, and a form that adds one with a name.
#[component]
fn Passkeys(keys: Vec<PasskeyView>, step: RwSignal<Step>, changed: RwSignal<u32>) -> impl IntoView {
    let toasts = use_toasts();
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    // Three steps, the middle one in the browser (the authenticator): a local action, its future is not `Send`.
    let add = Action::new_local(|name: &String| {
        let name = name.clone();
        async move {
            let challenge =
                start_passkey(name).await.map_err(|err| err.for_field("name").unwrap_or_else(|| err.to_string()))?;
            let credential = super::webauthn::create(&challenge.options).await?;
            finish_passkey(challenge.handle, credential).await.map_err(|err| err.to_string())
        }
    });
    Effect::new(move |_| match add.value().get() {
        Some(Ok(codes)) => {
            toasts.success(format!("Passkey “{}” added.", name.get_untracked().trim()));
            name.set(String::new());
            changed.update(|n| *n += 1);
            if let Some(codes) = codes {
                step.set(Step::Codes(codes));
            }
        }
        Some(Err(message)) => error.set(Some(message)),
        None => {}
    });
    let empty = keys.is_empty();
    view! {
        <h3 class="passkeys-heading">"Passkeys and security keys"</h3>
        <Show when=move || empty>
            <p class="muted">"Sign in with your device's screen lock or a security key instead of typing a code."</p>
        </Show>
        <ul class="passkey-list" aria-label="Your passkeys">
            {keys
                .into_iter()
                .map(|key| {
                    let PasskeyView { id, name: key_name, added, last_used } = key;
                    let used = last_used.map_or_else(|| "never used".to_owned(), |at| format!("last used {}", at.format("%b %-d, %Y")));
                    let label = format!("Remove passkey {key_name}");
                    view! {
                        <li class="passkey">
                            <span class="passkey-name">{key_name.clone()}</span>
                            <span class="muted">{format!(" · added {} · {used}", added.format("%b %-d, %Y"))}</span>
                            <button type="button" class="button button-quiet" aria-label=label on:click=move |_| {
                                step.set(Step::RemovePasskey { id, name: key_name.clone() });
                            }>"Remove"</button>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        <form class="form narrow-form passkey-add" on:submit=move |ev| {
            ev.prevent_default();
            error.set(None);
            add.dispatch(name.get_untracked());
        }>
            <div class="field">
                <label for="passkey-name">"Name of the new passkey"</label>
                <input id="passkey-name" type="text" maxlength="50" placeholder="Work laptop" aria-describedby="passkey-error"
                    prop:value=move || name.get()
                    on:input=move |ev| { name.set(event_target_value(&ev)); error.set(None); } />
                <p id="passkey-error" class="field-error" role="alert">{move || error.get()}</p>
            </div>
            <div class="form-actions">
                <button type="submit" class="button" disabled=move || name.get().trim().is_empty() || add.pending().get()>
                    {move || if add.pending().get() { "Waiting for the passkey…" } else { "Add a passkey" }}
                </button>
            </div>
        </form>
    }
}
