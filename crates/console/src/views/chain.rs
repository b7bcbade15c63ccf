//! A run's trigger chain (`[[trigger]]`) as the header and the Runs tab say it: the
//! event that started the run, and the runs its end started.
use super::common::text_width;
use crate::app::{UiState, short_id};
use baton_model::RunView;
use baton_model::view::TriggerLink;

/// Up to this many runs its end started are named; more are counted.
const NAMED: usize = 3;

/// The event as shown: sanitised, a run's full id (26 characters) as the store tells
/// it apart (`run 01JXQY8A of build succeeded`).
pub(crate) fn event_text(ui: &UiState, e: &TriggerLink) -> String {
    let event = baton_model::sanitize::for_terminal(&e.event);
    event
        .split(' ')
        .map(
            |w| match w.len() == 26 && w.bytes().all(|b| b.is_ascii_alphanumeric()) {
                true => short_id(w, &ui.run_ids),
                false => w,
            },
        )
        .collect::<Vec<_>>()
        .join(" ")
}

/// The Runs tab's mark of a run a trigger started: its kind of event.
pub(crate) fn mark(e: &TriggerLink) -> String {
    let kind = match e.kind.as_str() {
        "run_ended" => "run",
        other => other,
    };
    format!("⇢ {}", baton_model::sanitize::for_terminal(kind))
}

/// The header's words for the run's chain, the longest that fits in `room` columns:
/// `started by publish#1: run 01JXQY8A of build succeeded · started run 01JXR3T5`,
/// down to `⇢ publish#1 · started 3 runs`; none when it has no links or none fits.
pub(crate) fn header_text(view: &RunView, ui: &UiState, room: usize) -> Option<String> {
    let t = &view.triggers;
    let clean = baton_model::sanitize::for_terminal;
    let by = t.started_by.as_ref().map(|e| {
        (
            format!("started by {}: {}", clean(&e.trigger), event_text(ui, e)),
            format!("⇢ {}", clean(&e.trigger)),
        )
    });
    let runs: Vec<&str> = t.started.iter().filter_map(|e| e.run.as_deref()).collect();
    let started = match runs.len() {
        0 => None,
        n => {
            let count = super::common::count(n, "run", "runs");
            let named = (n <= NAMED).then(|| {
                let ids: Vec<&str> = runs.iter().map(|r| short_id(r, &ui.run_ids)).collect();
                format!("started run {}", ids.join(", run "))
            });
            Some((
                named.unwrap_or(format!("started {count}")),
                format!("→ {count}"),
            ))
        }
    };
    let join = |a: Option<&String>, b: Option<&String>| match (a, b) {
        (Some(a), Some(b)) => format!("{a} · {b}"),
        (Some(a), None) | (None, Some(a)) => a.clone(),
        (None, None) => String::new(),
    };
    let (by_long, by_short) = (by.as_ref().map(|b| &b.0), by.as_ref().map(|b| &b.1));
    let (st_long, st_short) = (
        started.as_ref().map(|s| &s.0),
        started.as_ref().map(|s| &s.1),
    );
    [
        join(by_long, st_long),
        join(by_long, st_short),
        join(by_short, st_long),
        join(by_short, st_short),
        join(by_short, None),
        join(None, st_short),
    ]
    .into_iter()
    .find(|s| !s.is_empty() && text_width(s) <= room)
}
