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
use std::collections::HashMap;

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
    // The ids whole (issue 45 point 4): as wide as the longest shown.
    let ids = || drawn.iter().flatten().map(|&i| items[i].run_id.as_str());
    let iw = ids()
        .map(|id| super::common::text_width(short_id(id, &ui.run_ids)))
        .fold(8, usize::max);
    // A console over several stores names each item's.
    let sw = super::common::store_width(ui, ids());
    // Told apart among every item's run, not only those drawn: a filter or a scroll
    // does not change a row's cell.
    let runs: Vec<(&str, &str)> = (items.iter())
        .map(|w| (w.run_id.as_str(), w.workflow.as_str()))
        .collect();
    let all: Vec<&str> = runs.iter().map(|r| r.0).collect();
    let told = distinct_first(ui.told_apart_ids(&all), &runs);
    let cols = Cols::fit(inner.width as usize, iw, sw, &told);
    let noted = noted_runs(ui, ids().collect());
    let mut lines = vec![head_line(&cols, theme)];
    for (k, row) in drawn.iter().enumerate() {
        let line = match (row, gone) {
            (Some(i), _) => {
                let text = item_text(&items[*i], view, ui, now, &cols, (&told, &noted));
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

/// The list's column widths. A row is `● LEFT STORE ID WORKFLOW STEP LABELS KIND YOU
/// WHO`; the labels column (what tells each item's run from the other runs of its
/// workflow: `UiState::told_apart_ids`) shows whenever a run has any, at 80 columns
/// too: there the workflow and step columns give up a few columns so that the labels
/// keep [`LABELS_MIN`] and `who` keeps [`WHO_MIN`].
struct Cols {
    id: usize,
    store: usize,
    workflow: usize,
    step: usize,
    labels: usize,
    who: usize,
}

/// The labels column's width where the row is short of room: `ticket=OPS-137`.
const LABELS_MIN: usize = 14;
/// The `who` column's least width.
const WHO_MIN: usize = 6;

impl Cols {
    /// The widths within `width` columns, for ids `iw` and stores `sw` wide and the
    /// runs' `told` texts.
    fn fit(width: usize, iw: usize, sw: usize, told: &HashMap<String, Told>) -> Cols {
        let (mut workflow, mut step) = (13, 15);
        // Everything but the workflow, step, labels and who, with their spaces.
        let fixed = 2 + 12 + iw + 1 + sw + usize::from(sw > 0) + 2 + 7 + 5;
        let longest = (told.values())
            .map(|t| super::common::text_width(&t.text()))
            .max()
            .unwrap_or(0);
        let free = |wf: usize, st: usize| width.saturating_sub(fixed + wf + st);
        let mut labels = 0;
        if longest > 0 {
            // Where `who` keeps 12 the labels take what is left; short of that, the
            // step and the workflow give up columns (to 10 each) so that the labels
            // keep their least.
            let want = longest.min(LABELS_MIN);
            while free(workflow, step) < WHO_MIN + want + 1 && (workflow > 10 || step > 10) {
                if step >= workflow && step > 10 {
                    step -= 1;
                } else {
                    workflow -= 1;
                }
            }
            let f = free(workflow, step);
            let roomy = f.saturating_sub(WHO_MIN + 12);
            let tight = f.saturating_sub(WHO_MIN + 1).min(want);
            labels = longest.min(roomy.max(tight));
        }
        // `who` leaves WHO_MIN columns spare where it can (a margin, not a cell).
        let who = free(workflow, step)
            .saturating_sub(WHO_MIN + labels + usize::from(labels > 0))
            .max(WHO_MIN);
        Cols {
            id: iw,
            store: sw,
            workflow,
            step,
            labels,
            who,
        }
    }
}

/// What tells a listed item's run apart, in two parts: the labels (or params) that
/// differ from the other listed runs of its workflow, and those every one of them
/// shares.
#[derive(Debug, Default)]
struct Told {
    apart: String,
    shared: String,
}

impl Told {
    /// Both parts, those that differ first: `ticket=OPS-138 team=infra`.
    fn text(&self) -> String {
        match (self.apart.is_empty(), self.shared.is_empty()) {
            (_, true) => self.apart.clone(),
            (true, false) => self.shared.clone(),
            (false, false) => format!("{} {}", self.apart, self.shared),
        }
    }

    /// The text of a cell `lw` wide: the whole where it fits, else what differs alone
    /// (what every listed run shares tells none apart), cut where it must be.
    fn cell(&self, lw: usize) -> String {
        let text = self.text();
        match super::common::text_width(&text) > lw && !self.apart.is_empty() {
            true => self.apart.clone(),
            false => text,
        }
    }
}

/// Each listed run's [`Told`]: its `told` text (`UiState::told_apart_ids`) split into
/// what differs from the other listed runs of its workflow and what they all share, so
/// that a cut cell still shows what tells them apart (three runs `team=infra ticket=…`
/// read by their tickets at 80 columns). `runs`: each item's run and workflow.
fn distinct_first(told: HashMap<String, String>, runs: &[(&str, &str)]) -> HashMap<String, Told> {
    let mut by_workflow: HashMap<&str, Vec<&str>> = HashMap::new();
    for &(run, workflow) in runs {
        let listed = by_workflow.entry(workflow).or_default();
        if !listed.contains(&run) {
            listed.push(run);
        }
    }
    let mut out = HashMap::new();
    for listed in by_workflow.values() {
        let words: Vec<Vec<&str>> = (listed.iter())
            .map(|run| {
                let text = told.get(*run).map_or("", String::as_str);
                text.split(' ').filter(|w| !w.is_empty()).collect()
            })
            .collect();
        // One run of its workflow listed: nothing to tell it from, all of it apart.
        let shared: Vec<&str> = match listed.len() {
            1 => Vec::new(),
            _ => (words[0].iter().copied())
                .filter(|w| words[1..].iter().all(|o| o.contains(w)))
                .collect(),
        };
        for (run, ws) in listed.iter().zip(&words) {
            let (same, apart): (Vec<&str>, Vec<&str>) = ws.iter().partition(|w| shared.contains(w));
            let told = Told {
                apart: apart.join(" "),
                shared: same.join(" "),
            };
            out.insert(run.to_string(), told);
        }
    }
    out
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
    cols: &Cols,
    (told, noted): (&HashMap<String, Told>, &HashMap<&str, usize>),
) -> String {
    let mark = if w.run_id == view.run_id { "●" } else { " " };
    let told = told.get(&w.run_id).map(|t| t.cell(cols.labels));
    let told = super::runs::told_cell(told.as_deref().unwrap_or_default(), cols.labels);
    let (wf, st) = (cols.workflow, cols.step);
    // An ask of no run is a person's question: listed by it, not by its asker's
    // `pid N on HOST` (which its detail gives).
    let what = match asker(w) {
        Some(_) => pad(&baton_model::sanitize::one_line(&w.prompt), wf + 1 + st),
        // A child run's item is marked `↳` (its parent in the detail below).
        None => {
            let workflow = match &w.parent {
                Some(_) => format!("↳ {}", w.workflow),
                None => w.workflow.clone(),
            };
            // ✎: someone wrote a note on the item's run (`baton note`, `n`).
            let notes = noted.get(w.run_id.as_str()).copied().unwrap_or(0);
            let workflow = super::runs::noted(&workflow, notes);
            format!("{} {}", pad(&workflow, wf), pad(&w.step, st))
        }
    };
    format!(
        "{mark} {} {}{} {what} {told}{:6} {:4} {}",
        pad(&left(w, now), 11),
        super::common::store_cell(ui, &w.run_id, cols.store),
        pad(short_id(&w.run_id, &ui.run_ids), cols.id),
        w.kind.as_str(),
        if w.mine { "yes" } else { "no" },
        fit(&w.who(), cols.who),
    )
}

/// How many notes each of the runs `ids` has, those with any (`✎`): one pass over the
/// run list a frame, not one per row.
fn noted_runs<'a>(
    ui: &'a UiState,
    ids: std::collections::HashSet<&str>,
) -> HashMap<&'a str, usize> {
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
fn head_line<'a>(cols: &Cols, theme: &Theme) -> Line<'a> {
    let labels = match cols.labels {
        0 => String::new(),
        lw => format!("{} ", pad("labels", lw)),
    };
    Line::from(styled(
        format!(
            "  {:11} {}{} {} {} {labels}{:6} {:4} {}",
            "time left",
            super::common::store_head(cols.store),
            pad("run", cols.id),
            pad("workflow", cols.workflow),
            pad("step", cols.step),
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
