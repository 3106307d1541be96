//! What the URL-driven lists (tokens, accounts, audit log) share: an address built from the query parts that
//! differ from the defaults, and text boxes that show typing at once and move the URL at a steady pace.

use super::browser;
use leptos::prelude::*;
use std::time::Duration;

/// While typing goes on, a text filter changes the URL (and so the list) at most this often; the first keystroke
/// after a pause changes it at once (issue 17: the filtered rows within 150 ms of a keystroke).
pub const TYPING_DELAY: Duration = Duration::from_millis(250);

/// `path`, with `parts` as its query in that order; values are percent-encoded, and empty ones are left out so
/// default filters keep the address short.
pub fn query_href(path: &str, parts: &[(&str, String)]) -> String {
    let query: Vec<String> = parts
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| format!("{key}={}", encode(value)))
        .collect();
    if query.is_empty() { path.to_owned() } else { format!("{path}?{}", query.join("&")) }
}

/// `value` as query text, or empty (left out of the address) when it is the default.
pub fn unless_default<T: PartialEq + std::fmt::Display>(value: T, default: T) -> String {
    if value == default { String::new() } else { value.to_string() }
}

/// A text filter kept in the URL: the returned signal holds what the box shows, the handler goes on its `input`
/// event. Typed text shows at once; `commit` gets it (to put it into the URL) at once after a pause in typing,
/// else at most once per [`TYPING_DELAY`], always with the latest text. When the URL
/// changes otherwise (Back, Forward, a link), the box follows it. `key` names the pause timer, one per box.
pub fn url_text_filter<Q>(
    key: &'static str,
    query: Memo<Q>,
    pick: fn(&Q) -> String,
    commit: impl Fn(String) + Copy + 'static,
) -> (RwSignal<String>, impl Fn(leptos::ev::Event) + Copy + 'static)
where
    Q: Clone + PartialEq + Send + Sync + 'static,
{
    let value = RwSignal::new(query.with_untracked(pick));
    // Leaving the page drops a pending commit: it would navigate back to this list.
    on_cleanup(move || browser::cancel(key));
    Effect::new(move |_| {
        let from_url = query.with(pick);
        if from_url != value.get_untracked() {
            value.set(from_url);
        }
    });
    let on_input = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        value.set(text.clone());
        browser::at_once_then_paced(key, TYPING_DELAY, move || commit(text));
    };
    (value, on_input)
}

/// Percent-encodes a value for a URL query (people type anything into a search box).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::query_href;

    #[test]
    fn empty_parts_are_left_out_and_values_encoded() {
        assert_eq!(query_href("/tokens", &[("q", String::new()), ("page", String::new())]), "/tokens");
        assert_eq!(
            query_href("/audit", &[("q", "a b&c".into()), ("actor", String::new()), ("page", "2".into())]),
            "/audit?q=a%20b%26c&page=2"
        );
    }
}
