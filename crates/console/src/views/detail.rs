//! Detail pane of the focused step: state, attempts, timings, outputs, error with its
//! suggestion, and the live log tail (sanitised).
use super::common::{dur, fit, in_run, kv, panel, styled, text_width, wrap_text};
use crate::app::UiState;
use crate::output::log_line;
use crate::theme::Theme;
use baton_model::time::human_duration;
use baton_model::view::describe_job;
use baton_model::{ErrorRecord, RunView, StepState, StepView, Timestamp};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

const LW: usize = 9;

pub(crate) fn render(
    frame: &mut Frame,
    area: Rect,
    view: &RunView,
    ui: &UiState,
    focus: Option<usize>,
    theme: &Theme,
) {
    let Some(s) = focus.and_then(|i| view.steps.get(i)) else {
        let block = panel(" Step ", theme, false);
        frame.render_widget(Paragraph::new("no step selected").block(block), area);
        return;
    };
    let block = panel(
        Line::from(vec![
            styled(" ", theme.title),
            styled(
                crate::views::common::step_glyph(s),
                crate::views::common::step_style(s, theme),
            ),
            styled(format!(" {} ", s.id), theme.title),
        ]),
        theme,
        false,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let w = inner.width as usize;
    let mut lines = step_lines(view, ui, s, w, theme);
    let room = (inner.height as usize).saturating_sub(lines.len());
    if s.fan.is_some() {
        // A fanned-out step ran no process of its own: its instances are its story.
        lines.extend(super::fan::instance_lines(view, ui, s, room, w, theme));
        frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
        return;
    }
    // The shell's tail of the file as it grows, else the tail the view recorded.
    let tail = match &ui.tail {
        Some((i, t)) if view.steps.get(*i).is_some_and(|v| v.id == s.id) => t.as_slice(),
        _ => s.log_tail.as_slice(),
    };
    if !tail.is_empty() && room >= 2 {
        lines.push(Line::from(styled(
            format!(
                "── log, last {} of {} ",
                room.saturating_sub(1).min(tail.len()),
                super::common::count(tail.len(), "line", "lines")
            ),
            theme.dim,
        )));
        let n = room - 1;
        let start = tail.len().saturating_sub(n);
        for l in &tail[start..] {
            lines.push(log_line(l, theme));
        }
    }
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
}

/// The facts about one step, wrapped to `w` columns.
pub(crate) fn step_lines<'a>(
    view: &RunView,
    ui: &UiState,
    s: &StepView,
    w: usize,
    theme: &Theme,
) -> Vec<Line<'a>> {
    let now = ui.clock(view);
    let mut lines = Vec::new();
    lines.push(state_line(s, theme));
    waiting_lines(view, ui, s, w, theme, &mut lines);
    story_lines(s, w, theme, &mut lines);
    clock_lines(view, ui, s, w, theme, &mut lines);
    if let Some(r) = s.retry_at.filter(|_| s.state == StepState::RetryWait) {
        let left = if r > now {
            format!("in {}", dur(now, r))
        } else {
            "now".into()
        };
        lines.push(kv(
            "retry",
            LW,
            styled(format!("attempt {} {left}", s.attempts + 1), theme.warning),
            theme,
        ));
    }
    lines.extend(job_lines(s, now, theme));
    lines.extend(probe_lines(s, now, w, theme));
    if let Some(p) = &s.pool {
        lines.push(kv("pool", LW, styled(p.clone(), theme.base), theme));
    }
    for (k, a) in wrap_text(&s.action, w.saturating_sub(LW).max(8))
        .into_iter()
        .enumerate()
    {
        lines.push(kv(
            if k == 0 { "action" } else { "" },
            LW,
            styled(a, theme.base),
            theme,
        ));
    }
    if !s.needs.is_empty() {
        let needs: Vec<String> = s
            .needs
            .iter()
            .filter_map(|&i| view.steps.get(i))
            .map(|n| format!("{} {}", crate::views::common::step_glyph(n), n.id))
            .collect();
        let room = w.saturating_sub(LW);
        lines.push(kv(
            "needs",
            LW,
            styled(fit(&needs.join("  "), room), theme.base),
            theme,
        ));
    }
    // A value wider than the pane ends in `…`, so a cut value never reads as whole.
    for (k, (key, v)) in s.outputs.iter().enumerate() {
        lines.push(kv(
            if k == 0 { "outputs" } else { "" },
            LW,
            styled(
                fit(&format!("{key} = {v}"), w.saturating_sub(LW)),
                theme.base,
            ),
            theme,
        ));
    }
    for (k, (key, v)) in s.inputs.iter().enumerate() {
        lines.push(kv(
            if k == 0 { "approved" } else { "" },
            LW,
            styled(
                fit(
                    &format!("{key} = {}", baton_model::sanitize::one_line(v)),
                    w.saturating_sub(LW),
                ),
                theme.base,
            ),
            theme,
        ));
    }
    if let Some(e) = &s.error {
        lines.extend(error_lines(e, w, theme));
    }
    note_lines(view, s, w, theme, &mut lines);
    lines
}

/// The most lines of a step's summary the pane shows; `baton show` prints it whole.
const SUMMARY_LINES: usize = 12;

/// The notes on the step (`baton note`: who, when, what) and its summary
/// (`$BATON_SUMMARY`), its first lines, each wrapped to the pane, sanitised.
fn note_lines<'a>(
    view: &RunView,
    s: &StepView,
    w: usize,
    theme: &Theme,
    lines: &mut Vec<Line<'a>>,
) {
    let room = w.saturating_sub(LW).max(8);
    let mut first = true;
    for n in view
        .notes
        .iter()
        .filter(|n| n.step.as_deref() == Some(s.id.as_str()))
    {
        let line = baton_model::sanitize::for_terminal(&format!(
            "{} {}: {}",
            n.by,
            n.at.to_rfc3339(),
            baton_model::sanitize::one_line(&n.text)
        ));
        for part in wrap_text(&line, room) {
            lines.push(kv(
                if first { "note" } else { "" },
                LW,
                styled(part, theme.base),
                theme,
            ));
            first = false;
        }
    }
    let Some(summary) = s.summary.as_deref() else {
        return;
    };
    let all: Vec<&str> = summary.lines().collect();
    let mut first = true;
    for l in all.iter().take(SUMMARY_LINES) {
        for part in wrap_text(&baton_model::sanitize::for_terminal(l), room) {
            lines.push(kv(
                if first { "summary" } else { "" },
                LW,
                styled(part, theme.base),
                theme,
            ));
            first = false;
        }
    }
    if all.len() > SUMMARY_LINES {
        let more = format!(
            "… {} more line(s): baton show {}",
            all.len() - SUMMARY_LINES,
            view.run_id
        );
        lines.push(kv("", LW, styled(more, theme.dim), theme));
    }
}

/// The step's time, its `timeout` and its `deadline`, each wrapped to the pane.
fn clock_lines<'a>(
    view: &RunView,
    ui: &UiState,
    s: &StepView,
    w: usize,
    theme: &Theme,
    lines: &mut Vec<Line<'a>>,
) {
    let now = ui.clock(view);
    let room = w.saturating_sub(LW).max(8);
    let timing = timing(view, ui, s, now);
    // Wrapped only when too wide (a wrap would close the gaps that part its figures).
    let parts = if text_width(&timing) <= room {
        vec![timing]
    } else {
        wrap_text(&timing, room)
    };
    for (k, part) in parts.into_iter().enumerate() {
        let label = if k == 0 { "time" } else { "" };
        lines.push(kv(label, LW, styled(part, theme.base), theme));
    }
    let timeout = timeout_line(s, ui, now).map(|l| ("timeout", l, theme.base));
    let deadline = deadline_line(view, s, ui).map(|(l, missed)| {
        (
            "deadline",
            l,
            if missed { theme.warning } else { theme.base },
        )
    });
    // Wrapped, never cut: the pane beside the graph is narrow.
    for (label, l, style) in timeout.into_iter().chain(deadline) {
        for (k, part) in wrap_text(&l, room).into_iter().enumerate() {
            lines.push(kv(
                if k == 0 { label } else { "" },
                LW,
                styled(part, style),
                theme,
            ));
        }
    }
}

/// The step's state, attempt, exit code and signal.
fn state_line<'a>(s: &StepView, theme: &Theme) -> Line<'a> {
    let mut state = vec![styled(
        format!(
            "{} {}",
            crate::views::common::step_glyph(s),
            crate::views::common::step_word(s)
        ),
        crate::views::common::step_style(s, theme),
    )];
    state.push(styled(
        match s.resumed_attempts() {
            0 => format!("   attempt {}", s.attempts_text()),
            n => format!(
                "   attempt {} ({n} re-run after a restart)",
                s.attempts_text()
            ),
        },
        theme.base,
    ));
    if let Some(c) = s.exit_code {
        state.push(styled(
            format!("   exit {c}"),
            if c == 0 { theme.base } else { theme.error },
        ));
    }
    if let Some(sig) = s.signal {
        state.push(styled(format!("   signal {sig}"), theme.error));
    }
    Line::from(
        std::iter::once(styled(format!("{:LW$}", "state"), theme.dim))
            .chain(state)
            .collect::<Vec<_>>(),
    )
}

/// A step waiting on a person says for what and who may decide (issue 28 point 9).
fn waiting_lines<'a>(
    view: &RunView,
    ui: &UiState,
    s: &StepView,
    w: usize,
    theme: &Theme,
    lines: &mut Vec<Line<'a>>,
) {
    // A hold is the story's `held` line, said once.
    if let Some(item) = baton_model::inbox::waiting(view, &ui.operator)
        .into_iter()
        .find(|i| i.step == s.id && i.kind != baton_model::inbox::WaitKind::Held)
    {
        for (k, l) in wrap_text(&item.prompt, w.saturating_sub(LW).max(10))
            .into_iter()
            .enumerate()
        {
            let label = if k == 0 { "prompt" } else { "" };
            lines.push(kv(label, LW, styled(l, theme.title), theme));
        }
        let you = match &item.why_not {
            None => format!("{} · you ({}) may decide", item.who(), ui.operator),
            Some(why) => format!("{} · {why}", item.who()),
        };
        lines.push(kv("who", LW, styled(you, theme.base), theme));
    }
}

/// The files the step kept: what a reader of `steps.ID.artifacts.NAME` is handed.
fn artifact_lines<'a>(s: &StepView, room: usize, theme: &Theme, lines: &mut Vec<Line<'a>>) {
    for (n, a) in s.artifacts.iter().enumerate() {
        let r = &a.record;
        let sha = r.sha256.get(..16).unwrap_or(&r.sha256);
        let text = baton_model::sanitize::for_terminal(&format!(
            "{} = {}, {} bytes, sha256 {sha}…, run {} attempt {}",
            r.name, r.path, r.size, a.run, a.attempt
        ));
        for (k, part) in wrap_text(&text, room).into_iter().enumerate() {
            let label = if n == 0 && k == 0 { "artifact" } else { "" };
            lines.push(kv(label, LW, styled(part, theme.base), theme));
        }
    }
}

/// Why the step is where it is: left running, waiting, cached, its condition, its
/// fallback, a mark, a question, a hold, why it did not run.
fn story_lines<'a>(s: &StepView, w: usize, theme: &Theme, lines: &mut Vec<Line<'a>>) {
    if let Some(l) = &s.left_running {
        lines.push(Line::from(vec![
            styled(format!("{:LW$}", "left"), theme.dim),
            styled(
                format!("still running ({}) without its engine", l.what()),
                theme.base,
            ),
        ]));
    }
    if let Some(w) = &s.waiting_for {
        lines.push(Line::from(vec![
            styled(format!("{:LW$}", "waits"), theme.dim),
            styled(baton_model::sanitize::for_terminal(w), theme.base),
        ]));
    }
    if let Some(run) = s.reused_from.as_ref().filter(|_| s.cached_from.is_none()) {
        // A fork kept its old run's outcome: no process ran in this run.
        lines.push(Line::from(vec![
            styled(format!("{:LW$}", "reused"), theme.dim),
            styled(format!("from run {run}, not run again"), theme.base),
        ]));
    }
    if let Some(run) = &s.child_run {
        // A step with `workflow = "…"`: its child run, where its own steps are.
        lines.push(Line::from(vec![
            styled(format!("{:LW$}", "child"), theme.dim),
            styled(format!("run {run}"), theme.base),
        ]));
    }
    if let Some(run) = &s.cached_from {
        // No process ran: where the result came from is the step's story.
        lines.push(Line::from(vec![
            styled(format!("{:LW$}", "cached"), theme.dim),
            styled(format!("from run {run}, not run again"), theme.base),
        ]));
    }
    let room = w.saturating_sub(LW).max(8);
    artifact_lines(s, room, theme, lines);
    if let Some(c) = &s.condition {
        for (k, part) in wrap_text(c, room).into_iter().enumerate() {
            let label = if k == 0 { "if" } else { "" };
            lines.push(kv(label, LW, styled(part, theme.base), theme));
        }
    }
    if let Some(status) = s.alternative_text() {
        // Its `fallback`: each alternative in order, then which one served or runs.
        for (n, f) in s.fallback.iter().enumerate() {
            let text = baton_model::sanitize::for_terminal(&format!("{}. {f}", n + 1));
            for (k, part) in wrap_text(&text, room).into_iter().enumerate() {
                let label = if n == 0 && k == 0 { "fallback" } else { "" };
                lines.push(kv(label, LW, styled(part, theme.base), theme));
            }
        }
        let style = if s.state == StepState::Failed {
            theme.warning
        } else {
            theme.base
        };
        let status = baton_model::sanitize::for_terminal(&status);
        for (k, part) in wrap_text(&status, room).into_iter().enumerate() {
            let label = if k == 0 { "alt" } else { "" };
            lines.push(kv(label, LW, styled(part, style), theme));
        }
    }
    if let Some(m) = &s.marked {
        // Set by hand: the state says so, with who and why (`baton mark`).
        let line = baton_model::sanitize::for_terminal(&m.said());
        for (k, part) in wrap_text(&line, room).into_iter().enumerate() {
            let label = if k == 0 { "marked" } else { "" };
            lines.push(kv(label, LW, styled(part, theme.warning), theme));
        }
    }
    if let Some(a) = &s.ask {
        // Its process asks a person (`baton ask`): answered on the Waiting tab.
        let line = baton_model::sanitize::for_terminal(&format!("{} ({})", a.prompt, a.id));
        for (k, part) in wrap_text(&line, room).into_iter().enumerate() {
            let label = if k == 0 { "asks" } else { "" };
            lines.push(kv(label, LW, styled(part, theme.warning), theme));
        }
    }
    if let Some(h) = &s.hold {
        // Held (`baton hold`, `P`): by whom, why, until when; frozen if it ran.
        let mut line = format!("by {}: {}", h.by, h.reason);
        if h.frozen {
            line.push_str(" · frozen: its processes are stopped, its clocks too");
        }
        if let Some(u) = h.until {
            line.push_str(&format!(" until {}", u.to_rfc3339()));
        }
        let line = baton_model::sanitize::for_terminal(&line);
        for (k, part) in wrap_text(&line, room).into_iter().enumerate() {
            let label = if k == 0 { "held" } else { "" };
            lines.push(kv(label, LW, styled(part, theme.warning), theme));
        }
    }
    if let Some(why) = &s.why {
        // Why it did not run: its trigger rule, or its condition and what it read.
        for (k, part) in wrap_text(why, room).into_iter().enumerate() {
            let label = if k == 0 { "why" } else { "" };
            lines.push(kv(label, LW, styled(part, theme.warning), theme));
        }
    }
}

/// When it started and ended, or how long it has waited, run or been up.
fn timing(view: &RunView, ui: &UiState, s: &StepView, now: Timestamp) -> String {
    // The step's duration is `show`'s: its latest attempt's run time, less the time it
    // was frozen (its clocks stop with its processes).
    let frozen = s.frozen_for(now);
    let took = crate::views::common::run_time(s, now).map(human_duration);
    if s.is_frozen()
        && let (Some(a), Some(h)) = (s.started_at, &s.hold)
    {
        return format!(
            "{}  ran {} · frozen {}",
            in_run(ui, view.started_at, a, now),
            took.unwrap_or_default(),
            human_duration(now.since(h.at))
        );
    }
    let was_frozen = if frozen.is_zero() || s.state != StepState::Running {
        String::new()
    } else {
        format!(" (and frozen {})", human_duration(frozen))
    };
    match (s.started_at, s.finished_at) {
        (Some(a), Some(b)) => format!(
            "{} → {}{}",
            in_run(ui, view.started_at, a, now),
            in_run(ui, view.started_at, b, now),
            took.map(|d| format!("  took {d}")).unwrap_or_default()
        ),
        // A job still in the cluster's queue has not begun to run: its time is waiting.
        (Some(a), None) if s.state == StepState::Running => format!(
            "{}  {} {}{was_frozen}",
            in_run(ui, view.started_at, a, now),
            if s.job_times(now).is_some_and(|t| t.ran.is_none()) {
                "submitted, waiting for"
            } else {
                "running for"
            },
            took.unwrap_or_default()
        ),
        (Some(a), None) if s.state == StepState::Ready => format!(
            "{}  up for {}",
            in_run(ui, view.started_at, a, now),
            took.unwrap_or_default()
        ),
        (Some(a), None) => in_run(ui, view.started_at, a, now),
        (None, _) => match s.queued_at {
            Some(q) => format!("queued {}", in_run(ui, view.started_at, q, now)),
            None => "not started".into(),
        },
    }
}

/// The latest attempt's cluster job: its executor and id, what the cluster says of it
/// while it runs (`PENDING (Resources)`), and its queue time apart from its run time.
fn job_lines<'a>(s: &StepView, now: Timestamp, theme: &Theme) -> Vec<Line<'a>> {
    let Some(job) = s.job() else {
        return Vec::new();
    };
    let mut lines = vec![kv(
        "executor",
        LW,
        styled(format!("{} · job {}", job.executor, job.job_id), theme.base),
        theme,
    )];
    if s.state == StepState::Running
        && let Some(state) = &job.state
    {
        let style = if state == baton_model::JOB_RUNNING {
            theme.base
        } else {
            theme.warning
        };
        lines.push(kv(
            "cluster",
            LW,
            styled(describe_job(state, job.reason.as_deref()), style),
            theme,
        ));
    }
    if let Some(t) = s.job_times(now) {
        let queued = t.queued.map_or("?".into(), human_duration);
        let text = match t.ran {
            Some(r) => format!("{queued}   ran {}", human_duration(r)),
            None if s.state == StepState::Running => format!("{queued} so far"),
            None => format!("{queued}   ran ?"),
        };
        lines.push(kv("queued", LW, styled(text, theme.base), theme));
    }
    lines
}

/// A service's latest probe check: which probe checked what, what it got and when.
fn probe_lines<'a>(s: &StepView, now: Timestamp, w: usize, theme: &Theme) -> Vec<Line<'a>> {
    let Some(p) = &s.probe else {
        return Vec::new();
    };
    let room = w.saturating_sub(LW);
    let (mark, style) = if p.ok {
        ("✔", theme.ok)
    } else {
        ("✘", theme.error)
    };
    let row = if p.failures > 0 {
        format!(", {} in a row", p.failures)
    } else {
        String::new()
    };
    vec![
        kv(
            "probe",
            LW,
            styled(fit(&format!("{} {}", p.probe, p.check), room), theme.base),
            theme,
        ),
        kv(
            "",
            LW,
            styled(
                fit(
                    &format!(
                        "{mark} {}  ({} ago{row})",
                        p.detail,
                        dur(p.at, now.max(p.at))
                    ),
                    room,
                ),
                style,
            ),
            theme,
        ),
    ]
}

/// Kind, severity, message and suggestion of an error, wrapped.
pub(crate) fn error_lines<'a>(e: &ErrorRecord, w: usize, theme: &Theme) -> Vec<Line<'a>> {
    let mut lines = vec![Line::from(vec![
        styled(format!("{:LW$}", "error"), theme.dim),
        styled(format!("{} ", e.kind), theme.severity(e.severity)),
        styled(format!("({})", e.severity), theme.severity(e.severity)),
        styled(if e.open { "" } else { "  closed" }, theme.dim),
    ])];
    let body = w.saturating_sub(LW).max(8);
    for l in wrap_text(&e.message, body) {
        lines.push(Line::from(vec![
            Span::raw(" ".repeat(LW)),
            styled(l, theme.base),
        ]));
    }
    for (k, l) in wrap_text(&e.suggestion, body.saturating_sub(2).max(6))
        .into_iter()
        .enumerate()
    {
        lines.push(Line::from(vec![
            Span::raw(" ".repeat(LW)),
            styled(if k == 0 { "→ " } else { "  " }, theme.accent),
            styled(l, theme.accent),
        ]));
    }
    lines
}

/// A step's `deadline` (issue 58 point 9) and where it stands, the wall clock or `+12m`
/// as `t` says: `within 4m00s of ready · MISSED (due 14:05:00, reported 14:05:00)`;
/// and whether it was missed (drawn as a warning). Nothing is stopped by it. A deadline
/// is a time on the wall clock, engine or none: on a run no engine drives (whose other
/// clocks stop where its engine stopped) it counts down on the wall clock, and once
/// that passes it unreported, says so (`due 14:05:00 · passed while no engine ran:
/// reported on resume`), never `(in 4.0s)`.
fn deadline_line(view: &RunView, s: &StepView, ui: &UiState) -> Option<(String, bool)> {
    let d = view
        .deadlines
        .iter()
        .find(|d| d.step.as_deref() == Some(s.id.as_str()))?;
    let wall = ui.store_clock(view);
    if let Some(due) = d.passed_unreported(wall, view.engine_gone_at) {
        let passed = baton_model::deadline::PASSED_UNREPORTED;
        let text = format!("{} · due {} · {passed}", d.rule(), ui.wall(due, wall));
        return Some((text, true));
    }
    let status = d.status(|t| match d.missed {
        None if t > wall => format!("{} (in {})", ui.wall(t, wall), dur(wall, t)),
        _ => ui.wall(t, wall),
    });
    Some((format!("{} · {status}", d.rule()), d.missed.is_some()))
}

/// A step's `timeout` and, while it runs, when it fires (issue 45 point 6): `10m00s ·
/// fires at 14:03:22 (in 4m12s)`; the wall clock or `+12m` in the run as `t` says. The
/// time is the engine's: moved on by every span the step was frozen; while frozen, the
/// clock is stopped and says what is left.
fn timeout_line(s: &StepView, ui: &UiState, now: Timestamp) -> Option<String> {
    let limit = human_duration(std::time::Duration::from_millis(s.timeout_ms?));
    Some(match s.timeout_due(now) {
        Some(baton_model::TimeoutDue::Stopped(left)) => {
            format!(
                "{limit} · stopped while frozen, {} left",
                human_duration(left)
            )
        }
        Some(baton_model::TimeoutDue::At(fires)) => {
            let when = ui.wall(fires, now);
            if fires > now {
                format!("{limit} · fires at {when} (in {})", dur(now, fires))
            } else {
                format!("{limit} · fired at {when}")
            }
        }
        None => limit,
    })
}
