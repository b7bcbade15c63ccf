//! Overlays drawn over the current tab: help (from the keymap), health terms, error detail.
use super::common::{centered, fit, in_run, kv, pad, panel, styled, text_width, wrap_text};
use super::detail::error_lines;
use crate::app::UiState;
use crate::keymap::Keymap;
use crate::output::log_line;
use crate::theme::Theme;
use baton_model::RunView;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

/// A bordered box at `r` (a `centered` part of the screen) showing `lines` from `scroll`.
pub(super) fn popup<'a>(
    frame: &mut Frame,
    r: Rect,
    title: &'a str,
    lines: Vec<Line<'a>>,
    scroll: usize,
    theme: &Theme,
) {
    frame.render_widget(Clear, r);
    let block = panel(title, theme, true).style(theme.base);
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let max = lines.len().saturating_sub(inner.height as usize);
    let skip = scroll.min(max);
    let lines: Vec<Line> = lines.into_iter().skip(skip).collect();
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
}

/// The help: every key in force by section, the selected one marked (Enter runs it),
/// narrowed by the search (`/`); it turns a page at a time as the selection moves.
pub(crate) fn help(
    frame: &mut Frame,
    area: Rect,
    view: &RunView,
    ui: &UiState,
    theme: &Theme,
    keys: &Keymap,
) {
    let entries = crate::app::help_entries(keys, ui, view);
    let sel = crate::app::help_at(ui, entries.len());
    let mut lines = Vec::new();
    let mut at_sel = 0;
    let mut section = None;
    for (i, e) in entries.iter().enumerate() {
        if section != Some(e.section) {
            section = Some(e.section);
            lines.push(Line::from(styled(e.section.title(), theme.title)));
        }
        if sel == Some(i) {
            at_sel = lines.len();
        }
        let desc = if e.now {
            e.bound.description.to_string()
        } else {
            // What the engine would refuse for the current selection is shown, not offered.
            format!("{} (not now)", e.bound.description)
        };
        let (key_st, desc_st) = match (sel == Some(i), e.now) {
            (true, _) => (theme.selection, theme.selection),
            (false, true) => (theme.key, theme.base),
            (false, false) => (theme.dim, theme.dim),
        };
        let mark = if sel == Some(i) { "▸ " } else { "  " };
        lines.push(Line::from(vec![
            styled(format!("{mark}{}", pad(&e.keys, 16)), key_st),
            styled(desc, desc_st),
        ]));
    }
    if entries.is_empty() {
        lines.push(Line::from(styled(
            "no key matches the search (Esc clears it)",
            theme.dim,
        )));
    } else if ui.help_filter.is_empty() {
        lines.push(Line::from(styled(
            "h and l mean health and log, so the graph moves across layers with ←→ or H L.",
            theme.dim,
        )));
    }
    let r = centered(area, 72, area.height.saturating_sub(2));
    // A page at a time: the page the selection is on (its section title with it).
    let page = r.height.saturating_sub(3).max(1) as usize;
    let scroll = (at_sel.saturating_sub(1) / page) * page;
    let search = if ui.filter_editing {
        format!(" /{}▏ · Enter keep · Esc clear ", ui.help_filter)
    } else if ui.help_filter.is_empty() {
        " Help · ↑↓ PgUp PgDn · / search · Enter run · Esc close ".to_string()
    } else {
        format!(
            " Help · /{} ({} match) · Enter run · Esc clear ",
            ui.help_filter,
            entries.len()
        )
    };
    popup(frame, r, &search, lines, scroll, theme);
}

pub(crate) fn health(frame: &mut Frame, area: Rect, view: &RunView, theme: &Theme) {
    let h = &view.health;
    let mut lines = vec![Line::from(vec![
        styled(format!("score {:.0}", h.score), theme.gauge(h.label)),
        styled(format!("  {}", h.label.as_str()), theme.gauge(h.label)),
        styled(
            format!(
                "   quality {}",
                h.quality
                    .map_or("– (nothing finished yet)".into(), |q| format!("{q:.2}"))
            ),
            theme.base,
        ),
    ])];
    lines.push(Line::from(""));
    let total = view.steps.len();
    lines.push(Line::from(styled(
        format!(
            "steps: each of {total} is worth {:.1} of the 100",
            if total == 0 {
                0.0
            } else {
                100.0 / total as f64
            }
        ),
        theme.title,
    )));
    let mut parts = Vec::new();
    for t in &h.terms {
        if t.label.starts_with("open ")
            && !lines
                .iter()
                .any(|l| l.to_string().starts_with("open errors"))
        {
            lines.push(Line::from(styled("open errors: points each", theme.title)));
        }
        // `+ 0.0` turns −0 into 0: a term that takes nothing reads 0.0.
        let value = t.value + 0.0;
        let sum = value * t.count as f64 + 0.0;
        if t.count > 0 && sum != 0.0 {
            parts.push(format!("{:.0}", sum.abs()));
        }
        let st = if t.count == 0 { theme.dim } else { theme.base };
        lines.push(Line::from(vec![
            styled(format!("  {}", pad(&t.label, 30)), st),
            styled(
                format!("{:>4} × {:>5.1} = {:>6.1}", t.count, value, sum),
                st,
            ),
        ]));
    }
    lines.push(Line::from(""));
    let minus = if parts.is_empty() {
        String::new()
    } else {
        format!(" − {}", parts.join(" − "))
    };
    lines.push(Line::from(styled(
        format!("score = 100{minus} = {:.0} (floored at 0)", h.score),
        theme.accent,
    )));
    lines.push(Line::from(styled(
        "quality = mean of finished: first 1, retry/mark/handled ½, failed 0",
        theme.dim,
    )));
    lines.push(Line::from(styled(
        "healthy ≥ 80 · degraded ≥ 50 · critical < 50 · a step failed: ≤ 79",
        theme.dim,
    )));
    let height = (lines.len() as u16 + 2).min(area.height.saturating_sub(2));
    popup(
        frame,
        centered(area, 72, height),
        " Health · why the score is what it is ",
        lines,
        0,
        theme,
    );
}

pub(crate) fn error_detail(
    frame: &mut Frame,
    area: Rect,
    view: &RunView,
    ui: &UiState,
    idx: usize,
    theme: &Theme,
) {
    let Some(e) = view.errors.get(idx) else {
        return;
    };
    let w = area.width.saturating_sub(6).min(100);
    let body = w.saturating_sub(2) as usize;
    let mut lines = vec![kv(
        "step",
        9,
        styled(
            format!(
                "{} attempt {} · {}",
                e.step.as_deref().unwrap_or("(run)"),
                e.attempt,
                in_run(ui, view.started_at, e.at, ui.clock(view))
            ),
            theme.base,
        ),
        theme,
    )];
    lines.extend(error_lines(e, body, theme));
    if !e.context.is_empty() {
        lines.push(Line::from(styled("context", theme.title)));
        for (k, v) in &e.context {
            for (i, l) in wrap_text(v, body.saturating_sub(22).max(8))
                .into_iter()
                .enumerate()
            {
                lines.push(Line::from(vec![
                    styled(
                        format!("  {}", pad(if i == 0 { k } else { "" }, 20)),
                        theme.dim,
                    ),
                    styled(l, theme.base),
                ]));
            }
        }
    }
    if let Some(s) = e
        .step
        .as_deref()
        .and_then(|s| view.step_index(s))
        .map(|i| &view.steps[i])
    {
        lines.push(Line::from(styled(
            format!(
                "log tail ({})",
                super::common::count(s.log_tail.len(), "line", "lines")
            ),
            theme.title,
        )));
        for l in &s.log_tail {
            lines.push(log_line(l, theme));
        }
    }
    let h = area.height.saturating_sub(2);
    popup(
        frame,
        centered(area, w, h),
        " Error · r retry · l log · Esc close ",
        lines,
        ui.overlay_scroll,
        theme,
    );
}

/// `:stores` on a console over several stores: each store, where it is, its state
/// (connected, reconnecting in Ns and why, refused and why) and how many of the rows
/// listed are its.
pub(crate) fn stores(frame: &mut Frame, area: Rect, view: &RunView, ui: &UiState, theme: &Theme) {
    let now = ui.store_clock(view);
    let d = &ui.desk;
    let mut lines = Vec::new();
    if !d.is_many() {
        lines.push(Line::from(styled(
            "this console is over one store; `baton tui --store A --store B` or --all-stores opens one over several",
            theme.dim,
        )));
    }
    let nw = d
        .stores
        .iter()
        .map(|s| text_width(&s.name))
        .fold(5, usize::max);
    let hw = d
        .stores
        .iter()
        .map(|s| text_width(&s.host))
        .fold(5, usize::max)
        .min(32);
    if d.is_many() {
        lines.push(Line::from(styled(
            format!(
                "{}  {}  {:>5}  state",
                pad("store", nw),
                pad("where", hw),
                "runs"
            ),
            theme.dim,
        )));
    }
    let width = area.width.saturating_sub(4).min(110);
    // The state wraps under itself: a refusal names both versions whole.
    let lead = nw + hw + 11;
    let sw = (width as usize).saturating_sub(lead + 2).max(20);
    for (i, s) in d.stores.iter().enumerate() {
        let runs = d.of_run.values().filter(|&&k| k == i).count();
        let st = if s.state.is_connected() {
            theme.base
        } else {
            theme.error
        };
        let said = baton_model::sanitize::one_line(&s.state.describe(now));
        for (k, part) in wrap_text(&said, sw).into_iter().enumerate() {
            let head = if k == 0 {
                format!(
                    "{}  {}  {runs:>5}  ",
                    pad(&s.name, nw),
                    pad(&fit(&s.host, hw), hw)
                )
            } else {
                " ".repeat(lead)
            };
            lines.push(Line::from(vec![styled(head, theme.base), styled(part, st)]));
        }
    }
    let height = (lines.len() as u16 + 2).min(area.height.saturating_sub(2));
    popup(
        frame,
        centered(area, width, height),
        " Stores ",
        lines,
        0,
        theme,
    );
}
