//! The Accounts screen (admins): accounts with live search and paging, their state, privileges and token
//! counts; suspend or unsuspend in place, delete after a confirmation that says how many tokens go with it.

use super::account_href;
use crate::{
    api::{
        AccountQuery, AccountSummary, AccountsScreen, AdminRights, PAGE_SIZES, delete_account, load_accounts,
        suspend_account,
    },
    ui::{
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

fn href(query: &AccountQuery) -> String {
    let defaults = AccountQuery::default();
    query_href(
        "/accounts",
        &[
            ("q", query.search.clone()),
            ("page", unless_default(query.page, 1)),
            ("per_page", unless_default(query.per_page, defaults.per_page)),
        ],
    )
}

#[component]
pub fn AccountsPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        params.with(|p| AccountQuery {
            search: p.get("q").unwrap_or_default(),
            page: p.get("page").and_then(|s| s.parse().ok()).filter(|n| *n >= 1).unwrap_or(1),
            per_page: p
                .get("per_page")
                .and_then(|s| s.parse().ok())
                .filter(|n| PAGE_SIZES.contains(n))
                .unwrap_or(AccountQuery::default().per_page),
        })
    });
    let refresh = RwSignal::new(0u32);
    let screen = Resource::new(move || (query.get(), refresh.get()), |(query, _)| load_accounts(query));
    let rights = RwSignal::new(AdminRights::default());

    let navigate = use_navigate();
    let go = StoredValue::new(move |q: AccountQuery, replace: bool| {
        navigate(&href(&q), NavigateOptions { replace, scroll: false, ..Default::default() })
    });
    let (search, on_search) = url_text_filter(
        "account-search",
        query,
        |q| q.search.clone(),
        move |text| {
            let replace = !query.get_untracked().search.is_empty();
            let q = AccountQuery { search: text, page: 1, ..query.get_untracked() };
            go.with_value(|go| go(q, replace));
        },
    );

    let toasts = use_toasts();
    let suspend = Action::new(|(name, on): &(String, bool)| {
        let (name, on) = (name.clone(), *on);
        async move { suspend_account(name.clone(), on).await.map(|()| (name, on)) }
    });
    Effect::new(move |_| {
        if let Some(result) = suspend.value().get() {
            match result {
                Ok((name, true)) => {
                    toasts.success(format!("Suspended “{name}”: it cannot sign in, and its tokens are refused."))
                }
                Ok((name, false)) => toasts.success(format!("Unsuspended “{name}”.")),
                Err(err) => toasts.error(err.to_string()),
            }
            refresh.update(|n| *n += 1);
        }
    });
    let delete_open = RwSignal::new(false);
    let to_delete = RwSignal::new(None::<(String, u64)>);
    let delete = Action::new(|name: &String| {
        let name = name.clone();
        async move { delete_account(name.clone()).await.map(|tokens| (name, tokens)) }
    });
    Effect::new(move |_| {
        if let Some(result) = delete.value().get() {
            match result {
                Ok((name, tokens)) => toasts.success(format!(
                    "Deleted “{name}” and revoked {tokens} API token{}.",
                    if tokens == 1 { "" } else { "s" }
                )),
                Err(err) => toasts.error(err.to_string()),
            }
            refresh.update(|n| *n += 1);
        }
    });
    let actions = RowActions {
        suspend: Callback::new(move |(name, on): (String, bool)| {
            suspend.dispatch((name, on));
        }),
        delete: Callback::new(move |target: (String, u64)| {
            to_delete.set(Some(target));
            delete_open.set(true);
        }),
    };

    view! {
        <Title text="Accounts" />
        <div class="page-header page-header-row">
            <div>
                <h1>"Accounts"</h1>
                <p class="muted">"Who can sign in, what each account may do, and how many API tokens act for it."</p>
            </div>
            <Show when=move || rights.get().create>
                <A href="/accounts/new" attr:class="button button-primary">"Create account"</A>
            </Show>
        </div>
        <div class="toolbar">
            <div class="search">
                <label for="account-search" class="visually-hidden">"Search accounts by name"</label>
                <input
                    id="account-search"
                    type="search"
                    placeholder="Search by name"
                    autocomplete="off"
                    prop:value=move || search.get()
                    on:input=on_search
                />
            </div>
            <div class="field inline-field">
                <label for="accounts-per-page">"Per page"</label>
                <select id="accounts-per-page" on:change=move |ev| {
                    let per_page = event_target_value(&ev).parse().unwrap_or(20);
                    go.with_value(|go| go(AccountQuery { per_page, page: 1, ..query.get_untracked() }, false));
                }>
                    {PAGE_SIZES.into_iter().map(|size| view! {
                        <option value=size.to_string() selected=move || query.get().per_page == size>{size.to_string()}</option>
                    }).collect_view()}
                </select>
            </div>
        </div>
        <Transition fallback=|| view! { <div class="card table-card" aria-busy="true"><p class="loading-line">"Loading accounts…"</p></div> }>
            {move || Suspend::new(async move {
                match screen.await {
                    Ok(data) => {
                        rights.set(data.rights);
                        view! {
                            <AccountTable data query actions page_to=Callback::new(move |q: AccountQuery| go.with_value(|go| go(q, false))) />
                        }.into_any()
                    }
                    Err(err) => view! {
                        <div class="card state-card" role="alert">
                            <h2>"The accounts could not be loaded"</h2>
                            <p class="muted">{err.to_string()}</p>
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
        <ConfirmDialog
            id="delete-account-dialog"
            open=delete_open
            title=Signal::derive(move || format!("Delete account “{}”?", to_delete.get().map(|t| t.0).unwrap_or_default()))
            confirm_label="Delete account"
            danger=true
            on_confirm=Callback::new(move |()| {
                if let Some((name, _)) = to_delete.get_untracked() {
                    delete.dispatch(name);
                }
            })
        >
            <p>{move || {
                let tokens = to_delete.get().map(|t| t.1).unwrap_or_default();
                match tokens {
                    0 => "It owns no API tokens. The account and its sessions end at once; this cannot be undone.".to_owned(),
                    1 => "Its 1 API token will be revoked, and its sessions end. This cannot be undone.".to_owned(),
                    n => format!("All {n} of its API tokens will be revoked, and its sessions end. This cannot be undone."),
                }
            }}</p>
        </ConfirmDialog>
    }
}

#[derive(Clone, Copy)]
struct RowActions {
    suspend: Callback<(String, bool)>,
    delete: Callback<(String, u64)>,
}

#[component]
fn AccountTable(
    data: AccountsScreen,
    query: Memo<AccountQuery>,
    actions: RowActions,
    page_to: Callback<AccountQuery>,
) -> impl IntoView {
    let page = data.page;
    if page.accounts.is_empty() {
        let search = query.get_untracked().search;
        return view! {
            <section class="card empty-state" aria-live="polite">
                <h2>{format!("No accounts match “{search}”")}</h2>
                <p class="muted">"Search looks at account names, ignoring case."</p>
            </section>
        }
        .into_any();
    }
    let shown = page.accounts.len();
    let current = page.page;
    let rights = data.rights;
    view! {
        <div class="card table-card">
            <div class="table-scroll">
                <table class="accounts-table">
                    <caption class="visually-hidden">"Accounts"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Name"</th>
                            <th scope="col">"State"</th>
                            <th scope="col">"Privileges"</th>
                            <th scope="col">"API tokens"</th>
                            <th scope="col">"Created"</th>
                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody>
                        {page.accounts.into_iter().map(|account| view! { <AccountRow account rights actions /> }).collect_view()}
                    </tbody>
                </table>
            </div>
            <TableFooter total=page.total page=current per_page=page.per_page shown on_page=Callback::new(move |page| {
                page_to.run(AccountQuery { page, ..query.get_untracked() })
            }) />
        </div>
    }
    .into_any()
}

#[component]
fn AccountRow(account: AccountSummary, rights: AdminRights, actions: RowActions) -> impl IntoView {
    let name = account.username.clone();
    let suspended = account.suspended;
    let tokens = account.token_count;
    let may_suspend = rights.suspend && !account.is_self;
    let may_delete = rights.delete && !account.is_self;
    let (suspend_name, delete_name) = (name.clone(), name.clone());
    let href = account_href(&name);
    let link_text = name.clone();
    view! {
        <tr class=if suspended { "row-suspended" } else { "" } data-account=name>
            <th scope="row" class="name-cell">
                <a href=href.clone()>{link_text}</a>
                {account.is_self.then(|| view! { <span class="muted">" (you)"</span> })}
            </th>
            <td>
                {if suspended {
                    view! { <span class="state state-suspended">"Suspended"</span> }.into_any()
                } else {
                    view! { <span class="state state-active">"Active"</span> }.into_any()
                }}
            </td>
            <td>
                <ul class="badges">
                    {account.privileges.iter().map(|p| view! { <li class="badge">{p.clone()}</li> }).collect_view()}
                </ul>
            </td>
            <td class="number-cell">{tokens.to_string()}</td>
            <td class="date-cell">{account.created_at.format("%b %-d, %Y").to_string()}</td>
            <td class="actions">
                <a href=href class="button button-small">"Manage"</a>
                {may_suspend.then(|| view! {
                    <button type="button" class="button button-small" on:click=move |_| actions.suspend.run((suspend_name.clone(), !suspended))>
                        {if suspended { "Unsuspend" } else { "Suspend" }}
                    </button>
                })}
                {may_delete.then(|| view! {
                    <button type="button" class="button button-small button-danger-outline" on:click=move |_| actions.delete.run((delete_name.clone(), tokens))>
                        "Delete"
                    </button>
                })}
            </td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_keeps_only_what_differs_from_the_defaults() {
        assert_eq!(href(&AccountQuery::default()), "/accounts");
        assert_eq!(
            href(&AccountQuery { search: "re seller".into(), page: 2, per_page: 50 }),
            "/accounts?q=re%20seller&page=2&per_page=50"
        );
    }
}
