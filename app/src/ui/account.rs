//! The signed-in account: its name and privileges.

use super::Session;
use crate::domain::builtin;
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
    }
}
