//! The web app: the HTML shell, the routes, and the signed-in session shared by every page.

mod account;
mod admin;
mod browser;
mod confirm_identity;
mod contact;
mod date_picker;
mod dialog;
mod layout;
mod login;
mod not_found;
mod pager;
mod password;
mod second_factor;
mod toast;
mod tokens;
mod url_query;
mod webauthn;

use crate::{
    api::{AccountView, Login, Logout, SecondFactor, current_account},
    error::AppError,
};
use leptos::prelude::*;
use leptos_meta::{Link, MetaTags, Title, provide_meta_context};
use leptos_router::{
    components::{ParentRoute, Redirect, Route, Router, Routes},
    path,
};

/// The document around the app, rendered on the server. `assets` is the path the site's files are named under
/// (the server's versioned, immutable prefix): the script, the module and the stylesheet.
pub fn shell(options: LeptosOptions, assets: &'static str) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <HydrationScripts options root=assets />
                <link rel="stylesheet" id="tessera" href=format!("{assets}/pkg/tessera.css") />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The signed-in state: the sign-in and sign-out actions and the account they produce.
#[derive(Clone, Copy)]
pub struct Session {
    pub login: ServerAction<Login>,
    /// The second step of a sign-in with a second factor.
    pub second_factor: ServerAction<SecondFactor>,
    pub logout: ServerAction<Logout>,
    pub account: Resource<Result<Option<AccountView>, AppError>>,
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let login = ServerAction::<Login>::new();
    let second_factor = ServerAction::<SecondFactor>::new();
    let logout = ServerAction::<Logout>::new();
    // Blocking, so the server knows who is signed in before it sends headers and can redirect with a 302.
    let account = Resource::new_blocking(
        move || (login.version().get(), second_factor.version().get(), logout.version().get()),
        |_| current_account(),
    );
    provide_context(Session { login, second_factor, logout, account });
    provide_context(toast::Toasts::new());
    provide_context(tokens::LeaveGuard(RwSignal::new(false)));
    // Effects run only in the browser: this marks the moment the WASM app has taken over the page.
    #[cfg(feature = "hydrate")]
    Effect::new(|| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml" />
        <Title formatter=|page: String| if page.is_empty() { "Tessera".to_owned() } else { format!("{page} · Tessera") } />
        <Router>
            <Routes fallback=not_found::NotFound>
                <Route path=path!("/login") view=login::LoginPage />
                <Route path=path!("/login/code") view=login::SecondFactorPage />
                <ParentRoute path=path!("") view=layout::SignedIn>
                    <Route path=path!("") view=|| view! { <Redirect path="/tokens" /> } />
                    <Route path=path!("tokens") view=tokens::TokensPage />
                    <Route path=path!("tokens/new") view=tokens::CreateTokenPage />
                    <Route path=path!("tokens/manage/:name") view=tokens::ManageTokenPage />
                    <Route path=path!("account") view=account::AccountPage />
                    <Route path=path!("accounts") view=admin::AccountsPage />
                    <Route path=path!("accounts/new") view=admin::CreateAccountPage />
                    <Route path=path!("accounts/manage/:name") view=admin::ManageAccountPage />
                    <Route path=path!("privileges") view=admin::PrivilegesPage />
                    <Route path=path!("audit") view=admin::AuditPage />
                    <Route path=path!("webhooks") view=admin::WebhooksPage />
                    <Route path=path!("usage") view=admin::BusiestTokensPage />
                </ParentRoute>
            </Routes>
            <toast::ToastRegion />
        </Router>
    }
}
