//! Approvals tab: open gates oldest first with time left, and the selected gate's context.
use super::common::{dur, fit, fit_words, kv, panel, styled, text_width, when, window, wrap_text};
use crate::app::Hits;
use crate::app::UiState;
use crate::theme::Theme;
use baton_model::{GateView, RunView, Timestamp};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// The countdown and, always, the deadline as a clock time: `29m47s left · 14:32:10`.
pub(crate) fn time_left(g: &GateView, now: Timestamp, ui: &UiState) -> String {
    match g.deadline {
        Some(d) if d > now => format!("{} left · {}", dur(now, d), ui.wall(d, now)),
        Some(d) => format!("deadline passed · {}", ui.wall(d, now)),
        None => "no deadline".into(),
    }
}

pub(crate) fn votes(g: &GateView) -> String {
    format!("{}/{} votes", g.approvals.len(), g.quorum)
}

pub(crate) fn render(
    frame: &mut Frame,
    area: Rect,
    view: &RunView,
    ui: &UiState,
    theme: &Theme,
    hits: &mut Hits,
) {
    let now = ui.clock(view);
    let shown = ui.shown_gates(view);
    let list_h = (shown.len() as u16 + 2).clamp(3, area.height / 2);
    let top = Rect {
        height: list_h,
        ..area
    };
    let bottom = Rect {
        y: area.y + list_h,
        height: area.height - list_h,
        ..area
    };
    let block = panel(
        format!(
            " Open gates ({}) · oldest first{} ",
            view.gates.len(),
            crate::app::filter_note(&ui.gates_filter, shown.len())
        ),
        theme,
        true,
    );
    let inner = block.inner(top);
    frame.render_widget(block, top);
    if view.gates.is_empty() {
        frame.render_widget(
            Paragraph::new(styled("no gate is waiting for a decision", theme.dim)),
            inner,
        );
        // What the gates' rules decided without a person (issue 44 point 4).
        let block = panel(" Decided by policy ", theme, false);
        let inner = block.inner(bottom);
        frame.render_widget(block, bottom);
        let mut lines = policy_lines(view, inner.width as usize, theme);
        if lines.is_empty() {
            lines.push(Line::from(styled(
                "no gate was decided by a policy rule",
                theme.dim,
            )));
        }
        frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
        return;
    }
    let Some(sel) = ui.gate_at(view) else {
        let text = "no gate matches the filter (Esc clears it)";
        frame.render_widget(Paragraph::new(styled(text, theme.dim)), inner);
        return;
    };
    let rows = inner.height as usize;
    let first = window(shown.partition_point(|&i| i < sel), shown.len(), rows);
    let drawn = &shown[first..(first + rows).min(shown.len())];
    let idw = view
        .gates
        .iter()
        .map(|g| g.step_id.chars().count())
        .max()
        .unwrap_or(4)
        .min(24);
    let lines: Vec<Line> = drawn
        .iter()
        .map(|&i| (i, &view.gates[i]))
        .map(|(i, g)| {
            let selected = i == sel;
            let mark = if g.warned { "⚠ " } else { "  " };
            let head = format!(
                "⏸ {:idw$}  {:>21}  {:>9}  waiting {:<10}  ",
                fit(&g.step_id, idw),
                time_left(g, now, ui),
                votes(g),
                dur(g.opened_at, now),
            );
            // The prompt in whole words (all of it, wrapped, is in the gate's pane).
            let room = (inner.width as usize).saturating_sub(2 + text_width(&head));
            let text = format!("{head}{}", fit_words(&g.prompt, room));
            if selected {
                Line::from(vec![
                    styled(mark, theme.warning),
                    styled(text, theme.selection),
                ])
            } else {
                let st = if g.warned { theme.warning } else { theme.base };
                Line::from(vec![styled(mark, theme.warning), styled(text, st)])
            }
        })
        .collect();
    super::common::record_rows(hits, inner, 0, drawn.iter().copied(), crate::app::Hit::Gate);
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);

    let g = &view.gates[sel];
    let block = panel(format!(" Gate {} ", g.step_id), theme, false);
    let inner = block.inner(bottom);
    frame.render_widget(block, bottom);
    let lines = gate_lines(g, view, ui, inner.width as usize, theme);
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
}

const LW: usize = 10;

/// A gate that can be pushed back: `round 2 of 3 · b revises draft`, then the revised
/// outputs against the round before, a line each (issue 44 point 3).
fn round_lines<'a>(g: &GateView, body: usize, theme: &Theme, lines: &mut Vec<Line<'a>>) {
    let Some(r) = g.round else { return };
    let last = if r.n >= r.of {
        " · the last round: approve or reject".to_string()
    } else {
        format!(" · b revises {}", g.revise.join(", "))
    };
    lines.push(kv(
        "round",
        LW,
        styled(format!("{r}{last}"), theme.warning),
        theme,
    ));
    for (k, l) in g.revision_diff.lines().enumerate() {
        let st = if l.starts_with('+') && !l.starts_with("+++") {
            theme.ok
        } else if l.starts_with('-') && !l.starts_with("---") {
            theme.error
        } else {
            theme.dim
        };
        for part in wrap_text(l, body) {
            lines.push(kv(
                if k == 0 { "revised" } else { "" },
                LW,
                styled(part, st),
                theme,
            ));
        }
    }
}

/// Prompt, command, environment, the outputs it consumes, approvers and votes, timing
/// of one gate.
pub(crate) fn gate_lines<'a>(
    g: &GateView,
    view: &RunView,
    ui: &UiState,
    w: usize,
    theme: &Theme,
) -> Vec<Line<'a>> {
    let now = ui.clock(view);
    let body = w.saturating_sub(LW).max(8);
    let mut lines = Vec::new();
    for (k, l) in wrap_text(&g.prompt, body).into_iter().enumerate() {
        lines.push(kv(
            if k == 0 { "prompt" } else { "" },
            LW,
            styled(l, theme.title),
            theme,
        ));
    }
    round_lines(g, body, theme, &mut lines);
    for (k, l) in wrap_text(&g.command, body).into_iter().enumerate() {
        lines.push(kv(
            if k == 0 { "command" } else { "" },
            LW,
            styled(l, theme.base),
            theme,
        ));
    }
    // The values it will run with, wrapped whole: the approver must see all of them.
    let mut first = true;
    for (key, v) in &g.env {
        for l in wrap_text(&format!("{key}={v}"), body) {
            lines.push(kv(
                if std::mem::take(&mut first) {
                    "env"
                } else {
                    ""
                },
                LW,
                styled(l, theme.base),
                theme,
            ));
        }
    }
    let mut first = true;
    for (step, key, v) in &g.needs_outputs {
        for l in wrap_text(&format!("{key} = {v}  (from {step})"), body) {
            lines.push(kv(
                if std::mem::take(&mut first) {
                    "inputs"
                } else {
                    ""
                },
                LW,
                styled(l, theme.base),
                theme,
            ));
        }
    }
    asks_lines(g, body, theme, &mut lines);
    approvers_lines(g, theme, &mut lines);
    lines.push(time_line(g, (now, view.engine_gone_at), ui, theme));
    // The gate's rules: none held when it opened, so a person decides.
    for (k, rule) in g.auto.iter().enumerate() {
        for (n, l) in wrap_text(rule, body).into_iter().enumerate() {
            let label = if k == 0 && n == 0 { "policy" } else { "" };
            lines.push(kv(label, LW, styled(l, theme.base), theme));
        }
    }
    if !g.auto.is_empty() {
        let none = "no rule held when it opened: a person decides";
        lines.push(kv("", LW, styled(none, theme.dim), theme));
    }
    let decided = policy_lines(view, w, theme);
    if !decided.is_empty() {
        lines.push(kv(
            "decided",
            LW,
            styled("by policy, in this run:", theme.dim),
            theme,
        ));
        lines.extend(decided);
    }
    if !g.allow_self_approval && baton_model::same_actor(&view.operator, &ui.operator) {
        lines.push(kv(
            "note",
            LW,
            styled(
                "you started this run; self-approval is not allowed here",
                theme.warning,
            ),
            theme,
        ));
    }
    lines
}

/// What an approval gives: each input, its type and default.
fn asks_lines<'a>(g: &GateView, body: usize, theme: &Theme, lines: &mut Vec<Line<'a>>) {
    for (k, i) in g.inputs.iter().enumerate() {
        let kind = match i.ty.as_str() {
            "enum" => i.values.join("|"),
            t => t.to_string(),
        };
        // A long proposal (a prompt, a patch) by its first line and its length: the
        // dialog's diff shows it against an edit.
        let how = match (&i.default, i.required) {
            (Some(d), _) => match crate::app::preview(d, body) {
                (first, 0 | 1) => format!(", default {first}"),
                (first, n) => format!(", default {first} … ({n} lines)"),
            },
            (None, true) => ", required".into(),
            (None, false) => String::new(),
        };
        for (n, l) in wrap_text(&format!("{}: {kind}{how}", i.name), body)
            .into_iter()
            .enumerate()
        {
            lines.push(kv(
                if k == 0 && n == 0 { "asks" } else { "" },
                LW,
                styled(l, theme.base),
                theme,
            ));
        }
    }
}

/// Who may approve, who has, and the reasons they gave.
fn approvers_lines<'a>(g: &GateView, theme: &Theme, lines: &mut Vec<Line<'a>>) {
    let mut who: Vec<Span> = Vec::new();
    for a in &g.approvers {
        let voted = g.approvals.iter().any(|(o, _)| o == a);
        who.push(styled(
            format!("{}{a}  ", if voted { "✔ " } else { "" }),
            if voted { theme.ok } else { theme.base },
        ));
    }
    if g.approvers.is_empty() {
        who.push(styled("anyone  ", theme.base));
    }
    who.push(styled(
        format!("— {} of {} needed", g.approvals.len(), g.quorum),
        theme.dim,
    ));
    lines.push(Line::from(
        std::iter::once(styled(format!("{:LW$}", "approvers"), theme.dim))
            .chain(who)
            .collect::<Vec<_>>(),
    ));
    for (o, r) in &g.approvals {
        lines.push(kv(
            "",
            LW,
            styled(
                format!(
                    "{o}: {}",
                    r.as_deref()
                        .map(baton_model::sanitize::one_line)
                        .unwrap_or_else(|| "(no reason)".into())
                ),
                theme.dim,
            ),
            theme,
        ));
    }
}

/// When the gate opened, the time left and what happens then. On a run whose engine
/// is gone (`gone`), the clock stopped there: the opening is said as the record has it,
/// a wall-clock time, not as an age on the stopped clock ("0ms ago").
fn time_line<'a>(
    g: &GateView,
    (now, gone): (Timestamp, Option<Timestamp>),
    ui: &UiState,
    theme: &Theme,
) -> Line<'a> {
    let opened = match gone {
        Some(gone) => format!(
            "opened {}, no engine since {}",
            ui.wall(g.opened_at, now),
            ui.wall(gone, now)
        ),
        None => format!("opened {}", when(ui, g.opened_at, now)),
    };
    let mut t = vec![styled(opened, theme.base)];
    if g.deadline.is_some() {
        t.push(styled(
            format!(" · {} · then {}", time_left(g, now, ui), g.on_timeout),
            if g.warned { theme.warning } else { theme.base },
        ));
    }
    if g.warned {
        t.push(styled("  ⚠ deadline near", theme.warning));
    }
    Line::from(
        std::iter::once(styled(format!("{:LW$}", "time"), theme.dim))
            .chain(t)
            .collect::<Vec<_>>(),
    )
}

/// Each gate of the run a policy rule decided, wrapped whole: which rule, and why.
fn policy_lines<'a>(view: &RunView, w: usize, theme: &Theme) -> Vec<Line<'a>> {
    view.policy_decisions()
        .iter()
        .flat_map(|d| wrap_text(&baton_model::sanitize::one_line(d), w.max(8)))
        .map(|l| Line::from(styled(l, theme.base)))
        .collect()
}
