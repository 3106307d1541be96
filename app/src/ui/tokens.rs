//! The API Tokens page.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn TokensPage() -> impl IntoView {
    view! {
        <Title text="API Tokens" />
        <div class="page-header">
            <h1>"API Tokens"</h1>
            <p class="muted">
                "Tokens let scripts, resellers and other developers call the API for your account without your password."
            </p>
        </div>
        <section class="card empty-state" aria-labelledby="no-tokens">
            <div class="empty-icon" aria-hidden="true"></div>
            <h2 id="no-tokens">"No API tokens yet"</h2>
            <p class="muted">"Tokens you create will be listed here with their expiry, IP allowlist and privileges."</p>
        </section>
    }
}
