//! The Waiting tab: what waits on the operator across every run, soonest deadline
//! first (`model::inbox`), and the selected item's prompt, who may decide and how.
use super::common::{dur, fit, kv, pad, panel, styled, window, wrap_text};
use crate::app::{Hit, Hits, UiState, short_id};
use crate::theme::Theme;
use baton_model::inbox::{WaitKind, Waiting};
use baton_model::{RunState, RunView, Timestamp};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

/// `12m left`, `overdue`, or `–` without a deadline; on a run no engine drives, the
/// time left where the engine stopped (its clocks stand still, as in every view).
fn left(w: &Waiting, now: Timestamp) -> String {
    match w.left(now) {
        Some(d) if !d.is_zero() => format!("{} left", baton_model::time::human_duration(d)),
        Some(_) => "overdue".into(),
        None => "–".into(),
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
    let items = &ui.waiting;
    let shown = ui.shown_waiting();
    let gone = ui.wait_gone.as_ref();
    // The rows: the items shown, and the item gone from under the selection in its
    // place (`None`), greyed, until the operator moves.
    let mut rows: Vec<Option<usize>> = shown.iter().copied().map(Some).collect();
    if let Some(g) = gone {
        rows.insert(g.at.min(rows.len()), None);
    }
    let title = format!(
        " Waiting · {} across {} · {} for you ({}){} ",
        items.len(),
        super::common::stores_word(ui),
        ui.waiting_mine(),
        ui.operator,
        crate::app::filter_note(&ui.waiting_filter, shown.len()),
    );
    let list_h = if rows.is_empty() {
        area.height
    } else {
        (rows.len() as u16 + 3).clamp(4, area.height.saturating_sub(7).max(4))
    };
    let list = Rect {
        height: list_h.min(area.height),
        ..area
    };
    let block = panel(title, theme, true);
    let inner = block.inner(list);
    frame.render_widget(block, list);
    let sel = ui.waiting_at().filter(|_| gone.is_none());
    let at = match (gone, sel) {
        (Some(g), _) => g.at.min(shown.len()),
        (None, Some(sel)) => shown.partition_point(|&i| i < sel),
        (None, None) => {
            let text = if items.is_empty() {
                "nothing waits on anyone: no open gate, exhausted budget or step to mark"
            } else {
                "nothing waiting matches the filter (Esc clears it)"
            };
            frame.render_widget(Paragraph::new(styled(text, theme.dim)), inner);
            return;
        }
    };
    let room = (inner.height as usize).saturating_sub(1);
    let first = window(at, rows.len(), room);
    let drawn = &rows[first..(first + room).min(rows.len())];
    let ww = (inner.width as usize).saturating_sub(2 + 12 + 9 + 14 + 16 + 7 + 5 + 6);
    // The ids whole (issue 45 point 4): as wide as the longest shown.
    let ids = || drawn.iter().flatten().map(|&i| items[i].run_id.as_str());
    let iw = ids()
        .map(|id| super::common::text_width(short_id(id, &ui.run_ids)))
        .fold(8, usize::max);
    // A console over several stores names each item's.
    let sw = super::common::store_width(ui, ids());
    let ww = ww
        .saturating_sub(iw - 8)
        .saturating_sub(sw + usize::from(sw > 0));
    let (told, lw) = told_column(ui, ids().collect(), ww);
    let noted = noted_runs(ui, ids().collect());
    let ww = ww.saturating_sub(lw + usize::from(lw > 0));
    let mut lines = vec![head_line((iw, sw, lw), theme)];
    for (k, row) in drawn.iter().enumerate() {
        let line = match (row, gone) {
            (Some(i), _) => {
                let cols = (iw, sw, ww, lw);
                let text = item_text(&items[*i], view, ui, now, cols, (&told, &noted));
                styled(text, row_style(&items[*i], Some(*i) == sel, theme))
            }
            (None, Some(g)) => styled(gone_text(g, ui), theme.dim.add_modifier(Modifier::BOLD)),
            (None, None) => continue,
        };
        lines.push(Line::from(line));
        if let Some(i) = row {
            let y = inner.y + 1 + k as u16;
            hits.record(
                Rect {
                    y,
                    height: 1,
                    ..inner
                },
                Hit::Waiting(*i),
            );
        }
    }
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
    let detail = Rect {
        y: area.y + list.height,
        height: area.height - list.height,
        ..area
    };
    if detail.height < 3 {
        return;
    }
    match (gone, sel) {
        (Some(g), _) => render_gone(frame, detail, g, ui, theme),
        (None, Some(sel)) => render_detail(frame, detail, &items[sel], ui, now, theme),
        (None, None) => {}
    }
}

/// What tells each item's run from the other runs of its workflow (its labels, or the
/// params that differ: `UiState::told_apart_ids`), by run, and the width of their
/// column after the step: none when no run has any, or where `who` (`ww` wide) would
/// keep less than 12 columns (the detail below says it at any width).
fn told_column(
    ui: &UiState,
    ids: Vec<&str>,
    ww: usize,
) -> (std::collections::HashMap<String, String>, usize) {
    let told = ui.told_apart_ids(&ids);
    let longest = (told.values())
        .map(|t| super::common::text_width(t))
        .max()
        .unwrap_or(0);
    let lw = match longest {
        0 => 0,
        n if ww >= 24 => n.min(ww - 12),
        _ => 0,
    };
    (told, lw)
}

/// The selected row lit; one not yours greyed, one with a deadline warned.
fn row_style(w: &Waiting, selected: bool, theme: &Theme) -> ratatui::style::Style {
    if selected {
        theme.selection
    } else if !w.mine {
        theme.dim
    } else if w.deadline.is_some() {
        theme.warning
    } else {
        theme.base
    }
}

/// One item's row: time left, run, what waits, its kind, whether it is yours, who.
fn item_text(
    w: &Waiting,
    view: &RunView,
    ui: &UiState,
    now: Timestamp,
    (iw, sw, ww, lw): (usize, usize, usize, usize),
    (told, noted): (
        &std::collections::HashMap<String, String>,
        &std::collections::HashMap<&str, usize>,
    ),
) -> String {
    let mark = if w.run_id == view.run_id { "●" } else { " " };
    let told = super::runs::told_cell(told.get(&w.run_id).map_or("", String::as_str), lw);
    // An ask of no run is a person's question: listed by it, not by its asker's
    // `pid N on HOST` (which its detail gives).
    let what = match asker(w) {
        Some(_) => pad(&fit(&baton_model::sanitize::one_line(&w.prompt), 29), 29),
        // A child run's item is marked `↳` (its parent in the detail below).
        None => {
            let workflow = match &w.parent {
                Some(_) => format!("↳ {}", w.workflow),
                None => w.workflow.clone(),
            };
            // ✎: someone wrote a note on the item's run (`baton note`, `n`).
            let notes = noted.get(w.run_id.as_str()).copied().unwrap_or(0);
            let workflow = super::runs::noted(&workflow, notes);
            format!(
                "{} {}",
                pad(&fit(&workflow, 13), 13),
                pad(&fit(&w.step, 15), 15)
            )
        }
    };
    format!(
        "{mark} {} {}{} {what} {told}{:6} {:4} {}",
        pad(&left(w, now), 11),
        super::common::store_cell(ui, &w.run_id, sw),
        pad(short_id(&w.run_id, &ui.run_ids), iw),
        w.kind.as_str(),
        if w.mine { "yes" } else { "no" },
        fit(&w.who(), ww.max(6)),
    )
}

/// How many notes each of the runs `ids` has, those with any (`✎`): one pass over the
/// run list a frame, not one per row.
fn noted_runs<'a>(
    ui: &'a UiState,
    ids: std::collections::HashSet<&str>,
) -> std::collections::HashMap<&'a str, usize> {
    ui.runs
        .iter()
        .filter(|r| r.notes > 0 && ids.contains(r.id.as_str()))
        .map(|r| (r.id.as_str(), r.notes))
        .collect()
}

/// The row of the item gone from under the selection.
fn gone_text(g: &crate::app::WaitGone, ui: &UiState) -> String {
    format!(
        "▸ {} of run {} ({}) no longer waits · ↑↓ selects another",
        g.item.step,
        short_id(&g.item.run_id, &ui.run_ids),
        g.item.workflow
    )
}

/// Under the list while the selection is on an item gone from it: what happened, and
/// that nothing is selected.
fn render_gone(
    frame: &mut Frame,
    area: Rect,
    g: &crate::app::WaitGone,
    ui: &UiState,
    theme: &Theme,
) {
    let block = panel(format!(" {} · no longer waits ", g.item.step), theme, false);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let text = format!(
        "{} of run {} ({}) no longer waits: decided, here or elsewhere, or its run went on. Nothing is selected, so no other item takes its place under a key; ↑↓ selects the item above or below.",
        g.item.step,
        short_id(&g.item.run_id, &ui.run_ids),
        g.item.workflow
    );
    let lines: Vec<Line> = wrap_text(&text, inner.width.max(1) as usize)
        .into_iter()
        .map(|l| Line::from(styled(l, theme.dim)))
        .collect();
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
}

fn render_detail(
    frame: &mut Frame,
    area: Rect,
    w: &Waiting,
    ui: &UiState,
    now: Timestamp,
    theme: &Theme,
) {
    let what = match w.kind {
        WaitKind::Gate => "gate",
        WaitKind::Budget => "budget",
        WaitKind::Mark => "step to mark",
        WaitKind::Resume => "step to resume",
        WaitKind::Held => "held step",
        WaitKind::Ask => "ask",
    };
    let room = (area.width as usize).saturating_sub(12);
    let title = match asker(w) {
        Some(_) => fit(&baton_model::sanitize::one_line(&w.prompt), room),
        None => w.step.clone(),
    };
    let block = panel(format!(" {title} · {what} "), theme, false);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width.max(1) as usize;
    let mut lines: Vec<Line> = Vec::new();
    for l in wrap_text(&w.prompt, width) {
        lines.push(Line::from(styled(l, theme.title)));
    }
    if let Some(by) = asker(w) {
        lines.push(kv("asked by", 9, styled(by, theme.base), theme));
    }
    let run = match w.run_state {
        RunState::Interrupted => format!(
            "{} {} · interrupted: deciding makes this console its engine",
            short_id(&w.run_id, &ui.run_ids),
            w.workflow
        ),
        s => format!("{} {} · {s}", short_id(&w.run_id, &ui.run_ids), w.workflow),
    };
    // What tells the run from the other runs of its workflow.
    let run = match ui.told_apart_ids(&[&w.run_id]).remove(&w.run_id) {
        Some(t) if !t.is_empty() => format!("{run} · {t}"),
        _ => run,
    };
    lines.push(kv("run", 9, styled(run, theme.base), theme));
    // A child run's gate is its parent's business too (`workflow = "…"`).
    if let Some(p) = &w.parent {
        let of = format!(
            "child of run {} step {}",
            short_id(&p.run, &ui.run_ids),
            p.step
        );
        lines.push(kv("parent", 9, styled(of, theme.base), theme));
    }
    lines.push(kv("who", 9, styled(w.who(), theme.base), theme));
    let notes = super::runs::notes_of(ui, &w.run_id);
    if notes > 0 {
        let said = format!(
            "✎ {} on the run: Enter opens it, its Audit tab lists them",
            super::common::count(notes, "note", "notes")
        );
        lines.push(kv("notes", 9, styled(said, theme.base), theme));
    }
    let you = match &w.why_not {
        None => format!("{}: you may decide", ui.operator),
        Some(why) => why.to_string(),
    };
    let you_st = if w.mine { theme.ok } else { theme.warning };
    lines.push(kv("you", 9, styled(you, you_st), theme));
    lines.push(kv(
        "waiting",
        9,
        styled(waited(w, ui, now), theme.base),
        theme,
    ));
    // On a console over several stores, the command names the item's store.
    let store = match ui.desk.name_of(&w.run_id) {
        "" => String::new(),
        name => format!(" --store {name}"),
    };
    for c in &w.commands {
        for l in wrap_text(&format!("{c}{store}"), width) {
            lines.push(Line::from(styled(l, theme.dim)));
        }
    }
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
}

/// The list's column names (`store` on a console over several stores).
fn head_line<'a>((iw, sw, lw): (usize, usize, usize), theme: &Theme) -> Line<'a> {
    let labels = match lw {
        0 => String::new(),
        _ => format!("{} ", pad("labels", lw)),
    };
    Line::from(styled(
        format!(
            "  {:11} {}{} {:13} {:15} {labels}{:6} {:4} {}",
            "time left",
            super::common::store_head(sw),
            pad("run", iw),
            "workflow",
            "step",
            "waits",
            "you",
            "who"
        ),
        theme.dim,
    ))
}

/// An ask of no run (`baton ask` from a shell): who asked, `carol · pid 4242 on box`
/// (the inbox keeps the asker's holder where a step's id would be).
fn asker(w: &Waiting) -> Option<String> {
    let store_level = w.kind == WaitKind::Ask && w.ask.as_ref() == Some(&w.run_id);
    store_level.then(|| {
        let account = w.workflow.strip_prefix("ask by ").unwrap_or(&w.workflow);
        format!("{account} · {}", w.step)
    })
}

/// How long the item waits, and its deadline: `4m12s · 26m left`; on a run no engine
/// drives, stopped where the engine was last seen, saying so (`3m10s until 11:02:07,
/// no engine since · 26m left then`), never a counter that goes on.
fn waited(w: &Waiting, ui: &UiState, now: Timestamp) -> String {
    let waited = dur(w.since, w.clock(now).max(w.since));
    let gone = w.engine_gone_at.filter(|&g| g <= now);
    let left = match (w.deadline, gone) {
        (None, _) => "no deadline".to_string(),
        (Some(_), Some(_)) => format!("{} then", left(w, now)),
        (Some(_), None) => left(w, now),
    };
    match gone {
        Some(gone) => format!(
            "{waited} until {}, no engine since · {left}",
            ui.wall(gone, now)
        ),
        None => format!("{waited} · {left}"),
    }
}
