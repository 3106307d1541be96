//! The frame of every signed-in page: header with the account name, navigation, sign-out, and the page.
//! Without a live session it sends the browser to the login page.

use super::Session;
use crate::{api::AccountView, error::AppError};
use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};

#[component]
pub fn SignedIn() -> impl IntoView {
    let session = expect_context::<Session>();
    view! {
        <Suspense fallback=|| view! { <div class="page-loading" aria-busy="true">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match session.account.await {
                    Ok(Some(account)) if account.must_enrol => view! { <EnrolFirst account /> }.into_any(),
                    Ok(Some(account)) => view! { <AppShell account /> }.into_any(),
                    Ok(None) | Err(AppError::Unauthenticated) => view! { <Redirect path="/login" /> }.into_any(),
                    Err(err) => view! {
                        <main class="auth-page">
                            <div class="card" role="alert">
                                <h1>"Tessera is unavailable"</h1>
                                <p>{err.to_string()}</p>
                            </div>
                        </main>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Who is signed in, and signing out: the right end of the top bar.
#[component]
fn AccountMenu(username: String) -> impl IntoView {
    let session = expect_context::<Session>();
    view! {
        <div class="topbar-account">
            <span class="account-name" data-testid="account-name" title="Signed in as">{username}</span>
            <ActionForm action=session.logout>
                <button type="submit" class="button button-quiet">"Sign out"</button>
            </ActionForm>
        </div>
    }
}

/// The whole app while the second-factor policy makes this account set one up: the set-up, whatever page was
/// asked for, and signing out. The server refuses everything else until it is done.
#[component]
fn EnrolFirst(account: AccountView) -> impl IntoView {
    view! {
        <header class="topbar">
            <span class="brand">
                <span class="brand-mark" aria-hidden="true"></span>
                "Tessera"
            </span>
            <AccountMenu username=account.username />
        </header>
        <main id="content" class="content">
            <div class="page-header">
                <h1>"Set up two-factor authentication"</h1>
            </div>
            <div class="callout callout-warning" role="note">
                <strong>"Your administrator requires a second factor for your account."</strong>
                " Set up an authenticator app or a passkey to continue: after that, signing in asks for it as well as your password."
            </div>
            {Suspend::new(super::pages::second_factor_setup())}
        </main>
    }
}

#[component]
fn AppShell(account: AccountView) -> impl IntoView {
    let holds = |privilege: &str| account.privileges.iter().any(|p| p == privilege || p == crate::domain::ALL);
    let (lists_accounts, holds_all) = (holds("list-accts"), holds(crate::domain::ALL));
    let guard = expect_context::<super::tokens::LeaveGuard>();
    // In the browser only (effects never run on the server), once: the signed-in pages' module.
    Effect::new(super::pages::preload);
    // While a new secret is on screen, leaving through the app's own links asks first.
    let confirm_leave = move |ev: leptos::ev::MouseEvent| {
        if guard.0.get_untracked() && !super::browser::confirm(super::browser::LEAVE_QUESTION) {
            ev.prevent_default();
        } else {
            guard.0.set(false);
            super::browser::guard_leaving(false);
        }
    };
    view! {
        <a class="skip-link" href="#content">"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="/tokens">
                <span class="brand-mark" aria-hidden="true"></span>
                "Tessera"
            </a>
            <nav class="topnav" aria-label="Main" on:click=confirm_leave>
                <A href="/tokens">"API Tokens"</A>
                {lists_accounts.then(|| view! { <A href="/accounts">"Accounts"</A> })}
                {holds_all.then(|| view! { <A href="/privileges">"Privileges"</A> })}
                {holds_all.then(|| view! { <A href="/webhooks">"Webhooks"</A> })}
                {holds_all.then(|| view! { <A href="/usage">"Usage"</A> })}
                <A href="/audit">"Audit log"</A>
                <A href="/account">"Account"</A>
            </nav>
            <AccountMenu username=account.username />
        </header>
        <main id="content" class="content">
            <Outlet />
        </main>
    }
}
