//! What the tokens page says before the table: leaked tokens that were revoked (red, until dismissed), and tokens
//! about to expire (yellow, each with Rotate one click away, and a link to the list of them).

use super::manage_href;
use crate::api::{EXPIRING_DAYS, LeakNotice, TokenRow, dismiss_leak};
use crate::ui::toast::use_toasts;
use leptos::prelude::*;

#[component]
pub fn TokenNotices(
    leaks: Vec<LeakNotice>,
    expiring: Vec<TokenRow>,
    expiring_total: u64,
    /// The list already shows only the expiring tokens.
    filtered: bool,
    /// Called after a notice is dismissed, to reload the page's data.
    on_change: Callback<()>,
) -> impl IntoView {
    let toasts = use_toasts();
    let dismiss = Action::new(|id: &i64| dismiss_leak(*id));
    Effect::new(move |_| {
        if let Some(result) = dismiss.value().get() {
            match result {
                Ok(()) => on_change.run(()),
                Err(err) => toasts.error(format!("Could not dismiss: {err}")),
            }
        }
    });
    let leaks = leaks
        .into_iter()
        .map(|leak| {
            let id = leak.id;
            let place = match (&leak.url, &leak.source) {
                (Some(url), _) => view! {
                    " at "<a href=url.clone() rel="noopener noreferrer nofollow" target="_blank" class="leak-url">{url.clone()}</a>
                }
                .into_any(),
                (None, Some(source)) => view! { {format!(" in {source}")} }.into_any(),
                (None, None) => ().into_any(),
            };
            view! {
                <div class="banner banner-danger" role="alert" data-leak=leak.token_name.clone()>
                    <p>
                        <strong>{format!("API token “{}” was found in public", leak.token_name)}</strong>
                        {place}
                        {format!(" ({}) and has been revoked.", leak.reported)}
                        " Create a new token for whatever used it, and keep its secret out of code and logs."
                    </p>
                    <button type="button" class="button" on:click=move |_| { dismiss.dispatch(id); } disabled=move || dismiss.pending().get()>
                        "Dismiss"
                    </button>
                </div>
            }
        })
        .collect_view();
    let expiring_banner = (expiring_total > 0 && !filtered).then(|| {
        let title = if expiring_total == 1 {
            format!("1 token expires within {EXPIRING_DAYS} days")
        } else {
            format!("{expiring_total} tokens expire within {EXPIRING_DAYS} days")
        };
        view! {
            <div class="banner banner-warning" role="status">
                <div>
                    <p><strong><a href="/tokens?expiring=true">{title}</a></strong></p>
                    <ul class="expiring-list">
                        {expiring.into_iter().map(|row| {
                            let name = row.token.name.clone();
                            let when = row.notice.clone().or(row.expires.clone()).unwrap_or_default();
                            view! {
                                <li>
                                    <code>{name.clone()}</code>
                                    <span class="muted">{format!(" · {when} · ")}</span>
                                    <a href=format!("{}#rotate", manage_href(&name)) aria-label=format!("Rotate {name}")>"Rotate"</a>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </div>
            </div>
        }
    });
    view! {
        {leaks}
        {expiring_banner}
    }
}
