//! Form fields shared by Create and Manage: name with counter and live rules, IP allowlist with per-entry
//! errors, privilege checkboxes with warnings. Each validates with the same domain rules the server applies.

use crate::{
    api::{PrivilegeOption, check_token_name},
    domain::{IpAllowlist, NAME_MAX_LEN, TokenName},
    ui::browser,
};
use leptos::prelude::*;
use std::{collections::BTreeSet, time::Duration};

/// How long typing pauses before the server is asked whether the name is taken.
const NAME_CHECK_DELAY: Duration = Duration::from_millis(300);
const NAME_CHECK_KEY: &str = "token-name-check";

/// Drops the pending check of the name typed last: the form is being sent, and the server checks the name itself.
/// A check sent after the token is created (or renamed) would find the name taken by it.
pub fn skip_name_check() {
    browser::cancel(NAME_CHECK_KEY);
}

/// The rule a name breaks, if any.
pub fn name_problem(name: &str) -> Option<String> {
    TokenName::parse(name).err().map(|e| e.to_string())
}

/// Each problem of an allowlist, as "line N: …".
pub fn allowlist_problems(text: &str) -> Vec<String> {
    match IpAllowlist::parse(text) {
        Ok(_) => Vec::new(),
        Err(err) if err.problems().is_empty() => vec![err.to_string()],
        Err(err) => err.problems().iter().map(|p| format!("line {}: {}", p.line, p.message)).collect(),
    }
}

#[component]
pub fn NameField(
    value: RwSignal<String>,
    /// An error from the server for this field (e.g. "already in use"); cleared when the name changes.
    server_error: RwSignal<Option<String>>,
    /// When renaming: the token's name now, which it may keep.
    #[prop(optional, into)]
    current: Option<String>,
) -> impl IntoView {
    let touched = RwSignal::new(false);
    // Ask the server whether a well-formed name is taken once typing pauses; an answer for a name that has
    // been changed since is dropped.
    // The check outlives the field when the page moves on (a rename navigates to the new name): the pending
    // timer is cancelled with the field, and an answer arriving later finds its signals gone and is dropped.
    let current = StoredValue::new(current);
    on_cleanup(|| browser::cancel(NAME_CHECK_KEY));
    Effect::new(move |_| {
        let name = value.get();
        let current = current.get_value();
        if current.as_deref() == Some(name.as_str()) || name_problem(&name).is_some() {
            return;
        }
        browser::debounce(NAME_CHECK_KEY, NAME_CHECK_DELAY, move || {
            leptos::task::spawn_local(async move {
                let message = match check_token_name(name.clone(), current).await {
                    Ok(taken) => taken,
                    Err(err) => err.for_field("name"),
                };
                if value.try_get_untracked().is_some_and(|now| now == name)
                    && let Some(message) = message
                {
                    server_error.try_set(Some(message));
                }
            });
        });
    });
    let error = move || {
        server_error
            .get()
            .or_else(|| (touched.get() || !value.get().is_empty()).then(|| name_problem(&value.get())).flatten())
    };
    view! {
        <div class="field">
            <label for="token-name">"Name"</label>
            <div class="hint" id="token-name-hint">
                "Letters, digits, hyphens and underscores; up to 50 characters; unique among your tokens."
            </div>
            <input
                id="token-name"
                type="text"
                autocomplete="off"
                spellcheck="false"
                aria-describedby="token-name-hint token-name-count token-name-error"
                aria-invalid=move || error().is_some().to_string()
                prop:value=move || value.get()
                on:input=move |ev| {
                    value.set(event_target_value(&ev));
                    server_error.set(None);
                }
                on:blur=move |_| touched.set(true)
            />
            <div class="field-footer">
                <p id="token-name-error" class="field-error" aria-live="polite">{error}</p>
                <span
                    id="token-name-count"
                    class=move || { if value.get().chars().count() > NAME_MAX_LEN { "counter over" } else { "counter" } }
                >
                    {move || format!("{}/{NAME_MAX_LEN}", value.get().chars().count())}
                </span>
            </div>
        </div>
    }
}

#[component]
pub fn AllowlistField(value: RwSignal<String>, server_error: RwSignal<Option<String>>) -> impl IntoView {
    let problems = Memo::new(move |_| allowlist_problems(&value.get()));
    view! {
        <div class="field">
            <label for="token-allowlist">"IP allowlist"</label>
            <div class="hint" id="token-allowlist-hint">
                "Addresses or CIDR ranges (IPv4 or IPv6), one per line or separated by commas or spaces. "
                "Leave empty to allow any address."
            </div>
            <textarea
                id="token-allowlist"
                rows="4"
                spellcheck="false"
                placeholder="203.0.113.7\n10.0.0.0/8\n2001:db8::/32"
                aria-describedby="token-allowlist-hint token-allowlist-error"
                aria-invalid=move || (!problems.get().is_empty() || server_error.get().is_some()).to_string()
                prop:value=move || value.get()
                on:input=move |ev| {
                    value.set(event_target_value(&ev));
                    server_error.set(None);
                }
            ></textarea>
            <div id="token-allowlist-error" class="field-error" aria-live="polite">
                {move || {
                    let mut lines = problems.get();
                    lines.extend(server_error.get());
                    if lines.is_empty() {
                        let any = value.get().trim().is_empty();
                        view! { <p class="field-note">{if any { "Any address" } else { "" }}</p> }.into_any()
                    } else {
                        view! { <ul>{lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul> }.into_any()
                    }
                }}
            </div>
        </div>
    }
}

/// The optional rate limit: `N/second`, `N/minute` or `N/hour`, checked as typed.
#[component]
pub fn RateLimitField(value: RwSignal<String>, server_error: RwSignal<Option<String>>) -> impl IntoView {
    let problem = Memo::new(move |_| {
        server_error
            .get()
            .or_else(|| crate::domain::RateLimit::parse_optional(&value.get()).err().map(|e| e.to_string()))
    });
    view! {
        <div class="field">
            <label for="token-rate-limit">"Rate limit (optional)"</label>
            <div class="hint" id="token-rate-limit-hint">
                "At most this many calls, e.g. 100/minute (or /second, /hour): a burst of that many, then an even pace. "
                "Empty: unlimited. Each Tessera instance counts the calls it answers."
            </div>
            <input
                id="token-rate-limit"
                type="text"
                autocomplete="off"
                spellcheck="false"
                placeholder="100/minute"
                aria-describedby="token-rate-limit-hint token-rate-limit-error"
                aria-invalid=move || problem.get().is_some().to_string()
                prop:value=move || value.get()
                on:input=move |ev| {
                    value.set(event_target_value(&ev));
                    server_error.set(None);
                }
            />
            <p id="token-rate-limit-error" class="field-error" aria-live="polite">{move || problem.get()}</p>
        </div>
    }
}

#[component]
pub fn PrivilegesField(
    options: Vec<PrivilegeOption>,
    chosen: RwSignal<BTreeSet<String>>,
    server_error: RwSignal<Option<String>>,
    /// Shown beside dangerous privileges.
    #[prop(into, default = "Dangerous: a token with this privilege can take over the account.".into())]
    warning: String,
) -> impl IntoView {
    let error = move || {
        server_error.get().or_else(|| chosen.get().is_empty().then(|| "Choose at least one privilege.".to_owned()))
    };
    view! {
        <fieldset class="field privileges" aria-describedby="token-privileges-error">
            <legend>"Privileges"</legend>
            <div class="privilege-grid">
                {options
                    .into_iter()
                    .map(|option| {
                        let name = option.name.clone();
                        let id = format!("privilege-{}", option.name);
                        let label_for = id.clone();
                        let warning = warning.clone();
                        let checked = {
                            let name = name.clone();
                            move || chosen.get().contains(&name)
                        };
                        view! {
                            <label class="privilege" for=label_for>
                                <input
                                    id=id
                                    type="checkbox"
                                    value=option.name.clone()
                                    prop:checked=checked
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        let name = name.clone();
                                        chosen.update(|set| {
                                            if on { set.insert(name); } else { set.remove(&name); }
                                        });
                                        server_error.set(None);
                                    }
                                />
                                <span class="privilege-text">
                                    <span class="privilege-label">{option.label}</span>
                                    <code>{option.name}</code>
                                    {option.dangerous.then(|| view! {
                                        <span class="warning-text">
                                            <span class="warning-icon" aria-hidden="true">"⚠"</span>
                                            {warning}
                                        </span>
                                    })}
                                </span>
                            </label>
                        }
                    })
                    .collect_view()}
            </div>
            <p id="token-privileges-error" class="field-error" aria-live="polite">{error}</p>
        </fieldset>
    }
}
