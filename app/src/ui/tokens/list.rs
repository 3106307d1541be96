//! The tokens table: live search (debounced, server-side, across pages), sortable columns, pagination and
//! page size, selection with bulk revoke, and yellow/red rows for tokens about to expire or expired. Search,
//! page, page size and sort live in the URL, so reload and back/forward keep them.

use super::{manage_href, notices::TokenNotices};
use crate::{
    api::{
        PAGE_SIZES, TokenQuery, TokenRow, TokenSort, TokenTable, load_token_table, revoke_all_tokens, revoke_tokens,
    },
    domain::ExpiryStatus,
    ui::{
        browser,
        dialog::ConfirmDialog,
        pager::TableFooter,
        toast::use_toasts,
        url_query::{query_href, unless_default, url_text_filter},
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    NavigateOptions,
    components::A,
    hooks::{use_navigate, use_query_map},
};
use std::collections::BTreeSet;

/// The address of the list showing `query`; defaults are left out.
fn href(query: &TokenQuery) -> String {
    let defaults = TokenQuery::default();
    let sorted = query.sort != defaults.sort || query.descending != defaults.descending;
    let (sort, dir) = if sorted {
        (query.sort.as_str().to_owned(), if query.descending { "desc" } else { "asc" }.to_owned())
    } else {
        (String::new(), String::new())
    };
    query_href(
        "/tokens",
        &[
            ("q", query.search.clone()),
            ("expiring", if query.expiring { "true".to_owned() } else { String::new() }),
            ("sort", sort),
            ("dir", dir),
            ("page", unless_default(query.page, 1)),
            ("per_page", unless_default(query.per_page, defaults.per_page)),
        ],
    )
}

/// The query an address of the list shows (`get` reads one of its parameters); anything missing or not
/// understood falls back to the default, so a hand-edited URL still shows a list. The inverse of [`href`].
fn query_from(get: impl Fn(&str) -> Option<String>) -> TokenQuery {
    let defaults = TokenQuery::default();
    let sort = get("sort").and_then(|s| s.parse::<TokenSort>().ok());
    TokenQuery {
        search: get("q").unwrap_or_default(),
        expiring: get("expiring").as_deref() == Some("true"),
        sort: sort.unwrap_or(defaults.sort),
        descending: match get("dir").as_deref() {
            Some("asc") => false,
            Some("desc") => true,
            _ => sort.is_none(),
        },
        page: get("page").and_then(|s| s.parse().ok()).filter(|n| *n >= 1).unwrap_or(1),
        per_page: get("per_page")
            .and_then(|s| s.parse().ok())
            .filter(|n| PAGE_SIZES.contains(n))
            .unwrap_or(defaults.per_page),
    }
}

/// A list the person asked for whose address is not written yet (see [`TokensPage`]).
#[derive(Clone, PartialEq)]
struct Unwritten {
    /// The address's query when it was asked for: if the address moves meanwhile (Back, a link), that wins.
    from: TokenQuery,
    to: TokenQuery,
    /// Replaces the current history entry instead of adding one (search keystrokes after the first).
    replace: bool,
}

#[component]
pub fn TokensPage() -> impl IntoView {
    let params = use_query_map();
    // The address's query.
    let query = Memo::new(move |_| params.with(|p| query_from(|key| p.get(key))));
    // A change (a search, a sort, a page) asks for its rows at once and writes its address only once they are on
    // screen: writing it (`history.pushState` and the router's work on the new address) took about a fifth of a
    // keystroke's time to its rows, CPU slowed 4x, all of it before the call went out.
    let unwritten: RwSignal<Option<Unwritten>> = RwSignal::new(None);
    // The query the list shows: the one asked for, else the address's.
    let shown = Memo::new(move |_| {
        let from_url = query.get();
        unwritten.with(|u| match u {
            Some(u) if u.from == from_url => u.to.clone(),
            _ => from_url,
        })
    });
    Effect::new(move |_| {
        let from_url = query.get();
        if unwritten.with_untracked(|u| u.as_ref().is_some_and(|u| u.to == from_url)) {
            unwritten.set(None);
        }
    });
    let refresh = RwSignal::new(0u32);
    let table = Resource::new(move || (shown.get(), refresh.get()), |(query, _)| load_token_table(query));

    let navigate = use_navigate();
    // Writes the address of the list asked for, unless the address moved meanwhile (or already says it: asked
    // back to what it shows), or the page is gone.
    let write_address = StoredValue::new(move || {
        let (Some(Some(asked)), Some(from_url)) = (unwritten.try_get_untracked(), query.try_get_untracked()) else {
            return;
        };
        if asked.from != from_url || asked.to == from_url {
            unwritten.set(None);
            return;
        }
        navigate(&href(&asked.to), NavigateOptions { replace: asked.replace, scroll: false, ..Default::default() });
    });
    // Paging, sorting and page size are history entries (Back undoes them); search keystrokes replace one.
    let go = move |q: TokenQuery, replace: bool| {
        if q == shown.get_untracked() {
            return;
        }
        let from = query.get_untracked();
        // Asked again before the last one was written: one history entry, added if either would add one.
        let replace = replace && unwritten.with_untracked(|u| u.as_ref().is_none_or(|u| u.from != from || u.replace));
        unwritten.set(Some(Unwritten { from, to: q, replace }));
    };
    let update = move |f: &dyn Fn(&mut TokenQuery), replace: bool| {
        let mut q = shown.get_untracked();
        f(&mut q);
        go(q, replace);
    };

    // The search box: typed text shows at once; the list follows after a pause in typing.
    let (search, on_search) = url_text_filter(
        "token-search",
        shown,
        |q| q.search.clone(),
        move |text| {
            let first_keystroke = shown.get_untracked().search.is_empty();
            update(
                &|q| {
                    q.search = text.clone();
                    q.page = 1;
                },
                !first_keystroke,
            );
        },
    );

    let selected: RwSignal<BTreeSet<String>> = RwSignal::new(BTreeSet::new());
    let toasts = use_toasts();
    let confirm_open = RwSignal::new(false);
    let to_revoke: RwSignal<Vec<String>> = RwSignal::new(Vec::new());
    let revoke_everything = RwSignal::new(false);
    // Set when a page arrives. Reading `table` out here instead would suspend the whole signed-in frame (the
    // nearest Suspense) on every refetch, re-creating the search box under the typist's fingers.
    let total = RwSignal::new(0u64);

    let revoke = Action::new(move |names: &Vec<String>| {
        let names = names.clone();
        async move { revoke_tokens(names).await }
    });
    let revoke_all = Action::new(|_: &()| revoke_all_tokens());
    Effect::new(move |_| {
        if let Some(result) = revoke.value().get() {
            match result {
                Ok(names) if names.len() == 1 => toasts.success(format!("Revoked API token “{}”.", names[0])),
                Ok(names) => toasts.success(format!("Revoked {} API tokens.", names.len())),
                Err(err) => toasts.error(format!("Could not revoke: {err}")),
            }
            selected.set(BTreeSet::new());
            refresh.update(|n| *n += 1);
        }
    });
    Effect::new(move |_| {
        if let Some(result) = revoke_all.value().get() {
            match result {
                Ok(count) => toasts.success(format!("Revoked all {count} API tokens.")),
                Err(err) => toasts.error(format!("Could not revoke: {err}")),
            }
            selected.set(BTreeSet::new());
            refresh.update(|n| *n += 1);
        }
    });

    // A new search starts a new selection: boxes ticked among earlier results would otherwise be revoked along
    // with rows no longer on screen.
    Effect::new(move |previous: Option<String>| {
        let search = shown.get().search;
        if previous.is_some_and(|previous| previous != search) {
            selected.set(BTreeSet::new());
        }
        search
    });

    let ask_revoke = move |names: Vec<String>| {
        // `total` counts the tokens matching the search; only without one is it every token of the account.
        let unfiltered = shown.get_untracked().search.is_empty();
        let everything = unfiltered && total.get_untracked() > 1 && names.len() as u64 == total.get_untracked();
        revoke_everything.set(everything);
        to_revoke.set(names);
        confirm_open.set(true);
    };
    let ask_revoke_all = move || {
        revoke_everything.set(true);
        to_revoke.set(Vec::new());
        confirm_open.set(true);
    };
    let confirm = move |()| {
        if revoke_everything.get_untracked() {
            revoke_all.dispatch(());
        } else {
            revoke.dispatch(to_revoke.get_untracked());
        }
    };
    let dialog_title = Signal::derive(move || {
        if revoke_everything.get() {
            "Revoke all API tokens?".to_owned()
        } else if to_revoke.get().len() == 1 {
            format!("Revoke API token “{}”?", to_revoke.get()[0])
        } else {
            format!("Revoke {} API tokens?", to_revoke.get().len())
        }
    });

    view! {
        <Title text="API Tokens" />
        <div class="page-header page-header-row">
            <div>
                <h1>"API Tokens"</h1>
                <p class="muted">
                    "Tokens let scripts, resellers and other developers call the API for your account without your password."
                </p>
            </div>
            <A href="/tokens/new" attr:class="button button-primary">"Create"</A>
        </div>

        <div class="toolbar">
            <div class="search">
                <label for="token-search" class="visually-hidden">"Search tokens by name"</label>
                <input
                    id="token-search"
                    type="search"
                    placeholder="Search by name"
                    autocomplete="off"
                    prop:value=move || search.get()
                    on:input=on_search
                />
            </div>
            <button
                type="button"
                class="button button-danger-outline"
                disabled=move || selected.get().is_empty()
                on:click=move |_| ask_revoke(selected.get_untracked().into_iter().collect())
            >
                {move || format!("Revoke selected ({})", selected.get().len())}
            </button>
            <details class="menu">
                <summary class="button" aria-label="Table settings">
                    <span aria-hidden="true">"⚙"</span>
                </summary>
                <div class="menu-panel" role="group" aria-label="Table settings">
                    <fieldset class="menu-section">
                        <legend>"Tokens per page"</legend>
                        {PAGE_SIZES.into_iter().map(|size| view! {
                            <label class="radio-row">
                                <input
                                    type="radio"
                                    name="per-page"
                                    prop:checked=move || shown.get().per_page == size
                                    on:change=move |_| update(&|q| { q.per_page = size; q.page = 1; }, false)
                                />
                                {size.to_string()}
                            </label>
                        }).collect_view()}
                    </fieldset>
                    <button type="button" class="menu-item" on:click=move |_| refresh.update(|n| *n += 1)>"Refresh list"</button>
                    <button type="button" class="menu-item danger" disabled=move || total.get() == 0 on:click=move |_| ask_revoke_all()>
                        "Revoke all"
                    </button>
                </div>
            </details>
        </div>

        <Transition fallback=|| view! { <TableSkeleton /> }>
            {move || Suspend::new(async move {
                let answer = table.await;
                // These rows are on screen once painted: the address follows.
                if unwritten.with_untracked(Option::is_some) {
                    // The page may be gone by then (a link followed within the frame).
                    browser::after_paint(move || {
                        write_address.try_with_value(|write| write());
                    });
                }
                match answer {
                    Ok(data) => {
                        total.set(data.total);
                        let filtered = shown.get_untracked().expiring;
                        view! {
                        <TokenNotices
                            leaks=data.leaks.clone()
                            expiring=data.expiring.clone()
                            expiring_total=data.expiring_total
                            filtered
                            on_change=Callback::new(move |()| refresh.update(|n| *n += 1))
                        />
                        <Show when=move || filtered>
                            <div class="callout callout-warning filter-note" role="status">
                                {format!("Showing the tokens that expire within {} days. ", crate::api::EXPIRING_DAYS)}
                                <button type="button" class="link-button" on:click=move |_| update(&|q| { q.expiring = false; q.page = 1; }, false)>"Show all tokens"</button>
                            </div>
                        </Show>
                        <TokenTableView data query=shown selected update=Callback::new(move |q: TokenQuery| go(q, false)) on_revoke=Callback::new(move |name: String| ask_revoke(vec![name])) />
                        }.into_any()
                    }
                    Err(err) => view! {
                        <div class="card state-card" role="alert">
                            <h2>"The tokens could not be loaded"</h2>
                            <p class="muted">{err.to_string()}</p>
                            <button type="button" class="button" on:click=move |_| refresh.update(|n| *n += 1)>"Try again"</button>
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>

        <ConfirmDialog id="revoke-dialog" open=confirm_open title=dialog_title confirm_label=Signal::derive(move || {
            if revoke_everything.get() { "Revoke all tokens".to_owned() } else { "Revoke".to_owned() }
        }) danger=true on_confirm=Callback::new(confirm)>
            {move || if revoke_everything.get() {
                view! {
                    <p>"Every API token of this account stops working at once. Scripts and services using them will be refused."</p>
                }.into_any()
            } else {
                view! {
                    <p>"These tokens stop working at once:"</p>
                    <ul class="name-list">{to_revoke.get().into_iter().map(|n| view! { <li><code>{n}</code></li> }).collect_view()}</ul>
                }.into_any()
            }}
        </ConfirmDialog>
    }
}

#[component]
fn TableSkeleton() -> impl IntoView {
    view! {
        <div class="card table-card" aria-busy="true">
            <p class="loading-line">"Loading tokens…"</p>
        </div>
    }
}

#[component]
fn TokenTableView(
    data: TokenTable,
    query: Memo<TokenQuery>,
    selected: RwSignal<BTreeSet<String>>,
    update: Callback<TokenQuery>,
    on_revoke: Callback<String>,
) -> impl IntoView {
    let q = query.get_untracked();
    if data.total == 0 && q.expiring {
        return view! {
            <section class="card empty-state" aria-live="polite">
                <h2>{format!("No tokens expire within {} days", crate::api::EXPIRING_DAYS)}</h2>
                <A href="/tokens" attr:class="button">"Show all tokens"</A>
            </section>
        }
        .into_any();
    }
    if data.total == 0 && q.search.is_empty() {
        return view! {
            <section class="card empty-state" aria-labelledby="no-tokens">
                <div class="empty-icon" aria-hidden="true"></div>
                <h2 id="no-tokens">"No API tokens yet"</h2>
                <p class="muted">"Create a token to let a script or another developer call the API for your account."</p>
                <A href="/tokens/new" attr:class="button button-primary">"Create an API token"</A>
            </section>
        }
        .into_any();
    }
    if data.rows.is_empty() {
        let search = q.search.clone();
        return view! {
            <section class="card empty-state" aria-live="polite">
                <h2>{format!("No tokens match “{search}”")}</h2>
                <p class="muted">"Search looks at token names, ignoring case."</p>
                <button type="button" class="button" on:click=move |_| update.run(TokenQuery { search: String::new(), page: 1, ..query.get_untracked() })>
                    "Clear search"
                </button>
            </section>
        }
        .into_any();
    }

    let page_names: Vec<String> = data.rows.iter().map(|r| r.token.name.clone()).collect();
    let all_on_page = {
        let names = page_names.clone();
        move || selected.with(|s| names.iter().all(|n| s.contains(n)))
    };
    let toggle_page = {
        let names = page_names.clone();
        move |ev: leptos::ev::Event| {
            let on = event_target_checked(&ev);
            selected.update(|s| {
                for n in &names {
                    if on {
                        s.insert(n.clone());
                    } else {
                        s.remove(n);
                    }
                }
            });
        }
    };
    let shown = data.rows.len();
    // Keyed by the whole row: a new page's rows are built, those it shares with the page before (unchanged, e.g.
    // after a refresh or a revoke) are kept as they are. Rebuilding a row in place instead (what a plain list of
    // views does) removes every attribute and listener of each element and adds them again, since the views'
    // types are erased (`.cargo/config.toml`); in a CPU profile of a keystroke in the search box, that was two
    // thirds of the time from the answer to the rows shown. By hand (`bench/usable.cjs`, CPU slowed 4x, two runs
    // of 9 keystrokes each way): answer to rows shown, median 173 and 141 ms against 200 and 154 before.
    let rows = data.rows;

    let header = move |label: &'static str, sort: TokenSort, class: &'static str| {
        let current = query.get_untracked();
        let active = current.sort == sort;
        let aria = if active { if current.descending { "descending" } else { "ascending" } } else { "none" };
        let arrow = if active { if current.descending { "▼" } else { "▲" } } else { "" };
        view! {
            <th scope="col" aria-sort=aria class=(!class.is_empty()).then_some(class)>
                <button type="button" class="sort-button" on:click=move |_| {
                    let q = query.get_untracked();
                    let descending = if q.sort == sort { !q.descending } else { matches!(sort, TokenSort::Created | TokenSort::LastUsed | TokenSort::Requests) };
                    update.run(TokenQuery { sort, descending, page: 1, ..q });
                }>
                    {label}
                    <span class="sort-arrow" aria-hidden="true">{arrow}</span>
                </button>
            </th>
        }
    };

    view! {
        <div class="card table-card">
            <div class="table-scroll">
                <table class="tokens-table">
                    <caption class="visually-hidden">"API tokens"</caption>
                    <thead>
                        <tr>
                            <th scope="col" class="select-col">
                                <input type="checkbox" aria-label="Select all tokens on this page" prop:checked=all_on_page on:change=toggle_page />
                            </th>
                            {header("Name", TokenSort::Name, "")}
                            {header("Created", TokenSort::Created, "")}
                            {header("Expires", TokenSort::Expires, "")}
                            <th scope="col">"IPs"</th>
                            <th scope="col">"Privileges"</th>
                            {header("Last used", TokenSort::LastUsed, "")}
                            {header("Requests (30 d)", TokenSort::Requests, "number-col")}
                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=move || rows.clone() key=|row| row.clone() let:row>
                            <Row row selected on_revoke />
                        </For>
                    </tbody>
                </table>
            </div>
            <TableFooter total=data.total page=data.page per_page=data.per_page shown on_page=Callback::new(move |page| {
                update.run(TokenQuery { page, ..query.get_untracked() })
            }) />
        </div>
    }
    .into_any()
}

/// One token's row. Its links are plain `<a>`s, which the router follows like any same-origin link: the `A`
/// component would add a memo and two effects per link (for `aria-current`, which a row's link never needs), all
/// re-run on every navigation, and each keystroke in the search box is one. Without them the rows a keystroke
/// brings render about a tenth sooner (by hand: median 157 against 174 ms, CPU slowed 4x, six runs each).
#[component]
fn Row(row: TokenRow, selected: RwSignal<BTreeSet<String>>, on_revoke: Callback<String>) -> impl IntoView {
    let name = row.token.name.clone();
    let class = match row.status {
        ExpiryStatus::ExpiresSoon => "row-soon",
        ExpiryStatus::Expired => "row-expired",
        ExpiryStatus::Never | ExpiryStatus::Active => "",
    };
    let checked = {
        let name = name.clone();
        move || selected.with(|s| s.contains(&name))
    };
    let toggle = {
        let name = name.clone();
        move |ev: leptos::ev::Event| {
            let on = event_target_checked(&ev);
            let name = name.clone();
            selected.update(|s| {
                if on {
                    s.insert(name);
                } else {
                    s.remove(&name);
                }
            });
        }
    };
    let ips = row.token.allowlist.clone();
    let ips_view = match ips.len() {
        0 => view! { <span class="muted">"Any"</span> }.into_any(),
        1..=2 => view! { <span class="ip-list">{ips.join(", ")}</span> }.into_any(),
        n => {
            let shown = ips[..2].join(", ");
            let rest = ips[2..].join(", ");
            view! {
                <details class="fold">
                    <summary>{format!("{shown} +{} more", n - 2)}</summary>
                    <span class="ip-list">{rest}</span>
                </details>
            }
            .into_any()
        }
    };
    let revoke_name = name.clone();
    let select_label = format!("Select {name}");
    let href = manage_href(&name);
    let row_name = name.clone();
    view! {
        <tr class=class data-token=row_name>
            <td class="select-col">
                <input type="checkbox" aria-label=select_label prop:checked=checked on:change=toggle />
            </td>
            <th scope="row" class="name-cell">
                {row.notice.clone().map(|notice| view! {
                    <span class="notice-icon" role="img" aria-label=notice.clone() title=notice>"!"</span>
                })}
                <a href=href.clone()>{name}</a>
                <span class="hint-code">{row.token.hint.clone()}"…"</span>
            </th>
            <td class="date-cell"><time datetime=row.created_iso.clone() title=row.created_iso.clone()>{row.created.clone()}</time></td>
            <td class="date-cell">{row.expires.clone().unwrap_or_else(|| "Never".into())}</td>
            <td>{ips_view}</td>
            <td>
                <ul class="badges">
                    {row.token.privileges.iter().map(|p| view! { <li class="badge">{p.clone()}</li> }).collect_view()}
                </ul>
            </td>
            <td>
                {match (row.last_used.clone(), row.token.last_used_ip.clone()) {
                    (Some(at), Some(ip)) => view! { <span>{at}<br /><span class="muted">{ip}</span></span> }.into_any(),
                    (Some(at), None) => view! { <span>{at}</span> }.into_any(),
                    _ => view! { <span class="muted">"Never"</span> }.into_any(),
                }}
            </td>
            <td class="number-col" data-testid="requests-30d">{row.requests_30d.to_string()}</td>
            <td class="actions">
                <a href=href class="button button-small">"Manage"</a>
                <button type="button" class="button button-small button-danger-outline" on:click=move |_| on_revoke.run(revoke_name.clone())>
                    "Revoke"
                </button>
            </td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_keeps_only_what_differs_from_the_defaults() {
        assert_eq!(href(&TokenQuery::default()), "/tokens");
        let q = TokenQuery {
            search: "ci bot".into(),
            expiring: false,
            sort: TokenSort::Name,
            descending: false,
            page: 3,
            per_page: 50,
        };
        assert_eq!(href(&q), "/tokens?q=ci%20bot&sort=name&dir=asc&page=3&per_page=50");
    }

    /// Reads `href`'s output back (decoding only what `href` encodes in these cases).
    fn read_back(url: &str) -> TokenQuery {
        let pairs: Vec<(String, String)> = url
            .split_once('?')
            .map(|(_, q)| {
                q.split('&')
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.into(), v.replace("%20", " ")))
                    .collect()
            })
            .unwrap_or_default();
        query_from(|key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
    }

    #[test]
    fn an_address_reads_back_as_the_query_it_was_made_from() {
        for q in [
            TokenQuery::default(),
            TokenQuery {
                search: "ci bot".into(),
                expiring: false,
                sort: TokenSort::Name,
                descending: false,
                page: 3,
                per_page: 50,
            },
            TokenQuery { sort: TokenSort::LastUsed, descending: true, ..TokenQuery::default() },
            TokenQuery { sort: TokenSort::Created, descending: false, per_page: 100, ..TokenQuery::default() },
        ] {
            assert_eq!(read_back(&href(&q)), q, "{}", href(&q));
        }
    }

    #[test]
    fn what_an_address_gets_wrong_falls_back_to_the_default() {
        let q = read_back("/tokens?sort=shoe-size&page=0&per_page=7&dir=sideways");
        assert_eq!(q, TokenQuery::default());
        // A sort without a direction is ascending; no sort at all is the default, newest first.
        let by_name = TokenQuery { sort: TokenSort::Name, descending: false, ..TokenQuery::default() };
        assert_eq!(read_back("/tokens?sort=name"), by_name);
        assert!(read_back("/tokens?dir=sideways").descending);
    }
}
