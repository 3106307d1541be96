//! The busiest tokens of every account over the last 30 days (administrators): who is calling the most.

use crate::api::load_busiest_tokens;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn BusiestTokensPage() -> impl IntoView {
    let reload = RwSignal::new(0u32);
    let busiest = Resource::new(move || reload.get(), |_| load_busiest_tokens());
    view! {
        <Title text="Busiest tokens" />
        <div class="page-header page-header-row">
            <div>
                <h1>"Busiest tokens"</h1>
                <p class="muted">"The tokens of every account with the most calls in the last 30 days (accepted and refused)."</p>
            </div>
            <button type="button" class="button" on:click=move |_| reload.update(|n| *n += 1)>"Refresh"</button>
        </div>
        <Transition fallback=|| view! { <div class="card" aria-busy="true">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match busiest.await {
                    Ok(rows) if rows.is_empty() => view! {
                        <section class="card empty-state"><h2>"No calls in the last 30 days"</h2></section>
                    }.into_any(),
                    Ok(rows) => view! {
                        <section class="card table-card">
                            <table class="busiest-table">
                                <caption class="visually-hidden">"The busiest tokens of the last 30 days"</caption>
                                <thead><tr>
                                    <th scope="col">"#"</th>
                                    <th scope="col">"Token"</th>
                                    <th scope="col">"Account"</th>
                                    <th scope="col" class="number-col">"Requests (30 d)"</th>
                                </tr></thead>
                                <tbody>
                                    {rows.into_iter().enumerate().map(|(i, row)| view! {
                                        <tr>
                                            <td>{(i + 1).to_string()}</td>
                                            <th scope="row"><code>{row.token}</code></th>
                                            <td><a href=super::account_href(&row.account)>{row.account.clone()}</a></td>
                                            <td class="number-col">{row.requests.to_string()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </section>
                    }.into_any(),
                    Err(err) => view! { <div class="card state-card" role="alert">{err.to_string()}</div> }.into_any(),
                }
            })}
        </Transition>
    }
}
