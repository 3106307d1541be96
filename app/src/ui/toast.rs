//! Toasts: short success and error messages in the upper-right corner, announced to screen readers, gone
//! after a few seconds or when dismissed.

use super::browser;
use leptos::prelude::*;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Success,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    id: u64,
    kind: ToastKind,
    message: String,
}

/// The app's toasts; provided once by `App`.
#[derive(Clone, Copy)]
pub struct Toasts {
    list: RwSignal<Vec<Toast>>,
    next: StoredValue<u64>,
}

impl Toasts {
    pub fn new() -> Self {
        Self { list: RwSignal::new(Vec::new()), next: StoredValue::new(0) }
    }

    pub fn success(&self, message: impl Into<String>) {
        self.push(ToastKind::Success, message.into());
    }

    pub fn error(&self, message: impl Into<String>) {
        self.push(ToastKind::Error, message.into());
    }

    fn push(&self, kind: ToastKind, message: String) {
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        self.list.update(|list| list.push(Toast { id, kind, message }));
        let list = self.list;
        browser::after(Duration::from_secs(6), move || list.update(|l| l.retain(|t| t.id != id)));
    }

    fn dismiss(&self, id: u64) {
        self.list.update(|l| l.retain(|t| t.id != id));
    }
}

impl Default for Toasts {
    fn default() -> Self {
        Self::new()
    }
}

pub fn use_toasts() -> Toasts {
    expect_context::<Toasts>()
}

/// The live regions toasts appear in: polite for successes, assertive for errors.
#[component]
pub fn ToastRegion() -> impl IntoView {
    let toasts = use_toasts();
    let of_kind = move |kind: ToastKind| {
        move || {
            toasts
                .list
                .get()
                .into_iter()
                .filter(|t| t.kind == kind)
                .map(|toast| {
                    let id = toast.id;
                    let class = match toast.kind {
                        ToastKind::Success => "toast toast-success",
                        ToastKind::Error => "toast toast-error",
                    };
                    view! {
                        <div class=class>
                            <span class="toast-message">{toast.message}</span>
                            <button type="button" class="toast-close" aria-label="Dismiss" on:click=move |_| toasts.dismiss(id)>
                                "×"
                            </button>
                        </div>
                    }
                })
                .collect_view()
        }
    };
    view! {
        <div class="toasts">
            <div role="status" aria-live="polite">{of_kind(ToastKind::Success)}</div>
            <div role="alert" aria-live="assertive">{of_kind(ToastKind::Error)}</div>
        </div>
    }
}
