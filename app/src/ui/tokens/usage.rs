//! The Manage page's Usage card: the last 30 days as a bar chart (accepted and refused calls by day; each bar
//! names its numbers on hover and to screen readers), the same numbers as a table, and the addresses the token
//! was used from.

use crate::api::{DayUsage, UsageSummary};
use leptos::prelude::*;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 140.0;
const AXIS: f64 = 18.0;

#[component]
pub fn UsageCard(usage: UsageSummary) -> impl IntoView {
    let total: u64 = usage.days.iter().map(|d| d.accepted + d.refused).sum();
    let refused: u64 = usage.days.iter().map(|d| d.refused).sum();
    let summary = if total == 0 {
        "No calls in the last 30 days.".to_owned()
    } else {
        format!("{total} call{} in the last 30 days, {refused} refused.", if total == 1 { "" } else { "s" })
    };
    let days = usage.days.clone();
    view! {
        <section class="card usage" aria-labelledby="usage-heading">
            <h2 id="usage-heading">"Usage"</h2>
            <p class="muted" data-testid="usage-summary">{summary}</p>
            <Chart days=usage.days />
            <details class="usage-table">
                <summary>"Show the numbers as a table"</summary>
                <table>
                    <caption class="visually-hidden">"Calls per day over the last 30 days"</caption>
                    <thead><tr><th scope="col">"Day"</th><th scope="col">"Accepted"</th><th scope="col">"Refused"</th></tr></thead>
                    <tbody>
                        {days.into_iter().rev().map(|d| view! {
                            <tr><th scope="row">{d.day}</th><td>{d.accepted}</td><td>{d.refused}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </details>
            <h3>"Addresses"</h3>
            {if usage.addresses.is_empty() {
                view! { <p class="muted">"Not used yet."</p> }.into_any()
            } else {
                view! {
                    <table class="addresses-table">
                        <caption class="visually-hidden">"The latest addresses this token was used from"</caption>
                        <thead><tr><th scope="col">"Address"</th><th scope="col">"First seen"</th><th scope="col">"Last seen"</th></tr></thead>
                        <tbody>
                            {usage.addresses.into_iter().map(|a| view! {
                                <tr><th scope="row"><code>{a.ip}</code></th><td>{a.first_seen}</td><td>{a.last_seen}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn Chart(days: Vec<DayUsage>) -> impl IntoView {
    let peak = days.iter().map(|d| d.accepted + d.refused).max().unwrap_or(0).max(1);
    let slot = WIDTH / days.len().max(1) as f64;
    let bar = (slot * 0.7).max(1.0);
    let scale = |n: u64| n as f64 / peak as f64 * (HEIGHT - AXIS);
    let first = days.first().map(|d| d.day.clone()).unwrap_or_default();
    let last = days.last().map(|d| d.day.clone()).unwrap_or_default();
    let bars = days
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let x = i as f64 * slot + (slot - bar) / 2.0;
            let accepted = scale(d.accepted);
            let refused = scale(d.refused);
            let base = HEIGHT - AXIS;
            let label = format!("{}: {} accepted, {} refused", d.day, d.accepted, d.refused);
            view! {
                <g class="usage-day" data-day=d.day.clone()>
                    <title>{label}</title>
                    // The whole slot answers the hover, even on days without calls.
                    <rect class="usage-hit" x=format!("{:.1}", i as f64 * slot) y="0" width=format!("{slot:.1}") height=format!("{base:.1}") />
                    <rect class="usage-accepted" x=format!("{x:.1}") y=format!("{:.1}", base - accepted) width=format!("{bar:.1}") height=format!("{accepted:.1}") />
                    <rect class="usage-refused" x=format!("{x:.1}") y=format!("{:.1}", base - accepted - refused) width=format!("{bar:.1}") height=format!("{refused:.1}") />
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="usage-chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label="Calls per day over the last 30 days: accepted and refused" preserveAspectRatio="none">
                <line class="usage-axis" x1="0" x2=format!("{WIDTH}") y1=format!("{}", HEIGHT - AXIS) y2=format!("{}", HEIGHT - AXIS) />
                {bars}
                <text class="usage-label" x="0" y=format!("{}", HEIGHT - 4.0)>{first}</text>
                <text class="usage-label" x=format!("{WIDTH}") y=format!("{}", HEIGHT - 4.0) text-anchor="end">{last}</text>
                <text class="usage-label" x="0" y="10">{format!("{peak} a day")}</text>
            </svg>
            <figcaption class="usage-legend">
                <span class="legend-swatch usage-accepted-swatch" aria-hidden="true"></span>"Accepted "
                <span class="legend-swatch usage-refused-swatch" aria-hidden="true"></span>"Refused"
            </figcaption>
        </figure>
    }
}
