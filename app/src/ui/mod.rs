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
    Lazy, SsrMode,
    components::{ParentRoute, Redirect, Route, Router, Routes},
    path,
};
use std::collections::HashMap;

/// The split modules' loader as cargo-leptos names it (without `hash-files`, its placeholder stays the name).
const SPLIT_LOADER: &str = "__wasm_split.______________________.js";

/// The document around the app, rendered on the server. `assets` is the path the site's files are named under
/// (the server's versioned, immutable prefix): the script, the module and the stylesheet. `split_modules` is the
/// build's manifest of split modules (lazy function to the module files it needs), embedded with the site.
pub fn shell(
    options: LeptosOptions,
    assets: &'static str,
    split_modules: &'static HashMap<String, Vec<String>>,
) -> impl IntoView {
    // A page that shows a signed-in page names that page's module for preloading, so the browser fetches it
    // beside the main module instead of after it. (Leptos looks for the manifest only on disk, beside the build.)
    if !split_modules.is_empty() {
        // Built once (the manifest and the prefix are the build's), shared by every page.
        static MANIFEST: std::sync::OnceLock<leptos::WasmSplitManifest> = std::sync::OnceLock::new();
        let manifest = MANIFEST.get_or_init(|| {
            leptos::WasmSplitManifest(ArcStoredValue::new((
                format!("{assets}/pkg"),
                split_modules.clone(),
                SPLIT_LOADER.to_owned(),
            )))
        });
        #[cfg(feature = "ssr")]
        provide_context(pages::ModuleNamed::default());
        provide_context(manifest.clone());
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <HydrationScripts options root=assets />
                // The split modules' loader, which the script imports: asked for beside the script, not after it.
                {(!split_modules.is_empty())
                    .then(|| view! { <link rel="modulepreload" href=format!("{assets}/pkg/{SPLIT_LOADER}") /> })}
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

    view! {
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml" />
        <Title formatter=|page: String| if page.is_empty() { "Tessera".to_owned() } else { format!("{page} · Tessera") } />
        <Router>
            <Routes fallback=not_found::NotFound>
                <Route path=path!("/login") view=login::LoginPage />
                <Route path=path!("/login/code") view=login::SecondFactorPage />
                // Rendered whole before anything is sent: the page and its head (title, the module's preload) are
                // in the HTML as sent. Streamed, whether the frame came inline or as a fallback filled in later
                // (its head then lost) depended on whether the session check won a race with the first chunk.
                <ParentRoute path=path!("") view=layout::SignedIn ssr=SsrMode::Async>
                    <Route path=path!("") view=|| view! { <Redirect path="/tokens" /> } />
                    <Route path=path!("tokens") view={Lazy::<pages::Tokens>::new()} />
                    <Route path=path!("tokens/new") view={Lazy::<pages::CreateToken>::new()} />
                    <Route path=path!("tokens/manage/:name") view={Lazy::<pages::ManageToken>::new()} />
                    <Route path=path!("account") view={Lazy::<pages::Account>::new()} />
                    <Route path=path!("accounts") view={Lazy::<pages::Accounts>::new()} />
                    <Route path=path!("accounts/new") view={Lazy::<pages::CreateAccount>::new()} />
                    <Route path=path!("accounts/manage/:name") view={Lazy::<pages::ManageAccount>::new()} />
                    <Route path=path!("privileges") view={Lazy::<pages::Privileges>::new()} />
                    <Route path=path!("audit") view={Lazy::<pages::Audit>::new()} />
                    <Route path=path!("webhooks") view={Lazy::<pages::Webhooks>::new()} />
                    <Route path=path!("usage") view={Lazy::<pages::BusiestTokens>::new()} />
                </ParentRoute>
            </Routes>
            <toast::ToastRegion />
        </Router>
    }
}

/// The signed-in pages, compiled into one WebAssembly module of their own (`cargo leptos build --split`) that
/// the browser fetches when it first shows one of them, or before hydrating when one is where it lands. The
/// sign-in pages, the layout and what every page shares stay in the main module, so a first visit downloads
/// only those (issue 17). One module for all of them rather than one per page: the pages share most of their
/// code, and split apart each would come with dozens of small shared pieces to fetch. On the server a page
/// renders at once, as any other.
mod pages {
    use super::{account, admin, second_factor, tokens};
    use leptos::prelude::*;
    use leptos_router::LazyRoute;

    /// Each route, the page it shows, and the split point: everything only these pages use goes into their
    /// module. The second-factor set-up of an account that must enrol (`second_factor_setup`) is in it too.
    macro_rules! pages {
        ($($route:ident => $page:path),* $(,)?) => {
            #[derive(Clone, Copy)]
            enum Page {
                $($route,)*
                EnrolSecondFactor,
            }

            #[lazy]
            fn signed_in_page(page: Page) -> AnyView {
                #[cfg(feature = "ssr")]
                name_module_for_preloading();
                untrack(move || match page {
                    $(Page::$route => $page().into_any(),)*
                    Page::EnrolSecondFactor => second_factor::SecondFactorCard().into_any(),
                })
            }

            $(
                pub struct $route;

                impl LazyRoute for $route {
                    fn data() -> Self {
                        Self
                    }

                    async fn view(_this: Self) -> AnyView {
                        signed_in_page(Page::$route).await
                    }

                    async fn preload() {
                        #[cfg(feature = "hydrate")]
                        __preload_signed_in_page().await;
                    }
                }
            )*
        };
    }

    pages! {
        Tokens => tokens::TokensPage,
        CreateToken => tokens::CreateTokenPage,
        ManageToken => tokens::ManageTokenPage,
        Account => account::AccountPage,
        Accounts => admin::AccountsPage,
        CreateAccount => admin::CreateAccountPage,
        ManageAccount => admin::ManageAccountPage,
        Privileges => admin::PrivilegesPage,
        Audit => admin::AuditPage,
        Webhooks => admin::WebhooksPage,
        BusiestTokens => admin::BusiestTokensPage,
    }

    /// The second-factor set-up that an account the policy covers sees in place of every page until it has one
    /// (the rest of it is the same card as on the Account page, so it lives in the same module).
    pub async fn second_factor_setup() -> AnyView {
        signed_in_page(Page::EnrolSecondFactor).await
    }

    /// Set once a page has named the module (a page may render its route more than once on the server).
    #[cfg(feature = "ssr")]
    #[derive(Clone, Default)]
    pub struct ModuleNamed(pub std::sync::Arc<std::sync::atomic::AtomicBool>);

    /// On the server, while rendering a signed-in page: names the module in the page's head, once, so the
    /// browser fetches it beside the main module instead of after it. (Leptos has this built in, but reads the
    /// manifest outside the render's owner, so whether it finds it depends on what ran before on the thread.)
    #[cfg(feature = "ssr")]
    fn name_module_for_preloading() {
        use leptos_meta::Link;
        use std::sync::atomic::Ordering;
        if use_context::<ModuleNamed>().is_none_or(|named| named.0.swap(true, Ordering::Relaxed)) {
            return;
        }
        let Some(manifest) = use_context::<leptos::WasmSplitManifest>() else { return };
        let Some(manifest) = manifest.0.try_read_value() else { return };
        let (pkg, modules, _) = &*manifest;
        let files = modules.iter().filter(|(name, _)| name.starts_with("signed_in_page_")).flat_map(|(_, files)| files);
        for file in files {
            let href = format!("{pkg}/{file}.wasm");
            // `fetch` preloads are matched to the loader's `fetch` by their credentials mode: `anonymous` is its
            // `same-origin`.
            let _ = view! { <Link rel="preload" href as_="fetch" type_="application/wasm" crossorigin="anonymous" /> }
                .to_html();
        }
    }

    /// Fetches the signed-in pages' module in the background, once a signed-in page is up: going to another
    /// page then never waits for it, and a tab left open across an upgrade (after which the old build's files
    /// are gone) already holds every page it can show. The sign-in page never fetches it.
    pub fn preload() {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(__preload_signed_in_page());
    }
}
