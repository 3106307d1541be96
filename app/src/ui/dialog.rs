//! A modal confirmation dialog on the native `<dialog>`: the browser traps focus inside it and closes it on
//! Escape; we put focus back where it was when it closes.

use leptos::{html, prelude::*};

#[component]
pub fn ConfirmDialog(
    /// Unique on the page; names the dialog's title element.
    #[prop(into)]
    id: String,
    /// Opens and closes the dialog.
    open: RwSignal<bool>,
    #[prop(into)] title: Signal<String>,
    #[prop(into)] confirm_label: Signal<String>,
    /// Red confirm button for destructive actions.
    #[prop(optional)]
    danger: bool,
    #[prop(into)] on_confirm: Callback<()>,
    children: ChildrenFn,
) -> impl IntoView {
    let dialog = NodeRef::<html::Dialog>::new();
    #[cfg(feature = "hydrate")]
    {
        let opener: StoredValue<Option<web_sys::HtmlElement>, LocalStorage> = StoredValue::new_local(None);
        Effect::new(move |_| {
            use wasm_bindgen::JsCast;
            let Some(el) = dialog.get() else { return };
            if open.get() {
                if !el.open() {
                    let active = document().active_element().and_then(|a| a.dyn_into::<web_sys::HtmlElement>().ok());
                    opener.set_value(active);
                    let _ = el.show_modal();
                }
            } else if el.open() {
                el.close();
                if let Some(previous) = opener.get_value() {
                    let _ = previous.focus();
                }
            }
        });
    }
    let title_id = format!("{id}-title");
    let labelled_by = title_id.clone();
    let button_class = if danger { "button button-danger" } else { "button button-primary" };
    view! {
        <dialog node_ref=dialog id=id class="dialog" aria-labelledby=labelled_by on:close=move |_| open.set(false)>
            <h2 id=title_id>{move || title.get()}</h2>
            <div class="dialog-body">{children()}</div>
            <div class="dialog-actions">
                <button type="button" class="button" on:click=move |_| open.set(false)>"Cancel"</button>
                <button
                    type="button"
                    class=button_class
                    on:click=move |_| {
                        open.set(false);
                        on_confirm.run(());
                    }
                >
                    {move || confirm_label.get()}
                </button>
            </div>
        </dialog>
    }
}
