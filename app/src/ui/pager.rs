//! The footer of every paged table: "21–40 of 134", and Previous / Page n of m / Next.

use leptos::prelude::*;

#[component]
pub fn TableFooter(
    /// Matching rows on all pages.
    total: u64,
    /// The page shown, from 1.
    page: u64,
    per_page: u64,
    /// Rows on this page.
    shown: usize,
    /// Asked to show another page.
    on_page: Callback<u64>,
    /// Extra controls before the buttons (e.g. a page-size picker).
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    let first = (page - 1) * per_page + 1;
    let last = first + shown as u64 - 1;
    let pages = total.div_ceil(per_page).max(1);
    view! {
        <div class="table-footer">
            <span class="range" aria-live="polite">{format!("{first}–{last} of {total}")}</span>
            <div class="pager">
                {children.map(|children| children())}
                <button type="button" class="button" disabled={page <= 1} on:click=move |_| on_page.run(page - 1)>
                    "Previous"
                </button>
                <span class="muted">{format!("Page {page} of {pages}")}</span>
                <button type="button" class="button" disabled={page >= pages} on:click=move |_| on_page.run(page + 1)>
                    "Next"
                </button>
            </div>
        </div>
    }
}
