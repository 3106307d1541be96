//! A calendar date picker of our own, following the WAI-ARIA date picker dialog pattern: a text field for
//! typed `YYYY-MM-DD`, a button that opens a month grid, arrows/PageUp/PageDown/Home/End to move, Enter to
//! choose, Escape to close, focus back on the button. Past days are disabled, today is marked.

use chrono::{Datelike, Days, Months, NaiveDate};
use leptos::{html, prelude::*};

const WEEKDAYS: [(&str, &str); 7] = [
    ("Su", "Sunday"),
    ("Mo", "Monday"),
    ("Tu", "Tuesday"),
    ("We", "Wednesday"),
    ("Th", "Thursday"),
    ("Fr", "Friday"),
    ("Sa", "Saturday"),
];

fn parse(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

/// The 6×7 days shown for the month of `month`, starting on a Sunday.
fn grid(month: NaiveDate) -> Vec<NaiveDate> {
    let first = month.with_day(1).unwrap_or(month);
    let back = u64::from(first.weekday().num_days_from_sunday());
    let start = first.checked_sub_days(Days::new(back)).unwrap_or(first);
    (0..42).filter_map(|i| start.checked_add_days(Days::new(i))).collect()
}

fn add_months(date: NaiveDate, months: i32) -> NaiveDate {
    if months >= 0 {
        date.checked_add_months(Months::new(months.unsigned_abs()))
    } else {
        date.checked_sub_months(Months::new(months.unsigned_abs()))
    }
    .unwrap_or(date)
}

fn add_days(date: NaiveDate, days: i64) -> NaiveDate {
    if days >= 0 {
        date.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        date.checked_sub_days(Days::new(days.unsigned_abs()))
    }
    .unwrap_or(date)
}

/// Where a key press moves the focused day, if it is a navigation key.
fn step(focused: NaiveDate, key: &str, shift: bool) -> Option<NaiveDate> {
    Some(match key {
        "ArrowLeft" => add_days(focused, -1),
        "ArrowRight" => add_days(focused, 1),
        "ArrowUp" => add_days(focused, -7),
        "ArrowDown" => add_days(focused, 7),
        "PageUp" => add_months(focused, if shift { -12 } else { -1 }),
        "PageDown" => add_months(focused, if shift { 12 } else { 1 }),
        "Home" => add_days(focused, -i64::from(focused.weekday().num_days_from_sunday())),
        "End" => add_days(focused, 6 - i64::from(focused.weekday().num_days_from_sunday())),
        _ => return None,
    })
}

#[component]
pub fn DatePicker(
    /// The field's id (its label points at it).
    #[prop(into)]
    id: String,
    /// The typed or chosen date, `YYYY-MM-DD`; kept in sync both ways.
    value: RwSignal<String>,
    /// The earliest day that can be chosen.
    #[prop(into)]
    min: Signal<NaiveDate>,
    /// Ids of elements describing the field (hints, errors).
    #[prop(into, optional)]
    described_by: String,
    /// Whether the field currently holds an error.
    #[prop(into)]
    invalid: Signal<bool>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let focused = RwSignal::new(min.get_untracked());
    let dialog = NodeRef::<html::Div>::new();
    let button_id = format!("{id}-button");
    let dialog_id = format!("{id}-calendar");
    let label_id = format!("{id}-month");

    let open_calendar = move || {
        let start = parse(&value.get_untracked()).filter(|d| *d >= min.get_untracked()).unwrap_or(min.get_untracked());
        focused.set(start);
        open.set(true);
    };
    let close = {
        let button_id = button_id.clone();
        move || {
            open.set(false);
            super::browser::focus(&format!("#{button_id}"));
        }
    };
    let choose = {
        let close = close.clone();
        move |day: NaiveDate| {
            if day >= min.get_untracked() {
                value.set(day.format("%Y-%m-%d").to_string());
                close();
            }
        }
    };

    // A press anywhere outside the picker closes the calendar, leaving focus where the press put it.
    let picker = NodeRef::<html::Div>::new();
    let outside_press = window_event_listener(leptos::ev::pointerdown, move |ev| {
        if !open.get_untracked() {
            return;
        }
        use leptos::wasm_bindgen::JsCast;
        let target = ev.target().and_then(|t| t.dyn_into::<leptos::web_sys::Node>().ok());
        if let Some(picker) = picker.get_untracked()
            && !picker.contains(target.as_ref())
        {
            open.set(false);
        }
    });
    on_cleanup(move || outside_press.remove());

    // After the focused day changes (or the calendar opens), move keyboard focus onto it.
    Effect::new(move |_| {
        let day = focused.get();
        if open.get() && dialog.get().is_some() {
            super::browser::focus(&format!("[data-date=\"{}\"]", day.format("%Y-%m-%d")));
        }
    });

    let on_keydown = {
        let dialog_selector = dialog_id.clone();
        let close = close.clone();
        let choose = choose.clone();
        move |ev: leptos::ev::KeyboardEvent| {
            let key = ev.key();
            if key == "Escape" {
                ev.prevent_default();
                close();
            } else if key == "Enter" || key == " " {
                // Buttons in the header handle their own activation.
                let on_day = event_target::<leptos::web_sys::Element>(&ev).get_attribute("data-date").is_some();
                if on_day {
                    ev.prevent_default();
                    choose(focused.get_untracked());
                }
            } else if key == "Tab" {
                // Keep focus inside the dialog: header buttons → grid → close button, round and round.
                if super::browser::wrap_focus(&format!("#{dialog_selector}"), ev.shift_key()) {
                    ev.prevent_default();
                }
            } else if let Some(next) = step(focused.get_untracked(), &key, ev.shift_key()) {
                let on_day = event_target::<leptos::web_sys::Element>(&ev).get_attribute("data-date").is_some();
                if on_day {
                    ev.prevent_default();
                    focused.set(next);
                }
            }
        }
    };

    let month_label = move || focused.get().format("%B %Y").to_string();
    let shift = move |months: i32| focused.update(|d| *d = add_months(*d, months));
    let today = move || min.get();

    view! {
        <div class="date-picker" node_ref=picker>
            <div class="date-input">
                <input
                    id=id.clone()
                    type="text"
                    inputmode="numeric"
                    placeholder="YYYY-MM-DD"
                    autocomplete="off"
                    maxlength="10"
                    aria-describedby=described_by
                    aria-invalid=move || invalid.get().to_string()
                    prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))
                />
                <button
                    id=button_id
                    type="button"
                    class="button calendar-button"
                    aria-haspopup="dialog"
                    aria-expanded=move || open.get().to_string()
                    aria-controls=dialog_id.clone()
                    on:click={
                        let close = close.clone();
                        move |_| if open.get_untracked() { close() } else { open_calendar() }
                    }
                >
                    <span aria-hidden="true" class="calendar-icon"></span>
                    <span class="visually-hidden">"Choose date"</span>
                </button>
            </div>
            <Show when=move || open.get()>
                <div
                    node_ref=dialog
                    id=dialog_id.clone()
                    class="calendar"
                    role="dialog"
                    aria-modal="true"
                    aria-labelledby=label_id.clone()
                    on:keydown=on_keydown.clone()
                >
                    <div class="calendar-header">
                        <button type="button" class="calendar-nav" aria-label="Previous year" on:click=move |_| shift(-12)>"«"</button>
                        <button type="button" class="calendar-nav" aria-label="Previous month" on:click=move |_| shift(-1)>"‹"</button>
                        <h3 id=label_id.clone() class="calendar-month" aria-live="polite">{month_label}</h3>
                        <button type="button" class="calendar-nav" aria-label="Next month" on:click=move |_| shift(1)>"›"</button>
                        <button type="button" class="calendar-nav" aria-label="Next year" on:click=move |_| shift(12)>"»"</button>
                    </div>
                    <table class="calendar-grid" role="grid" aria-labelledby=label_id.clone()>
                        <thead>
                            <tr>
                                {WEEKDAYS.iter().map(|(short, long)| view! { <th scope="col" abbr=*long>{*short}</th> }).collect_view()}
                            </tr>
                        </thead>
                        <tbody>
                            {let choose = choose.clone(); move || {
                                let shown = focused.get();
                                let selected = parse(&value.get());
                                let days = grid(shown);
                                days.chunks(7).map(|week| {
                                    let week = week.to_vec();
                                    let choose = choose.clone();
                                    view! {
                                        <tr>
                                            {week.into_iter().map(|day| {
                                                let choose = choose.clone();
                                                let disabled = day < today();
                                                let outside = day.month() != shown.month();
                                                let is_today = day == today();
                                                let is_selected = selected == Some(day);
                                                let is_focused = day == shown;
                                                let mut class = String::from("calendar-day");
                                                if outside { class.push_str(" outside"); }
                                                if is_today { class.push_str(" today"); }
                                                if is_selected { class.push_str(" selected"); }
                                                let label = format!(
                                                    "{}, {}{}",
                                                    day.format("%A, %B %-d, %Y"),
                                                    if is_today { "today" } else { "" },
                                                    if disabled { " (in the past)" } else { "" }
                                                );
                                                let label = label.replace(", (", " (").trim_end_matches(", ").to_owned();
                                                view! {
                                                    <td role="gridcell" aria-selected=is_selected.to_string()>
                                                        <button
                                                            type="button"
                                                            class=class
                                                            data-date=day.format("%Y-%m-%d").to_string()
                                                            tabindex=if is_focused { "0" } else { "-1" }
                                                            aria-label=label
                                                            aria-current=is_today.then_some("date")
                                                            aria-disabled=disabled.to_string()
                                                            on:click=move |_| {
                                                                if !disabled {
                                                                    focused.set(day);
                                                                    choose(day);
                                                                }
                                                            }
                                                        >
                                                            {day.day()}
                                                        </button>
                                                    </td>
                                                }
                                            }).collect_view()}
                                        </tr>
                                    }
                                }).collect_view()
                            }}
                        </tbody>
                    </table>
                    <div class="calendar-footer">
                        <span class="muted">"Arrow keys move, Enter chooses, Esc closes."</span>
                        <button type="button" class="button button-quiet" on:click={
                            let close = close.clone();
                            move |_| close()
                        }>"Close"</button>
                    </div>
                </div>
            </Show>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    fn date(s: &str) -> NaiveDate {
        parse(s).unwrap()
    }

    #[test]
    fn the_grid_starts_on_the_sunday_before_the_first() {
        let days = grid(date("2026-11-22"));
        assert_eq!(days.len(), 42);
        assert_eq!(days[0], date("2026-11-01"), "1 November 2026 is a Sunday");
        let days = grid(date("2027-02-10"));
        assert_eq!(days[0], date("2027-01-31"));
        assert_eq!(days[0].weekday(), Weekday::Sun);
    }

    #[test]
    fn keys_move_as_the_aria_pattern_says() {
        let d = date("2026-11-25"); // a Wednesday
        assert_eq!(step(d, "ArrowLeft", false), Some(date("2026-11-24")));
        assert_eq!(step(d, "ArrowDown", false), Some(date("2026-12-02")));
        assert_eq!(step(d, "PageUp", false), Some(date("2026-10-25")));
        assert_eq!(step(d, "PageDown", true), Some(date("2027-11-25")));
        assert_eq!(step(d, "Home", false), Some(date("2026-11-22")));
        assert_eq!(step(d, "End", false), Some(date("2026-11-28")));
        assert_eq!(step(date("2026-01-31"), "PageDown", false), Some(date("2026-02-28")), "clamped to the month");
        assert_eq!(step(d, "x", false), None);
    }
}
