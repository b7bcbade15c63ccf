//! Timeline tab (issue 45 point 8): the run's steps as a Gantt chart on one time axis,
//! each step's queue waits, attempts (a failed one apart), gate waits and backoffs.
//! The layout is `crate::timeline`'s; this draws it: the axis with its ticks, a row
//! per step (its state's glyph and colour, as on the DAG), the legend, and the
//! selected step's spans in words.
use super::common::{dur, fit, pad, panel, step_glyph, styled, text_width, window};
use crate::app::{Hit, Hits, UiState, shown_steps};
use crate::theme::Theme;
use crate::timeline::{self, Cell, Layout};
use baton_model::time::human_duration;
use baton_model::timeline::{AttemptEnd, SegmentKind, segments};
use baton_model::{RunView, StepState, Timestamp};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::time::Duration;

/// Lines besides the steps' rows: the tick labels, the axis, the legend, the detail.
const CHROME: usize = 4;

pub(crate) fn render(
    frame: &mut Frame,
    area: Rect,
    view: &RunView,
    ui: &UiState,
    theme: &Theme,
    hits: &mut Hits,
) {
    let clock = ui.clock(view);
    let steps = shown_steps(view, ui);
    let (start, end) = timeline::span(view, clock);
    let inner_w = area.width.saturating_sub(2) as usize;
    let lw = steps
        .iter()
        .map(|&i| text_width(&view.steps[i].id) + 2)
        .fold(8, usize::max)
        .min(inner_w / 3)
        .min(30);
    let bw = inner_w.saturating_sub(lw + 1);
    let label = |at: Timestamp| tick_label(ui, at, start, clock);
    // Ticks as far apart as the widest label they may have (`10m30s`, the wall clock).
    let gap = if ui.wall_clock {
        text_width(&label(start)).max(text_width(&label(end))) + 2
    } else {
        7
    };
    // Only the rows on screen are laid out: a 100,000-step run costs a screenful.
    let room = (area.height as usize).saturating_sub(2 + CHROME);
    let focus = ui.focus(view);
    let sel = focus
        .and_then(|f| steps.iter().position(|&i| i == f))
        .unwrap_or(0);
    let first = window(sel, steps.len(), room);
    let shown_steps = &steps[first..(first + room).min(steps.len())];
    let l = timeline::layout(view, shown_steps, clock, bw, gap);
    let per_col = Duration::from_millis((end.0 - start.0).max(0) as u64 / bw.max(1) as u64);
    let title = format!(
        " Timeline · {} · {} a column ",
        super::common::count(steps.len(), "step", "steps"),
        baton_model::time::human_duration(per_col)
    );
    let block = panel(title, theme, true);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if steps.is_empty() {
        let said = if ui.filter.trim().is_empty() {
            "no steps"
        } else {
            "no step matches the filter (Esc clears it)"
        };
        frame.render_widget(Paragraph::new(styled(said, theme.dim)), inner);
        return;
    }
    let indent = " ".repeat(lw + 1);
    let mut lines = vec![
        Line::from(vec![
            Span::raw(indent.clone()),
            styled(tick_line(&l, &label), theme.dim),
        ]),
        Line::from(vec![
            Span::raw(indent),
            styled(axis_line(&l), theme.border_for(false)),
        ]),
    ];
    for row in &l.rows {
        let s = &view.steps[row.step];
        let picked = Some(row.step) == focus;
        let id_style = if picked { theme.selection } else { theme.base };
        let mut spans = vec![
            styled(step_glyph(s), super::common::step_style(s, theme)),
            styled(" ", id_style),
            styled(pad(&fit(&s.id, lw - 2), lw - 2), id_style),
            Span::raw(" "),
        ];
        spans.extend(bar_spans(&row.cells, view.engine_gone_at.is_none(), theme));
        lines.push(Line::from(spans));
    }
    let shown = lines.len() - 2;
    for k in 0..shown {
        let y = inner.y + 2 + k as u16;
        hits.record(
            Rect {
                y,
                height: 1,
                ..inner
            },
            Hit::Step(l.rows[k].step),
        );
    }
    // The legend and the selected step's spans at the bottom.
    let bottom = inner.y + inner.height.saturating_sub(2);
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
    let foot = Rect {
        y: bottom,
        height: 2.min(inner.height),
        ..inner
    };
    let detail = focus.map_or(String::new(), |f| spans_text(view, f, clock));
    frame.render_widget(
        Paragraph::new(vec![
            legend(theme, view.steps.iter().any(|s| !s.freezes.is_empty())),
            Line::from(styled(fit(&detail, inner_w), theme.base)),
        ])
        .style(theme.base),
        foot,
    );
}

/// The style of a cell of a bar: the colour of the state it stands for.
fn cell_style(c: Cell, theme: &Theme) -> Style {
    match c {
        Cell::Empty | Cell::Queue => theme.dim,
        Cell::Backoff => theme.state(StepState::RetryWait),
        Cell::Held => theme.state(StepState::Held),
        Cell::Gate => theme.state(StepState::WaitingApproval),
        Cell::Failed => theme.state(StepState::Failed),
        Cell::Succeeded => theme.state(StepState::Succeeded),
        Cell::Running => theme.state(StepState::Running),
        Cell::Frozen => theme.state(StepState::Held),
    }
}

/// A bar as spans of equal cells; a running attempt's last cell is `▶`, its head,
/// while an engine drives it (`live`) and it is not frozen: a gone engine's attempts
/// grow no more, nor do frozen ones.
fn bar_spans(cells: &[Cell], live: bool, theme: &Theme) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    let mut k = 0;
    while k < cells.len() {
        let c = cells[k];
        let n = cells[k..].iter().take_while(|x| **x == c).count();
        let text = if c == Cell::Running && live && cells.get(k + n) != Some(&Cell::Frozen) {
            format!("{}▶", c.symbol().repeat(n - 1))
        } else {
            c.symbol().repeat(n)
        };
        out.push(styled(text, cell_style(c, theme)));
        k += n;
    }
    out
}

/// The legend; `frozen` only on a run a step of which was frozen (80 columns hold no
/// more).
fn legend(theme: &Theme, frozen: bool) -> Line<'static> {
    let mut spans = Vec::new();
    let extra = frozen.then_some((Cell::Frozen, "frozen"));
    for (c, what) in Cell::LEGEND.into_iter().chain(extra) {
        // Room for `frozen` in 80 columns: a failed attempt says less.
        let what = if frozen && c == Cell::Failed {
            "failed"
        } else {
            what
        };
        // A running attempt is told from one that ran by its head, in colour or not.
        let symbol = if c == Cell::Running {
            "█▶"
        } else {
            c.symbol()
        };
        spans.push(styled(symbol, cell_style(c, theme)));
        spans.push(styled(format!(" {what}  "), theme.dim));
    }
    Line::from(spans)
}

/// A tick's label: the time since the run's start (`0`, `30s`, `1m`, `1m30s`), or the
/// wall clock (`t`).
fn tick_label(ui: &UiState, at: Timestamp, start: Timestamp, now: Timestamp) -> String {
    if ui.wall_clock {
        return ui.wall(at, now);
    }
    let s = at.since(start).as_secs();
    match s {
        0 => "0".into(),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s >= 3600 => format!("{}h{:02}m", s / 3600, (s / 60) % 60),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s if s >= 60 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

/// The tick labels over the bar, each starting at its tick; one that would run past
/// the bar is left out.
fn tick_line(l: &Layout, label: &dyn Fn(Timestamp) -> String) -> String {
    let mut line = String::new();
    for t in &l.ticks {
        let text = label(t.at);
        let at = line.chars().count();
        if t.col < at || t.col + text_width(&text) > l.width {
            continue;
        }
        line.push_str(&" ".repeat(t.col - at));
        line.push_str(&text);
    }
    line
}

/// The axis: a line the bar's width, `┬` at each tick.
fn axis_line(l: &Layout) -> String {
    let mut cells = vec!["─"; l.width];
    for t in &l.ticks {
        if let Some(c) = cells.get_mut(t.col) {
            *c = "┬";
        }
    }
    cells.concat()
}

/// The step's spans in words, oldest first: `unit-tests  queued 1.0s · #1 57.0s ✘ ·
/// backoff 15.0s · queued 3.0s · #2 52.0s ✔`.
fn spans_text(view: &RunView, i: usize, clock: Timestamp) -> String {
    let s = &view.steps[i];
    let parts: Vec<String> = segments(&s.history, clock)
        .into_iter()
        .map(|g| {
            let d = dur(g.from, g.to);
            match g.kind {
                SegmentKind::Queue => format!("queued {d}"),
                SegmentKind::Gate => format!("gate {d}"),
                SegmentKind::Backoff => format!("backoff {d}"),
                SegmentKind::Held => format!("held {d}"),
                SegmentKind::Attempt { attempt, end } => {
                    // Frozen time is not run time: said apart.
                    let frozen: std::time::Duration = s
                        .freezes
                        .iter()
                        .filter(|f| f.attempt == attempt)
                        .map(|f| f.length(g.to))
                        .sum();
                    let d = if frozen.is_zero() {
                        d
                    } else {
                        let ran = g.to.since(g.from).saturating_sub(frozen);
                        format!(
                            "{} (frozen {})",
                            human_duration(ran),
                            human_duration(frozen)
                        )
                    };
                    let how = match end {
                        AttemptEnd::Succeeded => "✔",
                        AttemptEnd::Failed => "✘",
                        // Its engine is gone: the attempt's time stops where it did.
                        AttemptEnd::Running if view.engine_gone_at.is_some() => "↯ engine gone",
                        AttemptEnd::Running => "▶",
                    };
                    format!("#{attempt} {d} {how}")
                }
            }
        })
        .collect();
    if parts.is_empty() {
        format!("{}  {}: nothing recorded yet", s.id, s.state)
    } else {
        format!("{}  {}", s.id, parts.join(" · "))
    }
}
