//! Runs tab: the store's runs, newest first; the open run is marked (●), the run `D`
//! marked for a diff (◆), a run someone wrote a note on (✎, `baton note`), a fork
//! (⑂) and a run a trigger started (⇢, its kind of event).
use super::common::{dur, pad, panel, styled, text_width, when, window};
use super::header::run_reading;
use crate::app::Hits;
use crate::app::{UiState, short_id};
use crate::theme::Theme;
use baton_model::{RunState, RunView};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

/// A run's row: the cells before its state, the state in its own style, the rest; one
/// style when it is the selected row.
fn row_line(
    [head, state, rest]: [String; 3],
    state_style: ratatui::style::Style,
    selected: bool,
    theme: &Theme,
) -> Line<'static> {
    if selected {
        Line::from(styled(format!("{head}{state}{rest}"), theme.selection))
    } else {
        Line::from(vec![
            styled(head, theme.base),
            styled(state, state_style),
            styled(rest, theme.base),
        ])
    }
}

pub(crate) fn render(
    frame: &mut Frame,
    area: Rect,
    view: &RunView,
    ui: &UiState,
    theme: &Theme,
    hits: &mut Hits,
) {
    let now = ui.store_clock(view);
    let vis = ui.visible_runs(now);
    let filter = crate::app::filter_note(&ui.runs_filter, vis.len());
    let block = panel(
        format!(
            " Runs · {} · {}{filter} ",
            runs_count(ui),
            ui.runs_sort.label()
        ),
        theme,
        true,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if vis.is_empty() {
        let text = if ui.runs.is_empty() {
            "no runs in the store"
        } else {
            "no run matches the filter (Esc clears it)"
        };
        frame.render_widget(Paragraph::new(styled(text, theme.dim)), inner);
        return;
    }
    let sel = ui.run_sel.min(vis.len() - 1);
    // Each workflow's last runs above the table (a quarter of the rows at most, none
    // while filtering: the strip is the store's, the table the filter's).
    let strip = if ui.runs_filter.is_empty() && inner.height >= 10 {
        super::strip::lines(ui, inner.width as usize, inner.height as usize / 4, theme)
    } else {
        Vec::new()
    };
    let top = strip.len() + usize::from(!strip.is_empty());
    let rows = (inner.height as usize).saturating_sub(2 + top);
    let first = window(sel, vis.len(), rows);
    let shown: Vec<&baton_model::RunSummary> = vis
        .iter()
        .skip(first)
        .take(rows)
        .map(|&i| &*ui.runs[i])
        .collect();
    // `3m ago`, or the wall clock (`t`), which is wider when it carries a date.
    let tw = shown
        .iter()
        .map(|r| text_width(&when(ui, r.started_at, now)))
        .fold(14, usize::max);
    // The ids whole: a prefix the store tells apart is never cut (issue 45 point 4).
    let iw = shown
        .iter()
        .map(|r| text_width(short_id(&r.id, &ui.run_ids)))
        .fold(8, usize::max);
    // Forks (`baton fork`) get a column naming the run each came from, when one shows.
    let forks = shown.iter().any(|r| r.forked_from.is_some());
    // Runs a trigger started (`[[trigger]]`) get a column naming the kind of event.
    let triggered = shown.iter().any(|r| r.started_by.is_some());
    // A console over several stores names each run's.
    let sw = super::common::store_width(ui, shown.iter().map(|r| r.id.as_str()));
    let room = (inner.width as usize).saturating_sub(63 + sw + iw + tw);
    let (told, lw) = told_column(ui, &shown, room);
    let mut lines = strip;
    if top > 0 {
        lines.push(Line::from(""));
    }
    lines.push(header_line(tw, (iw, sw, lw), (forks, triggered), theme));
    for (k, r) in shown.iter().enumerate() {
        let i = first + k;
        let cur = marker(ui, view, r);
        let took = dur(r.started_at, r.clock_end(now));
        let (glyph, word, state_style) = run_reading(r.state, r.rejected, theme);
        let state = pad(&format!("{glyph} {word}"), 13);
        let mut rest = format!(
            " {:>tw$} {:>9} {:>9} {:>6}",
            when(ui, r.started_at, now),
            took,
            format!("{}/{}", r.steps_done, r.steps_total),
            r.health.map_or("–".into(), |h| format!("{h:.0}"))
        );
        rest.push_str(&links_cell(ui, r, iw, (forks, triggered)));
        // Display columns, not characters: a CJK or emoji name keeps the table straight.
        let head = format!(
            "{cur} {}{}  {} ",
            super::common::store_cell(ui, &r.id, sw),
            pad(short_id(&r.id, &ui.run_ids), iw),
            pad(&noted(&r.workflow, r.notes), 16)
        );
        let head = head + &told_cell(&told[k], lw);
        lines.push(row_line([head, state, rest], state_style, i == sel, theme));
    }
    let shown = lines.len() - 1 - top;
    let row0 = (1 + top) as u16;
    super::common::record_rows(
        hits,
        inner,
        row0,
        first..first + shown,
        crate::app::Hit::Run,
    );
    if let Some(r) = vis.get(sel).map(|&i| &ui.runs[i]) {
        lines.push(Line::from(styled(hint(ui, r), theme.dim)));
    }
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
}

/// A workflow's name as a list shows it: `✎ ` before it when its run has notes (someone
/// looked at it: `baton note`, `n`).
pub(crate) fn noted(workflow: &str, notes: usize) -> String {
    match notes {
        0 => workflow.to_string(),
        _ => format!("✎ {workflow}"),
    }
}

/// How many notes run `run_id` has, as the store's run list last said.
pub(crate) fn notes_of(ui: &UiState, run_id: &str) -> usize {
    ui.runs
        .iter()
        .find(|r| r.id == run_id)
        .map_or(0, |r| r.notes)
}

/// The title's count of runs: while a large store's older runs are read, the newest
/// page stands alone.
fn runs_count(ui: &UiState) -> String {
    if ui.runs_partial {
        format!("{} so far, reading the rest of the store…", ui.runs.len())
    } else {
        format!("{} in {}", ui.runs.len(), super::common::stores_word(ui))
    }
}

/// What tells each of `shown` from the other runs of its workflow (its labels, or the
/// params that differ: `UiState::told_apart`), and the width of their column: none
/// when no row has any, else as wide as the longest within `room` (at least 14).
fn told_column(
    ui: &UiState,
    shown: &[&baton_model::RunSummary],
    room: usize,
) -> (Vec<String>, usize) {
    let told = ui.told_apart(shown);
    let longest = told.iter().map(|t| text_width(t)).max().unwrap_or(0);
    let lw = match longest {
        0 => 0,
        n => n.min(room.max(14)),
    };
    (told, lw)
}

/// A cell of the column [`told_column`] measured, `lw` wide and a space after it
/// (nothing when `lw` is 0), its text cut with `…` where it is longer.
pub(crate) fn told_cell(told: &str, lw: usize) -> String {
    match lw {
        0 => String::new(),
        _ => format!("{} ", pad(&super::common::fit(told, lw), lw)),
    }
}

/// A row's first column: the run `D` marked for a diff, else the run on screen.
fn marker(ui: &UiState, view: &RunView, r: &baton_model::RunSummary) -> &'static str {
    if ui.diff_mark.as_ref() == Some(&r.id) {
        "◆"
    } else if r.id == view.run_id {
        "●"
    } else {
        " "
    }
}

/// A row's links after its health: the run it was forked from (`⑂ ID`, a column
/// `iw` wide when a fork shows), then the kind of event that started it (`⇢ file`).
fn links_cell(
    ui: &UiState,
    r: &baton_model::RunSummary,
    iw: usize,
    (forks, triggered): (bool, bool),
) -> String {
    let mut cell = String::new();
    if forks {
        let fork = r.forked_from.as_ref();
        let f = fork.map_or(String::new(), |f| {
            format!("⑂ {}", short_id(&f.run, &ui.run_ids))
        });
        match triggered {
            true => cell.push_str(&format!("  {}", pad(&f, iw + 2))),
            false if !f.is_empty() => cell.push_str(&format!("  {f}")),
            false => {}
        }
    }
    if let Some(e) = &r.started_by {
        cell.push_str(&format!("  {}", super::chain::mark(e)));
    }
    cell
}

/// The table's column names (`fork of` when a fork shows, `event` when a run a
/// trigger started does).
fn header_line<'a>(
    tw: usize,
    (iw, sw, lw): (usize, usize, usize),
    (forks, triggered): (bool, bool),
    theme: &Theme,
) -> Line<'a> {
    let store = super::common::store_head(sw);
    // `labels` over what tells runs apart, when a row has some.
    let labels = match lw {
        0 => String::new(),
        _ => format!("{} ", pad("labels", lw)),
    };
    Line::from(styled(
        format!(
            "  {store}{}  {:16} {labels}{:13} {:>tw$} {:>9} {:>9} {:>6}",
            pad("run", iw),
            "workflow",
            "state",
            "started",
            "took",
            "steps",
            "health"
        ) + &match (forks, triggered) {
            (true, true) => format!("  {}  event", pad("fork of", iw + 2)),
            (true, false) => "  fork of".to_string(),
            (false, true) => "  event".to_string(),
            (false, false) => String::new(),
        },
        theme.dim,
    ))
}

/// The selected run's keys, and its fork links both ways.
fn hint(ui: &UiState, r: &baton_model::RunSummary) -> String {
    let mut hint = if r.state == RunState::Interrupted {
        "Enter: open · R: resume this interrupted run".to_string()
    } else {
        "Enter: open".to_string()
    };
    match &ui.diff_mark {
        Some(m) if *m == r.id => hint.push_str(" · ◆ marked: D on another run diffs"),
        Some(_) => hint.push_str(" · D: diff with ◆"),
        None => {}
    }
    if r.notes > 0 {
        hint.push_str(&format!(
            " · ✎ {}: the Audit tab lists them",
            super::common::count(r.notes, "note", "notes")
        ));
    }
    // The fork's link both ways: where it came from, and the runs forked from it.
    if let Some(f) = &r.forked_from {
        let from = short_id(&f.run, &ui.run_ids);
        hint.push_str(&format!(" · forked from run {from} at {}", f.step));
    }
    let into: Vec<String> = ui
        .runs
        .iter()
        .filter_map(|o| {
            let f = o.forked_from.as_ref().filter(|f| f.run == r.id)?;
            Some(format!("{} at {}", short_id(&o.id, &ui.run_ids), f.step))
        })
        .collect();
    if !into.is_empty() {
        hint.push_str(&format!(" · forked into run {}", into.join(", run ")));
    }
    // The event that started it, in the trigger's words.
    if let Some(e) = &r.started_by {
        let trigger = baton_model::sanitize::for_terminal(&e.trigger);
        let event = super::chain::event_text(ui, e);
        hint.push_str(&format!(" · started by {trigger}: {event}"));
    }
    hint
}
