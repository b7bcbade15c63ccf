//! The mark dialog, the hold / release dialog, the note dialog and the held refusal
//! (issue 28 point 2).
use super::common::{centered, panel, styled, wrap_text};
use crate::app::{HoldDialog, MarkDialog, NoteDialog};
use crate::keymap::{Context, Keymap};
use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

/// A small box of `lines` under `title`, centred.
pub(super) fn boxed(
    frame: &mut Frame,
    area: Rect,
    title: Line<'_>,
    lines: Vec<Line<'_>>,
    theme: &Theme,
) {
    let w = area.width.saturating_sub(4).min(70);
    let h = (lines.len() as u16 + 2).min(area.height);
    let r = centered(area, w, h);
    frame.render_widget(Clear, r);
    let block = panel(title, theme, true).style(theme.base);
    let inner = block.inner(r);
    frame.render_widget(block, r);
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
}

/// The keys of `ctx` in force, as the footer writes them.
pub(super) fn hints<'a>(keys: &'a Keymap, ctx: Context, theme: &Theme) -> Line<'a> {
    hints_of(keys, ctx, theme, |_, _| true)
}

/// [`hints`], only those `offered` (the run form's moves when it has fields).
pub(super) fn hints_of<'a>(
    keys: &'a Keymap,
    ctx: Context,
    theme: &Theme,
    offered: impl Fn(Context, &crate::app::Action) -> bool,
) -> Line<'a> {
    let mut spans = Vec::new();
    for (label, what) in keys.hints(ctx, offered) {
        if !spans.is_empty() {
            spans.push(styled("  ", theme.dim));
        }
        spans.push(styled(label.to_string(), theme.key));
        spans.push(styled(format!(" {what}"), theme.dim));
    }
    Line::from(spans)
}

pub(crate) fn mark(frame: &mut Frame, area: Rect, d: &MarkDialog, theme: &Theme, keys: &Keymap) {
    let width = area.width.saturating_sub(8).min(66) as usize;
    let choice = |on: bool, label: &str, can: bool| {
        let st = if !can {
            theme.dim
        } else if on {
            theme.selection.add_modifier(Modifier::BOLD)
        } else {
            theme.base
        };
        styled(format!("[ {label} ]"), st)
    };
    let mut lines = vec![
        Line::from(styled(
            "What the step did, as you know it: recorded under your name.",
            theme.dim,
        )),
        Line::from(vec![
            styled("outcome  ", theme.dim),
            choice(d.succeeded, "succeeded", d.can_succeed),
            styled("  ", theme.base),
            choice(!d.succeeded, "failed", d.can_fail),
        ]),
        Line::from(vec![
            styled("reason   ", theme.dim),
            styled(format!("{}▏", d.reason), theme.base),
        ]),
    ];
    if let Some(e) = &d.error {
        lines.push(Line::from(styled(format!("✘ {e}"), theme.error)));
    }
    if d.confirming {
        let ask = format!(
            "Mark {} {}? Enter again to record it, Esc to change it.",
            d.step_id,
            d.state()
        );
        for l in wrap_text(&ask, width) {
            lines.push(Line::from(styled(l, theme.warning)));
        }
    }
    lines.push(hints(keys, Context::MarkDialog, theme));
    let title = styled(
        format!(" Mark {} ", d.step_id),
        theme.warning.add_modifier(Modifier::BOLD),
    );
    boxed(frame, area, Line::from(title), lines, theme);
}

/// The hold / release dialog: what it does, the reason, and the confirm.
pub(crate) fn hold(
    frame: &mut Frame,
    area: Rect,
    d: &HoldDialog,
    operator: &str,
    theme: &Theme,
    keys: &Keymap,
) {
    let width = area.width.saturating_sub(8).min(66) as usize;
    let verb = if d.release { "Release" } else { "Hold" };
    let confirm = d.confirming.then(|| {
        format!(
            "{verb} {}? Enter again to record it, Esc to change it.",
            d.target
        )
    });
    let said = Reasoned {
        what: &d.effect,
        operator,
        reason: &d.reason,
        error: d.error.as_deref(),
        confirm: confirm.as_deref(),
    };
    let mut lines = reasoned_lines(&said, width, theme);
    lines.push(hints(keys, Context::HoldDialog, theme));
    let title = styled(
        format!(
            " {} {} ",
            if d.release { "Release" } else { "Hold" },
            d.target
        ),
        theme.warning.add_modifier(Modifier::BOLD),
    );
    boxed(frame, area, Line::from(title), lines, theme);
}

/// The note dialog (`n`): what the note is on, who it is recorded as, the text typed
/// (wrapped: a note may be long), and the confirm.
pub(crate) fn note(
    frame: &mut Frame,
    area: Rect,
    d: &NoteDialog,
    operator: &str,
    theme: &Theme,
    keys: &Keymap,
) {
    let width = area.width.saturating_sub(8).min(66) as usize;
    let what = format!(
        "A note on {}: kept on the audit chain with its time, shown by baton show and in the lists (✎).",
        d.target
    );
    let mut lines: Vec<Line> = wrap_text(&what, width)
        .into_iter()
        .map(|l| Line::from(styled(l, theme.base)))
        .collect();
    lines.push(Line::from(styled(
        format!("Recorded as {operator} (your OS account)."),
        theme.dim,
    )));
    let typed = wrap_text(&format!("{}▏", d.text), width.saturating_sub(6).max(8));
    for (i, l) in typed.into_iter().enumerate() {
        lines.push(Line::from(vec![
            styled(if i == 0 { "note  " } else { "      " }, theme.dim),
            styled(l, theme.base),
        ]));
    }
    if let Some(e) = &d.error {
        lines.push(Line::from(styled(format!("✘ {e}"), theme.error)));
    }
    if d.confirming {
        let ask = format!(
            "Note on {}? Enter again to record it, Esc to change it.",
            d.target
        );
        for l in wrap_text(&ask, width) {
            lines.push(Line::from(styled(l, theme.warning)));
        }
    }
    lines.push(hints(keys, Context::NoteDialog, theme));
    let title = styled(
        format!(" Note on {} ", super::common::fit(&d.target, width)),
        theme.title.add_modifier(Modifier::BOLD),
    );
    boxed(frame, area, Line::from(title), lines, theme);
}

/// A decision's dialog that takes a reason and a confirm (a schedule's pause, a hold):
/// what it does, who records it, the reason typed, its error, the confirm's question.
pub(super) struct Reasoned<'a> {
    pub what: &'a str,
    pub operator: &'a str,
    pub reason: &'a str,
    pub error: Option<&'a str>,
    pub confirm: Option<&'a str>,
}

/// The lines of a [`Reasoned`] dialog, `width` columns wide, above its keys.
pub(super) fn reasoned_lines<'a>(d: &Reasoned<'_>, width: usize, theme: &Theme) -> Vec<Line<'a>> {
    let mut lines: Vec<Line> = wrap_text(d.what, width)
        .into_iter()
        .map(|l| Line::from(styled(l, theme.base)))
        .collect();
    lines.push(Line::from(styled(
        format!(
            "Recorded on the audit chain as {} (your OS account).",
            d.operator
        ),
        theme.dim,
    )));
    lines.push(Line::from(vec![
        styled("reason  ", theme.dim),
        styled(format!("{}▏", d.reason), theme.base),
    ]));
    if let Some(e) = d.error {
        lines.push(Line::from(styled(format!("✘ {e}"), theme.error)));
    }
    for l in d.confirm.map(|c| wrap_text(c, width)).unwrap_or_default() {
        lines.push(Line::from(styled(l, theme.warning)));
    }
    lines
}

pub(crate) fn refused(frame: &mut Frame, area: Rect, text: &str, theme: &Theme) {
    let width = area.width.saturating_sub(8).min(66) as usize;
    let mut lines: Vec<Line> = wrap_text(text, width)
        .into_iter()
        .map(|l| Line::from(styled(l, theme.error)))
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        styled("Esc", theme.key),
        styled(" close (what you type meanwhile goes nowhere)", theme.dim),
    ]));
    let title = styled(" Not now ", theme.error.add_modifier(Modifier::BOLD));
    boxed(frame, area, Line::from(title), lines, theme);
}
