//! Approve/reject dialog (gate context + reason box), the raise-the-budget dialog, and yes/no confirmations.
use super::approvals::gate_lines;
use super::common::{centered, fit, pad, panel, styled, wrap_text};
use crate::app::{
    BudgetDialog, BudgetField, ConfirmDialog, ConfirmWhat, Decision, GateDialog, InputField,
    UiState,
};
use crate::theme::Theme;
use baton_model::RunView;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

const LW: usize = 10;

pub(crate) fn gate(
    frame: &mut Frame,
    area: Rect,
    view: &RunView,
    ui: &UiState,
    d: &GateDialog,
    theme: &Theme,
    keys: &crate::keymap::Keymap,
) {
    let w = area.width.saturating_sub(4).min(80);
    let body_w = w.saturating_sub(2) as usize;
    let here = d.run_id.as_deref().is_none_or(|r| r == view.run_id);
    let g = view.gates.iter().find(|g| here && g.step_id == d.step_id);
    // A gate of another run (the Waiting tab): what the inbox knows of it.
    // An ask's dialog targets the ask's id (`ask-…`), not its run's.
    let elsewhere = d.run_id.as_deref().and_then(|r| {
        ui.waiting.iter().find(|w| {
            !here && (w.ask.as_deref() == Some(r) || (w.run_id == r && w.step == d.step_id))
        })
    });
    let mut info = gate_info(g, elsewhere, d.subject.is_some(), (view, ui), body_w, theme);
    let who = who_line(d, view, ui, theme);
    if d.review {
        // The diff takes the gate's context and the fields' place, as tall as the
        // screen allows; it is laid out once the dialog's room is known.
        info = Vec::new();
    } else {
        info.push(who.clone());
    }
    let reason_h = 5u16;
    // Each field with its details and its error, whole.
    let field_text: Vec<Line> = if d.review {
        Vec::new()
    } else {
        d.fields
            .iter()
            .enumerate()
            .flat_map(|(k, f)| field_lines(f, k == d.focus, body_w, theme))
            .collect()
    };
    let fields_h = field_text.len() as u16;
    // The error under the reason box, wrapped whole (as much as fits beside the box).
    let err_lines: Vec<String> = d
        .error
        .as_ref()
        .map(|e| wrap_text(&format!("✘ {}", baton_model::sanitize::one_line(e)), body_w))
        .unwrap_or_default();
    let want = if d.review {
        area.height
    } else {
        info.len() as u16 + fields_h + reason_h + 3 + err_lines.len().max(1) as u16
    };
    let r = centered(area, w, want.min(area.height));
    frame.render_widget(Clear, r);
    let (title, st) = title(d, w as usize, theme);
    let block =
        panel(styled(title, st.add_modifier(Modifier::BOLD)), theme, true).style(theme.base);
    let inner = block.inner(r);
    frame.render_widget(block, r);
    if inner.height == 0 {
        return;
    }
    // Bottom up: hints, error, reason box; the gate's context gets what is left.
    let hint_y = inner.y + inner.height - 1;
    let err_h = if inner.height >= 3 {
        (err_lines.len().max(1) as u16).min((inner.height / 3).max(1))
    } else {
        0
    };
    let box_h = reason_h.min(inner.height.saturating_sub(1 + err_h));
    let box_r = Rect {
        y: hint_y.saturating_sub(err_h + box_h),
        height: box_h,
        ..inner
    };
    let fields_h = fields_h.min(box_r.y - inner.y);
    let info_r = Rect {
        height: box_r.y - inner.y - fields_h,
        ..inner
    };
    if d.review {
        info = review_lines(d, body_w, info_r.height.saturating_sub(1) as usize, theme);
        info.push(who);
    }
    frame.render_widget(Paragraph::new(info).style(theme.base), info_r);
    let fields_r = Rect {
        y: info_r.y + info_r.height,
        height: fields_h,
        ..inner
    };
    frame.render_widget(Paragraph::new(field_text).style(theme.base), fields_r);
    reason_box(frame, d, box_r, theme);
    if err_h > 0 && !err_lines.is_empty() {
        let err_r = Rect {
            y: hint_y - err_h,
            height: err_h,
            ..inner
        };
        render_error(frame, err_r, err_lines, theme);
    }
    let hints = gate_hints(d, keys, theme);
    frame.render_widget(
        Paragraph::new(hints),
        Rect {
            y: hint_y,
            height: 1,
            ..inner
        },
    );
}

/// The refusal under the reason box, in the error colour.
fn render_error(frame: &mut Frame, r: Rect, err_lines: Vec<String>, theme: &Theme) {
    let lines: Vec<Line> = err_lines
        .into_iter()
        .map(|l| Line::from(styled(l, theme.error)))
        .collect();
    frame.render_widget(Paragraph::new(lines), r);
}

/// The gate's context: the gate itself, or what the inbox knows of another run's.
/// `asked`: the dialog answers an ask (`baton ask`), said as one.
fn gate_info<'a>(
    g: Option<&baton_model::GateView>,
    elsewhere: Option<&baton_model::inbox::Waiting>,
    asked: bool,
    (view, ui): (&RunView, &UiState),
    body_w: usize,
    theme: &Theme,
) -> Vec<Line<'a>> {
    match (g, elsewhere) {
        (Some(g), _) => gate_lines(g, view, ui, body_w, theme),
        (None, Some(w)) => {
            let mut l: Vec<Line> = wrap_text(&w.prompt, body_w)
                .into_iter()
                .map(|t| Line::from(styled(t, theme.title)))
                .collect();
            let whose = match &w.ask {
                // A store ask has no run: its asker says who asks.
                Some(ask) if baton_model::ask::is_ask_id(&w.run_id) => {
                    format!("{ask} ({})", w.workflow)
                }
                Some(ask) => format!(
                    "{ask} of run {} ({}, {})",
                    crate::app::short_id(&w.run_id, &ui.run_ids),
                    w.workflow,
                    w.run_state
                ),
                None => format!(
                    "run {} ({}, {})",
                    crate::app::short_id(&w.run_id, &ui.run_ids),
                    w.workflow,
                    w.run_state
                ),
            };
            l.push(Line::from(styled(
                format!("{whose} · who: {}", w.who()),
                theme.base,
            )));
            l
        }
        (None, None) => vec![Line::from(styled(
            if asked {
                "this ask is no longer open: answered, withdrawn or expired"
            } else {
                "this gate is no longer open"
            },
            theme.warning,
        ))],
    }
}

/// The account the decision will be recorded as: the inbox's viewer of the item (over
/// a link, the host's account the link runs as), else this console's operator.
fn deciding_as<'a>(d: &GateDialog, view: &RunView, ui: &'a UiState) -> &'a str {
    let run = d.run_id.as_deref().unwrap_or(&view.run_id);
    ui.waiting
        .iter()
        .find(|w| w.ask.as_deref() == Some(run) || (w.run_id == run && w.step == d.step_id))
        .map(|w| w.viewer.as_str())
        .filter(|v| !v.is_empty())
        .unwrap_or(&ui.operator)
}

/// Who decides, and what the decision does.
fn who_line<'a>(d: &GateDialog, view: &RunView, ui: &UiState, theme: &Theme) -> Line<'a> {
    let me = deciding_as(d, view, ui);
    if d.decision == Decision::Approve {
        Line::from(styled(format!("you approve as {me}"), theme.dim))
    } else if d.decision == Decision::PushBack {
        Line::from(styled(
            format!("you push back as {me}; the revised steps run again with your feedback"),
            theme.dim,
        ))
    } else if d.subject.is_some() {
        // An ask's no goes back to the asker (`baton ask` exits 1); its step goes on.
        Line::from(styled(
            format!("you answer no as {me}; the asker hears no and goes on"),
            theme.dim,
        ))
    } else {
        Line::from(styled(
            format!("you reject as {me}; the step will not run"),
            theme.dim,
        ))
    }
}

/// The reason (or feedback) box, titled with whether it is required.
fn reason_box(frame: &mut Frame, d: &GateDialog, box_r: Rect, theme: &Theme) {
    let mut ta = d.reason.clone();
    let label = match d.decision {
        Decision::Approve => " Reason (optional) ",
        Decision::Reject => " Reason (required) ",
        Decision::PushBack => " Feedback (required) ",
    };
    ta.set_block(panel(label, theme, true));
    ta.set_style(theme.base);
    ta.set_cursor_line_style(theme.base);
    ta.set_placeholder_style(theme.dim);
    frame.render_widget(&ta, box_r);
}

/// The keys in force (a `[keys]` rebinding shows here too), the decision named.
fn gate_hints<'a>(d: &GateDialog, keys: &crate::keymap::Keymap, theme: &Theme) -> Line<'a> {
    let mut spans = Vec::new();
    let offered = |_: crate::keymap::Context, a: &crate::app::Action| d.offers(a);
    for (label, what) in keys.hints(crate::keymap::Context::GateDialog, offered) {
        let what = match (what.as_str(), d.decision) {
            ("confirm", Decision::Approve) => "approve".to_string(),
            ("confirm", Decision::Reject) => "reject".to_string(),
            ("confirm", Decision::PushBack) => "push back".to_string(),
            _ => what,
        };
        if !spans.is_empty() {
            spans.push(styled("  ", theme.dim));
        }
        spans.push(styled(label.to_string(), theme.key));
        spans.push(styled(format!(" {what}"), theme.dim));
    }
    Line::from(spans)
}

/// The values the approver changed, against what the gate proposed, before the final
/// Enter (issue 44 point 2): the unified diff worked out when the review opened, from
/// its scrolled-to line, in at most `rows` lines (a frame lays out what it shows,
/// whatever the length of the values).
fn review_lines<'a>(d: &GateDialog, w: usize, rows: usize, theme: &Theme) -> Vec<Line<'a>> {
    use crate::app::DiffLine;
    let mut out: Vec<Line> = wrap_text(
        "You changed what the gate proposed. Enter approves these values; Esc goes back to them.",
        w,
    )
    .into_iter()
    .map(|l| Line::from(styled(l, theme.warning)))
    .collect();
    // One line kept for where the window is.
    let rows = rows.saturating_sub(1).max(out.len() + 1);
    let first = d.scroll.min(d.diff.len().saturating_sub(1));
    let mut shown = first;
    for l in &d.diff[first..] {
        let (mark, text, st) = match l {
            DiffLine::Name(n) => ("", n, theme.title.add_modifier(Modifier::BOLD)),
            DiffLine::Hunk(h) => ("", h, theme.key),
            DiffLine::Kept(t) => ("  ", t, theme.base),
            DiffLine::Removed(t) => ("- ", t, theme.error),
            DiffLine::Added(t) => ("+ ", t, theme.ok),
        };
        let rows_of = diff_rows(text, w.saturating_sub(2).max(1));
        if out.len() + rows_of.len() > rows && shown > first {
            break;
        }
        for (k, r) in rows_of.into_iter().enumerate() {
            let lead = if k == 0 { mark } else { "  " };
            out.push(Line::from(vec![styled(lead, st), styled(r, st)]));
        }
        shown += 1;
    }
    if first > 0 || shown < d.diff.len() {
        out.push(Line::from(styled(
            format!(
                "diff lines {}–{} of {} · PgUp/PgDn scroll",
                first + 1,
                shown,
                d.diff.len()
            ),
            theme.dim,
        )));
    }
    out
}

/// A line of a value in rows of `w` columns, its spaces kept (indentation is part of
/// the change): a tab as four spaces, another control character as its picture.
pub(super) fn diff_rows(text: &str, w: usize) -> Vec<String> {
    let clean: String = text
        .chars()
        .flat_map(|c| {
            let shown = match c {
                '\t' => "    ".to_string(),
                c if (c as u32) < 0x20 => {
                    char::from_u32(0x2400 + c as u32).unwrap_or('?').to_string()
                }
                '\u{7f}' => "\u{2421}".to_string(),
                c if baton_model::sanitize::acts_on_terminal(c) => "?".to_string(),
                c => c.to_string(),
            };
            shown.chars().collect::<Vec<_>>()
        })
        .collect();
    let mut rest = clean.as_str();
    let mut out = Vec::new();
    while !rest.is_empty() {
        let mut head = super::common::take_columns(rest, w);
        if head.is_empty() {
            // A character wider than the row: on a row of its own.
            head = rest.chars().next().map_or(rest, |c| &rest[..c.len_utf8()]);
        }
        out.push(head.to_string());
        rest = &rest[head.len()..];
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

/// One input of the approve dialog: its name, its value (an enum `‹ pro ›`, a bool
/// `[x]`, typed text) and its type on a line; under it what it is (description,
/// pattern, the proposed value) and its error, each wrapped whole (issue 45 point 2).
pub(super) fn field_lines<'a>(
    f: &InputField,
    focused: bool,
    w: usize,
    theme: &Theme,
) -> Vec<Line<'a>> {
    let i = &f.input;
    // A long or multi-line value by its first line and its length (Ctrl-e edits it whole).
    let (first, lines) = crate::app::preview(&f.value, w);
    let value = match lines {
        0 | 1 => baton_model::sanitize::one_line(&first),
        n => format!("{} … ({n} lines)", baton_model::sanitize::one_line(&first)),
    };
    let shown = match i.ty.as_str() {
        "enum" if f.value.is_empty() => "‹ (none) ›".to_string(),
        "enum" => format!("‹ {value} ›"),
        "bool" if f.value == "true" => "[x]".to_string(),
        "bool" => "[ ]".to_string(),
        _ if focused => format!("[{value}▏]"),
        _ => format!("[{value}]"),
    };
    let ty = match i.ty.as_str() {
        "enum" => format!("{} of {}", i.ty, i.values.len()),
        _ => i.ty.clone(),
    };
    let need = if i.required { ", required" } else { "" };
    let label = format!("{:LW$}", fit(&i.name, LW - 1));
    let value_st = if focused { theme.selection } else { theme.base };
    let used = LW + super::common::text_width(&shown);
    let rest = w.saturating_sub(used + 2);
    let shown = if used + 2 > w {
        fit(&shown, w.saturating_sub(LW + 2))
    } else {
        shown
    };
    let mut out = vec![Line::from(vec![
        styled(label, if focused { theme.key } else { theme.dim }),
        styled(shown, value_st),
        styled(
            format!("  {}", fit(&format!("{ty}{need}"), rest)),
            theme.dim,
        ),
    ])];
    let body = w.saturating_sub(LW).max(8);
    let pad = " ".repeat(LW);
    let mut about = Vec::new();
    if let Some(d) = &i.description {
        about.push(baton_model::sanitize::one_line(d));
    }
    if let Some(p) = &i.pattern {
        about.push(format!("matching {p}"));
    }
    // A schedule's own value, then the workflow's default: each said as what it is.
    let said = |word: &str, d: &str| {
        let (first, lines) = crate::app::preview(d, w);
        let first = baton_model::sanitize::one_line(&first);
        match lines {
            0 | 1 => format!("{word} {first:?}"),
            n => format!("{word} {first:?} … ({n} lines)"),
        }
    };
    if let Some(v) = &f.scheduled {
        about.push(said("schedule's value", v));
    }
    if let Some(d) = &i.default {
        // A gate proposes its value; a param has a default.
        let word = match f.of {
            baton_workflow::Values::Inputs => "proposed",
            baton_workflow::Values::Params => "default",
        };
        about.push(said(word, d));
    }
    if !about.is_empty() {
        for l in wrap_text(&about.join(" · "), body) {
            out.push(Line::from(vec![
                styled(pad.clone(), theme.dim),
                styled(l, theme.dim),
            ]));
        }
    }
    if let Some(e) = &f.error {
        for l in wrap_text(&format!("✘ {}", baton_model::sanitize::one_line(e)), body) {
            out.push(Line::from(vec![
                styled(pad.clone(), theme.error),
                styled(l, theme.error),
            ]));
        }
    }
    out
}

pub(crate) fn confirm(
    frame: &mut Frame,
    area: Rect,
    d: &ConfirmDialog,
    ui: &crate::app::UiState,
    theme: &Theme,
) {
    let (title, text) = confirm_text(d, ui);
    // The quit's three buttons and their keys need a little more room.
    let widest = if d.what == ConfirmWhat::Quit { 64 } else { 60 };
    let w = area.width.saturating_sub(4).min(widest);
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
    lines.push(confirm_buttons(d, theme));
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
}

/// A confirmation's title and text: what is about to happen, in words.
fn confirm_text(d: &ConfirmDialog, ui: &crate::app::UiState) -> (&'static str, String) {
    let (runs, ids) = (&ui.runs, &ui.run_ids);
    let short = |id: &str| crate::app::short_id(id, ids).to_string();
    // A run named with its workflow and what tells it from the workflow's other runs
    // (its labels, or the params that differ): a short id alone is hard to tell apart.
    let named = |id: &str| match runs.iter().find(|r| r.id == id) {
        Some(r) => match told(ui, id) {
            t if t.is_empty() => format!("{} ({})", short(id), r.workflow),
            t => format!("{} ({}, {t})", short(id), r.workflow),
        },
        None => short(id),
    };
    match &d.what {
        // The runs driven as the session says them now: one that ends meanwhile leaves.
        ConfirmWhat::Quit => quit_text(&ui.driven, &short, &named),
        ConfirmWhat::DeleteRun => {
            let id = d.runs.first().map(String::as_str).unwrap_or("?");
            let which = described(ui, id);
            (
                " Delete the run? ",
                format!(
                    "Run {which} is removed from the store with its events and logs; its decisions stay in the audit chain, redacted. This cannot be reversed."
                ),
            )
        }
        ConfirmWhat::Fork(f) => {
            let reused = if f.reused.is_empty() {
                "nothing".to_string()
            } else {
                f.reused.join(", ")
            };
            // Another account's run: whose record the fork runs, which only that
            // account's engine can check; confirming is `baton fork --from-run-of`.
            let whose = f.starter.as_ref().map_or(String::new(), |s| {
                format!(" It is {s}'s run: the fork runs {s}'s recorded text and params and reuses {s}'s outputs as yours, and only {s}'s engine can check them.")
            });
            (
                " Fork the run? ",
                format!(
                    "A new run of run {}'s workflow, from {}. Runs again: {} (gates ask again). Reused as recorded, not run: {reused}.{whose} This console drives the fork.",
                    named(&f.run),
                    f.step,
                    f.rerun.join(", "),
                ),
            )
        }
        ConfirmWhat::RetryFailed(p) => {
            let left = match p.left.as_slice() {
                [] => String::new(),
                l => format!(
                    " Left interrupted, to retry or mark one by one (they may have done their work): {}.",
                    l.join(", ")
                ),
            };
            (
                " Retry the failed steps? ",
                format!(
                    "Run {} runs again: {}, and the steps skipped because of them.{left}",
                    described(ui, &p.run),
                    p.steps.join(", "),
                ),
            )
        }
        ConfirmWhat::UserAction(p) => user_action_text(p),
        ConfirmWhat::CancelRun => {
            let which = d.runs.first().map_or("the run".to_string(), |id| {
                format!("run {}", described(ui, id))
            });
            (
                " Cancel the run? ",
                format!(
                    "Cancel {which}: running steps are killed, pending ones skipped, and completed steps with `compensate` are undone. The run ends cancelled; retrying a step later reopens it."
                ),
            )
        }
    }
}

/// What tells run `id` from the other runs of its workflow: its labels, or else its
/// params that differ (`model::labels::Apart`); empty when nothing does.
fn told(ui: &crate::app::UiState, id: &str) -> String {
    ui.told_apart_ids(&[id]).remove(id).unwrap_or_default()
}

/// A run as a confirmation names it: its short id, and what tells it from the runs
/// of its workflow listed beside it (its labels or the params that differ, its state,
/// when and by whom it started, its steps done), as the Runs tab's row shows them.
pub(super) fn described(ui: &crate::app::UiState, id: &str) -> String {
    let short = crate::app::short_id(id, &ui.run_ids);
    match ui.runs.iter().find(|r| r.id == id) {
        Some(r) => {
            let now = ui.now.unwrap_or(r.started_at).max(r.started_at);
            let workflow = match told(ui, id) {
                t if t.is_empty() => r.workflow.clone(),
                t => format!("{}, {t}", r.workflow),
            };
            format!(
                "{short} ({}, {}, started {} by {}, {}/{} steps)",
                workflow,
                r.state,
                super::common::when(ui, r.started_at, now),
                r.operator,
                r.steps_done,
                r.steps_total
            )
        }
        None => short.to_string(),
    }
}

/// An `[[action]]`'s confirmation: the command as it will run, on what, as whom.
fn user_action_text(p: &crate::app::Prepared) -> (&'static str, String) {
    let (title, warn) = if p.dangerous {
        (
            " Run a dangerous action? ",
            " config.toml marks it dangerous.",
        )
    } else {
        (" Run your action? ", "")
    };
    (
        title,
        format!(
            "“{}” runs `{}` on {}, as a child of this console under your account, stopped after {}.{warn}",
            p.title,
            p.shown(),
            p.on,
            baton_workflow::format_duration(p.timeout),
        ),
    )
}

/// The quit dialog's title and text: the runs this console drives (`runs`), each
/// `short` or `named`, and what Detach and Interrupt do with them.
fn quit_text(
    runs: &[String],
    short: &dyn Fn(&str) -> String,
    named: &dyn Fn(&str) -> String,
) -> (&'static str, String) {
    let ids: Vec<String> = runs.iter().map(|r| named(r)).collect();
    let (title, them, resume) = match runs {
        // The runs it drove ended while it was open: nothing is left to ask about.
        [] => {
            return (
                " Quit? ",
                "This console drives no run any more: the runs it drove have ended. Detach (d or y) and Interrupt (i) now only quit; Stay (n) keeps the console open.".to_string(),
            );
        }
        [one] => (
            " Quit while this console drives a run? ",
            "it",
            format!("`baton resume {}` continues it later", short(one)),
        ),
        _ => (
            " Quit while this console drives runs? ",
            "them",
            runs.iter()
                .map(|r| format!("`baton resume {}`", short(r)))
                .collect::<Vec<_>>()
                .join(", ")
                + " continue them later",
        ),
    };
    (
        title,
        format!(
            "This console drives run {}. Detach (d or y) hands {them} to a background engine, as `--detach` does: steps running now go on there, neither stopped nor started again. Interrupt (i) leaves {them} interrupted; {resume}. Runs driven elsewhere go on.",
            ids.join(", ")
        ),
    )
}

/// The buttons, the focused one lit, and their keys.
fn confirm_buttons<'a>(d: &ConfirmDialog, theme: &Theme) -> Line<'a> {
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
    Line::from(if d.what == ConfirmWhat::Quit {
        use crate::app::QuitButton;
        vec![
            styled(" ", theme.base),
            btn("Stay", d.button == QuitButton::Stay),
            styled("  ", theme.base),
            btn("Detach", d.button == QuitButton::Detach),
            styled("  ", theme.base),
            btn("Interrupt", d.button == QuitButton::Interrupt),
            styled("  n/d/i · ←→ · Enter", theme.dim),
        ]
    } else {
        vec![
            styled(" ", theme.base),
            btn("No", !d.yes),
            styled("   ", theme.base),
            btn("Yes", d.yes),
            styled("   y/n · ←→ · Enter", theme.dim),
        ]
    })
}

/// `24.60` for cost, `500` for calls and tokens.
fn amount(f: &BudgetField, v: f64) -> String {
    if f.limit == "cost" {
        format!("{v:.2}")
    } else {
        format!("{v:.0}")
    }
}

/// Every exhausted limit with used/limit and an amount to raise it by, then one reason.
pub(crate) fn budget(frame: &mut Frame, area: Rect, ui: &UiState, d: &BudgetDialog, theme: &Theme) {
    let w = area.width.saturating_sub(4).min(72);
    let body_w = w.saturating_sub(4) as usize;
    let mut lines: Vec<Line> = wrap_text(
        "The run stopped at its budget. Raise the limits below by the amounts typed, or Esc and cancel the run (c).",
        body_w,
    )
    .into_iter()
    .map(|l| Line::from(styled(format!(" {l}"), theme.base)))
    .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(styled(
        format!(
            " {}{}{}raise by",
            pad("limit", 9),
            pad("used", 12),
            pad("of", 12)
        ),
        theme.dim,
    )));
    let field = |text: &str, on: bool, width: usize| {
        let shown = fit(text, width.saturating_sub(1));
        let cursor = if on { "▏" } else { " " };
        styled(
            format!("[{}]", pad(&format!("{shown}{cursor}"), width)),
            if on { theme.selection } else { theme.base },
        )
    };
    for (i, f) in d.fields.iter().enumerate() {
        lines.push(Line::from(vec![
            styled(format!(" {}", pad(f.limit, 9)), theme.warning),
            styled(pad(&amount(f, f.used), 12), theme.base),
            styled(pad(&amount(f, f.ceiling), 12), theme.base),
            field(&f.raise, d.focus == i, 12),
        ]));
    }
    lines.push(Line::from(""));
    let reason_w = body_w.saturating_sub(12).max(8);
    lines.push(Line::from(vec![
        styled(" reason   ", theme.base),
        field(&d.reason, d.focus == d.fields.len(), reason_w),
    ]));
    lines.push(Line::from(styled(
        format!(
            " you raise as {}; the reason goes to the audit",
            ui.operator
        ),
        theme.dim,
    )));
    lines.push(match &d.error {
        Some(e) => Line::from(styled(format!(" ✘ {e}"), theme.error)),
        None => Line::from(""),
    });
    lines.push(Line::from(vec![
        styled(" Enter", theme.key),
        styled(" raise  ", theme.dim),
        styled("Tab/↓", theme.key),
        styled(" next field  ", theme.dim),
        styled("Esc", theme.key),
        styled(" cancel", theme.dim),
    ]));
    let h = (lines.len() as u16 + 2).min(area.height);
    let r = centered(area, w, h);
    frame.render_widget(Clear, r);
    let block = panel(
        styled(
            " Raise the budget ",
            theme.warning.add_modifier(Modifier::BOLD),
        ),
        theme,
        true,
    )
    .style(theme.base);
    let inner = block.inner(r);
    frame.render_widget(block, r);
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
}

/// The decision dialog's title: the decision and what it is on, the step or an ask's
/// question (issue 58 point 3).
fn title(d: &GateDialog, w: usize, theme: &Theme) -> (String, ratatui::style::Style) {
    let subject = match &d.subject {
        Some(q) => format!("“{}”", fit(q, w.saturating_sub(16))),
        None => d.step_id.clone(),
    };
    match d.decision {
        Decision::Approve => (format!(" Approve {subject} "), theme.ok),
        Decision::Reject => (format!(" Reject {subject} "), theme.error),
        Decision::PushBack => (format!(" Push back {subject} "), theme.warning),
    }
}
