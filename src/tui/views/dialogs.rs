//! Approve/reject dialog (gate context + reason box) and yes/no confirmations.
use super::approvals::gate_lines;
use super::common::{centered, panel, styled};
use crate::model::RunView;
use crate::tui::app::{ConfirmDialog, ConfirmWhat, Decision, GateDialog, UiState};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

pub fn gate(
    frame: &mut Frame,
    area: Rect,
    view: &RunView,
    ui: &UiState,
    d: &GateDialog,
    theme: &Theme,
) {
    let w = area.width.saturating_sub(4).min(80);
    let body_w = w.saturating_sub(2) as usize;
    let g = view.gates.iter().find(|g| g.step_id == d.step_id);
    let mut info: Vec<Line> = match g {
        Some(g) => gate_lines(g, view, ui, body_w, theme),
        None => vec![Line::from(styled(
            "this gate is no longer open",
            theme.warning,
        ))],
    };
    if d.decision == Decision::Approve {
        info.push(Line::from(styled(
            format!("you approve as {}", ui.operator),
            theme.dim,
        )));
    } else {
        info.push(Line::from(styled(
            format!("you reject as {}; the step will not run", ui.operator),
            theme.dim,
        )));
    }
    let reason_h = 5u16;
    let want = info.len() as u16 + reason_h + 4;
    let r = centered(area, w, want.min(area.height));
    frame.render_widget(Clear, r);
    let (title, st) = match d.decision {
        Decision::Approve => (format!(" Approve {} ", d.step_id), theme.ok),
        Decision::Reject => (format!(" Reject {} ", d.step_id), theme.error),
    };
    let block =
        panel(styled(title, st.add_modifier(Modifier::BOLD)), theme, true).style(theme.base);
    let inner = block.inner(r);
    frame.render_widget(block, r);
    if inner.height == 0 {
        return;
    }
    // Bottom up: hints, error, reason box; the gate's context gets what is left.
    let hint_y = inner.y + inner.height - 1;
    let err_h = u16::from(inner.height >= 3);
    let box_h = reason_h.min(inner.height.saturating_sub(1 + err_h));
    let box_r = Rect {
        y: hint_y.saturating_sub(err_h + box_h),
        height: box_h,
        ..inner
    };
    let info_r = Rect {
        height: box_r.y - inner.y,
        ..inner
    };
    frame.render_widget(Paragraph::new(info).style(theme.base), info_r);
    let mut ta = d.reason.clone();
    let label = match d.decision {
        Decision::Approve => " Reason (optional) ",
        Decision::Reject => " Reason (required) ",
    };
    ta.set_block(panel(label, theme, true));
    ta.set_style(theme.base);
    ta.set_cursor_line_style(theme.base);
    ta.set_placeholder_style(theme.dim);
    frame.render_widget(&ta, box_r);
    if err_h == 1
        && let Some(e) = &d.error
    {
        {
            frame.render_widget(
                Paragraph::new(styled(format!("✘ {e}"), theme.error)),
                Rect {
                    y: hint_y - 1,
                    height: 1,
                    ..inner
                },
            );
        }
    }
    let hints = Line::from(vec![
        styled("Enter", theme.key),
        styled(
            match d.decision {
                Decision::Approve => " approve  ",
                Decision::Reject => " reject  ",
            },
            theme.dim,
        ),
        styled("Alt-Enter", theme.key),
        styled(" new line  ", theme.dim),
        styled("Esc", theme.key),
        styled(" cancel", theme.dim),
    ]);
    frame.render_widget(
        Paragraph::new(hints),
        Rect {
            y: hint_y,
            height: 1,
            ..inner
        },
    );
}

pub fn confirm(frame: &mut Frame, area: Rect, d: &ConfirmDialog, theme: &Theme) {
    let (title, text) = match d.what {
        ConfirmWhat::Quit => {
            let ids: Vec<&str> = d.runs.iter().map(|r| crate::tui::app::short_id(r)).collect();
            let (title, them) = if ids.len() == 1 {
                (" Quit while this console drives a run? ", "it")
            } else {
                (" Quit while this console drives runs? ", "them")
            };
            (
                title,
                format!(
                    "This console drives run {}. Quitting interrupts {them}; `baton resume RUN` continues later. Runs driven elsewhere go on.",
                    ids.join(", ")
                ),
            )
        }
        ConfirmWhat::CancelRun => (
            " Cancel the run? ",
            "Running steps are killed, pending ones skipped, and completed steps with `compensate` are undone. This cannot be reversed.".to_string(),
        ),
    };
    let w = area.width.saturating_sub(4).min(60);
    let lines_txt = super::common::wrap_text(&text, w.saturating_sub(4) as usize);
    let h = lines_txt.len() as u16 + 5;
    let r = centered(area, w, h);
    frame.render_widget(Clear, r);
    let block = panel(styled(title, theme.warning), theme, true).style(theme.base);
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let mut lines: Vec<Line> = lines_txt
        .into_iter()
        .map(|l| Line::from(styled(format!(" {l}"), theme.base)))
        .collect();
    lines.push(Line::from(""));
    let btn = |label: &str, on: bool| {
        styled(
            format!("[ {label} ]"),
            if on {
                theme.selection.add_modifier(Modifier::BOLD)
            } else {
                theme.base
            },
        )
    };
    lines.push(Line::from(vec![
        styled(" ", theme.base),
        btn("No", !d.yes),
        styled("   ", theme.base),
        btn("Yes", d.yes),
        styled("   y/n · ←→ · Enter", theme.dim),
    ]));
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
}
