//! The login page. Works before hydration too: the form posts to the server function, which redirects.

use super::Session;
use crate::{
    api::{SignInOptions, SignInStep, load_sign_in_options, load_sign_in_step, passkey_sign_in, start_passkey_sign_in},
    error::AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::Redirect,
    hooks::{use_navigate, use_query_map},
};

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let login = session.login;
    let error = move || login.value().get().and_then(Result::err).map(|err| err.to_string());
    let pending = login.pending();
    let query = use_query_map();
    let options = Resource::new(move || query.read().get("sso"), load_sign_in_options);
    let sso_failed = query.read_untracked().get("sso").is_some();

    view! {
        <AuthCard title="Sign in" stay=sso_failed>
                <p class="muted">"Manage the API tokens of your account."</p>
                <Suspense>
                    {move || Suspend::new(async move {
                        let options = options.await.ok()?;
                        Some(view! { <SingleSignOn options /> })
                    })}
                </Suspense>
                <ActionForm action=login attr:class="form" attr:aria-describedby="login-error">
                    <div class="field">
                        <label for="username">"Username"</label>
                        <input id="username" name="username" type="text" autocomplete="username" required autofocus />
                    </div>
                    <div class="field">
                        <label for="password">"Password"</label>
                        <input id="password" name="password" type="password" autocomplete="current-password" required />
                    </div>
                    <p id="login-error" class="form-error" role="alert">{error}</p>
                    <button type="submit" class="button button-primary button-block" disabled=pending>
                        {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ActionForm>
        </AuthCard>
    }
}

/// The single sign-on button above the password form, the message of a single sign-on that failed, and, when
/// passwords are for the break-glass account only, a line saying so.
#[component]
fn SingleSignOn(options: SignInOptions) -> impl IntoView {
    let SignInOptions { single_sign_on, password_for_emergency_only, sso_error } = options;
    let session = expect_context::<Session>();
    let signed_in = move || session.account.get().and_then(Result::ok).flatten().is_some();
    view! {
        {sso_error.map(|message| view! { <p class="form-error sso-error" role="alert">{message}</p> })}
        // A re-confirmation that failed: the person is still signed in and goes back from here.
        <Show when=signed_in>
            <p><a href="/tokens">"Back to your tokens"</a></p>
        </Show>
        {single_sign_on.map(|name| {
            view! {
                <a class="button button-primary button-block" href="/auth/oidc/start" rel="external">
                    {format!("Sign in with {name}")}
                </a>
                <p class="auth-divider" aria-hidden="true">
                    <span>"or"</span>
                </p>
            }
        })}
        {password_for_emergency_only
            .then(|| {
                view! {
                    <p class="muted">
                        "Passwords are for the emergency account only; everyone else signs in with single sign-on."
                    </p>
                }
            })}
    }
}

/// The second step of signing in to an account with an authenticator app: its current code, or a recovery code.
/// Works before hydration too, like the first step.
#[component]
pub fn SecondFactorPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let second_factor = session.second_factor;
    let failed = move || second_factor.value().get().and_then(Result::err);
    let error = move || failed().map(|err| err.to_string());
    let expired = move || matches!(failed(), Some(AppError::SignInExpired));
    let pending = second_factor.pending();
    let factors = Resource::new(|| (), |()| load_sign_in_step());
    let navigate = use_navigate();
    let passkey_error = RwSignal::new(None::<String>);
    let passkey = Action::new_local(|(): &()| async move {
        let challenge = start_passkey_sign_in().await.map_err(|err| err.to_string())?;
        let credential = super::webauthn::get(&challenge.options).await?;
        passkey_sign_in(challenge.handle, credential).await.map_err(|err| err.to_string())
    });
    Effect::new(move |_| match passkey.value().get() {
        Some(Ok(())) => {
            session.account.refetch();
            navigate("/tokens", Default::default());
        }
        Some(Err(message)) => passkey_error.set(Some(message)),
        None => {}
    });

    view! {
        <AuthCard title="Two-factor sign-in">
                <Suspense>
                    {move || Suspend::new(async move {
                        let step = factors.await.unwrap_or(SignInStep { authenticator_app: true, passkeys: false });
                        let hint = match (step.authenticator_app, step.passkeys) {
                            (true, true) => "Use one of your passkeys, or enter the 6-digit code your authenticator app shows for Tessera. Lost your device? Enter one of your recovery codes instead.",
                            (false, true) => "Use one of your passkeys. Lost it? Enter one of your recovery codes instead.",
                            _ => "Enter the 6-digit code your authenticator app shows for Tessera. Lost your device? Enter one of your recovery codes instead.",
                        };
                        view! {
                            <p class="muted">{hint}</p>
                            <Show when=move || step.passkeys>
                                <button type="button" class="button button-primary button-block"
                                    disabled=move || passkey.pending().get()
                                    on:click=move |_| { passkey_error.set(None); passkey.dispatch(()); }>
                                    {move || if passkey.pending().get() { "Waiting for the passkey…" } else { "Use a passkey" }}
                                </button>
                                <p class="form-error" role="alert">{move || passkey_error.get()}</p>
                                <p class="auth-divider" aria-hidden="true"><span>"or"</span></p>
                            </Show>
                        }
                    })}
                </Suspense>
                <ActionForm action=second_factor attr:class="form" attr:aria-describedby="code-error">
                    <div class="field">
                        <label for="code">"Code"</label>
                        <input
                            id="code"
                            name="code"
                            type="text"
                            inputmode="text"
                            autocomplete="one-time-code"
                            autocapitalize="off"
                            spellcheck="false"
                            maxlength="20"
                            required
                            autofocus
                        />
                    </div>
                    <p id="code-error" class="form-error" role="alert">{error}</p>
                    <Show when=expired>
                        <p><a href="/login">"Sign in again"</a></p>
                    </Show>
                    <button type="submit" class="button button-primary button-block" disabled=pending>
                        {move || if pending.get() { "Checking…" } else { "Continue" }}
                    </button>
                </ActionForm>
                <p class="muted auth-footnote"><a href="/login">"Use another account"</a></p>
        </AuthCard>
    }
}

/// The frame of the pages before a session: whoever is signed in already goes on to their tokens (unless the page
/// has a single sign-on's failure to show: a re-confirmation through the provider ends here too); the others see
/// a card with the brand and the page's heading.
#[component]
fn AuthCard(title: &'static str, #[prop(optional)] stay: bool, children: Children) -> impl IntoView {
    let session = expect_context::<Session>();
    view! {
        <Title text=title />
        <Suspense>
            {move || Suspend::new(async move {
                let signed_in = matches!(session.account.await, Ok(Some(_)));
                (signed_in && !stay).then(|| view! { <Redirect path="/tokens" /> })
            })}
        </Suspense>
        <main class="auth-page">
            <div class="card auth-card">
                <div class="brand brand-large">
                    <span class="brand-mark" aria-hidden="true"></span>
                    "Tessera"
                </div>
                <h1>{title}</h1>
                {children()}
            </div>
        </main>
    }
}
