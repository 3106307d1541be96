//! The Audit log: who did what to which target, when, from where, and how it ended. Filters by actor, action,
//! target and dates, with live search and paging; all of it lives in the URL, so reload and back/forward keep
//! it. Each account sees the events by or about itself; accounts holding `all` see everything.

use crate::{
    api::{AuditEntry, AuditQuery, load_audit},
    ui::{
        pager::TableFooter,
        url_query::{query_href, unless_default, url_text_filter},
    },
};
use chrono::NaiveDate;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    NavigateOptions,
    hooks::{use_navigate, use_query_map},
};

const PER_PAGE: [u64; 4] = [20, 50, 100, 200];

/// The action filters on offer: (prefix, label).
const ACTIONS: &[(&str, &str)] = &[
    ("", "All actions"),
    ("login", "Sign-ins"),
    ("logout", "Sign-outs"),
    ("account.", "Account changes"),
    ("token.", "Token changes"),
    ("api.refused", "Refused token uses"),
    ("privilege.", "Privilege definitions"),
];

fn href(q: &AuditQuery) -> String {
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    query_href(
        "/audit",
        &[
            ("q", q.search.clone()),
            ("actor", q.actor.clone()),
            ("action", q.action.clone()),
            ("target", q.target.clone()),
            ("since", date(q.since)),
            ("until", date(q.until)),
            ("page", unless_default(q.page, 1)),
            ("per_page", unless_default(q.per_page, AuditQuery::default().per_page)),
        ],
    )
}

fn date(raw: Option<String>) -> Option<NaiveDate> {
    raw.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        params.with(|p| AuditQuery {
            search: p.get("q").unwrap_or_default(),
            actor: p.get("actor").unwrap_or_default(),
            action: p.get("action").unwrap_or_default(),
            target: p.get("target").unwrap_or_default(),
            since: date(p.get("since")),
            until: date(p.get("until")),
            page: p.get("page").and_then(|s| s.parse().ok()).filter(|n| *n >= 1).unwrap_or(1),
            per_page: p
                .get("per_page")
                .and_then(|s| s.parse().ok())
                .filter(|n| PER_PAGE.contains(n))
                .unwrap_or(AuditQuery::default().per_page),
        })
    });
    let refresh = RwSignal::new(0u32);
    let log = Resource::new(move || (query.get(), refresh.get()), |(query, _)| load_audit(query));
    let navigate = use_navigate();
    let go = StoredValue::new(move |q: AuditQuery, replace: bool| {
        navigate(&href(&q), NavigateOptions { replace, scroll: false, ..Default::default() })
    });
    let set = move |f: &dyn Fn(&mut AuditQuery), replace: bool| {
        let mut q = query.get_untracked();
        f(&mut q);
        q.page = 1;
        go.with_value(|go| go(q, replace));
    };

    // Text filters: typed text shows at once; the log follows after a pause in typing.
    let (search, on_search) =
        url_text_filter("audit-search", query, |q| q.search.clone(), move |v| set(&|q| q.search = v.clone(), true));
    let (actor, on_actor) =
        url_text_filter("audit-actor", query, |q| q.actor.clone(), move |v| set(&|q| q.actor = v.clone(), true));
    let (target, on_target) =
        url_text_filter("audit-target", query, |q| q.target.clone(), move |v| set(&|q| q.target = v.clone(), true));

    view! {
        <Title text="Audit log" />
        <div class="page-header page-header-row">
            <div>
                <h1>"Audit log"</h1>
                <p class="muted">"Every sign-in, every account and token change, and every token use refused for its address or privilege."</p>
            </div>
            <button type="button" class="button" on:click=move |_| refresh.update(|n| *n += 1)>"Refresh"</button>
        </div>
        <form class="card filters" role="search" aria-label="Filter the audit log" on:submit=|ev| ev.prevent_default()>
            <div class="field">
                <label for="audit-search">"Search"</label>
                <input id="audit-search" type="search" autocomplete="off" placeholder="Anything: name, action, address…" prop:value=move || search.get() on:input=on_search />
            </div>
            <div class="field">
                <label for="audit-actor">"Actor"</label>
                <input id="audit-actor" type="text" autocomplete="off" prop:value=move || actor.get() on:input=on_actor />
            </div>
            <div class="field">
                <label for="audit-action">"Action"</label>
                <select id="audit-action" on:change=move |ev| {
                    let action = event_target_value(&ev);
                    set(&|q| q.action = action.clone(), false);
                }>
                    {ACTIONS.iter().map(|(value, label)| view! {
                        <option value=*value selected=move || query.get().action == *value>{*label}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="audit-target">"Target"</label>
                <input id="audit-target" type="text" autocomplete="off" prop:value=move || target.get() on:input=on_target />
            </div>
            <div class="field">
                <label for="audit-since">"From"</label>
                <input id="audit-since" type="date" prop:value=move || query.get().since.map(|d| d.to_string()).unwrap_or_default() on:change=move |ev| {
                    let since = date(Some(event_target_value(&ev)));
                    set(&|q| q.since = since, false);
                } />
            </div>
            <div class="field">
                <label for="audit-until">"To"</label>
                <input id="audit-until" type="date" prop:value=move || query.get().until.map(|d| d.to_string()).unwrap_or_default() on:change=move |ev| {
                    let until = date(Some(event_target_value(&ev)));
                    set(&|q| q.until = until, false);
                } />
            </div>
        </form>
        <Transition fallback=|| view! { <div class="card table-card" aria-busy="true"><p class="loading-line">"Loading the audit log…"</p></div> }>
            {move || Suspend::new(async move {
                match log.await {
                    Ok(page) => {
                        let shown = page.entries.len();
                        let current = page.page;
                        let scope = if page.everything { "All events" } else { "Events by or about your account" };
                        if page.entries.is_empty() {
                            return view! {
                                <section class="card empty-state" aria-live="polite">
                                    <h2>"No events match"</h2>
                                    <p class="muted">{scope}". Try fewer filters."</p>
                                </section>
                            }.into_any();
                        }
                        view! {
                            <div class="card table-card">
                                <div class="table-scroll">
                                    <table class="audit-table">
                                        <caption class="table-caption">{format!("{scope} · times in {}", page.time_zone)}</caption>
                                        <thead>
                                            <tr>
                                                <th scope="col">"Time"</th>
                                                <th scope="col">"Actor"</th>
                                                <th scope="col">"Action"</th>
                                                <th scope="col">"Target"</th>
                                                <th scope="col">"Address"</th>
                                                <th scope="col">"Outcome"</th>
                                                <th scope="col">"Detail"</th>
                                            </tr>
                                        </thead>
                                        <tbody>{page.entries.into_iter().map(|entry| view! { <EventRow entry /> }).collect_view()}</tbody>
                                    </table>
                                </div>
                                <TableFooter total=page.total page=current per_page=page.per_page shown on_page=Callback::new(move |page| {
                                    go.with_value(|go| go(AuditQuery { page, ..query.get_untracked() }, false))
                                })>
                                    <label class="inline-field">
                                        "Per page "
                                        <select on:change=move |ev| {
                                            let per_page = event_target_value(&ev).parse().unwrap_or(50);
                                            set(&|q| q.per_page = per_page, false);
                                        }>
                                            {PER_PAGE.into_iter().map(|n| view! { <option value=n.to_string() selected=move || query.get().per_page == n>{n.to_string()}</option> }).collect_view()}
                                        </select>
                                    </label>
                                </TableFooter>
                            </div>
                        }.into_any()
                    }
                    Err(err) => view! {
                        <div class="card state-card" role="alert">
                            <h2>"The audit log could not be loaded"</h2>
                            <p class="muted">{err.to_string()}</p>
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn EventRow(entry: AuditEntry) -> impl IntoView {
    let outcome_class = format!("outcome outcome-{}", entry.outcome);
    view! {
        <tr data-action=entry.action.clone()>
            <td class="date-cell"><time datetime=entry.at_iso.clone() title=entry.at_iso.clone()>{entry.at.clone()}</time></td>
            <td>
                {entry.actor.clone()}
                {entry.via_token.clone().map(|token| view! { <span class="muted">" via token "<code>{token}</code></span> })}
            </td>
            <td><code>{entry.action.clone()}</code></td>
            <td>{entry.target.clone().unwrap_or_default()}</td>
            <td class="muted">{entry.client_ip.clone().unwrap_or_default()}</td>
            <td><span class=outcome_class>{entry.outcome.clone()}</span></td>
            <td class="muted">{entry.detail.clone().unwrap_or_default()}</td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_keeps_only_the_filters_in_use() {
        assert_eq!(href(&AuditQuery::default()), "/audit");
        let q = AuditQuery {
            actor: "bob smith".into(),
            action: "token.".into(),
            since: NaiveDate::from_ymd_opt(2026, 11, 1),
            page: 2,
            ..AuditQuery::default()
        };
        assert_eq!(href(&q), "/audit?actor=bob%20smith&action=token.&since=2026-11-01&page=2");
    }
}
