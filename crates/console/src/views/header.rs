//! Header (run, health, budget, golden signals), tab bar, status line and footer hints.
use super::common::{dur, styled, text_width};
use super::hints::{self, Hint};
use crate::app::Action;
use crate::app::Hits;
use crate::app::{Tab, UiState, short_id};
use crate::keymap::{Context, Keymap};
use crate::theme::Theme;
use baton_model::time::human_duration;
use baton_model::{Eta, RunState, RunView, StepState, Timestamp};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::time::Duration;

pub(crate) fn run_state_glyph(s: RunState) -> &'static str {
    match s {
        RunState::Pending => "·",
        RunState::Queued => "○",
        RunState::Running => "▶",
        RunState::Waiting => "⏸",
        RunState::Succeeded => "✔",
        RunState::Failed => "✘",
        RunState::Cancelled => "■",
        RunState::Skipped => "⤼",
        RunState::Interrupted => "↯",
    }
}

pub(crate) fn run_state_style(s: RunState, theme: &Theme) -> ratatui::style::Style {
    use baton_model::StepState as S;
    theme.state(match s {
        RunState::Pending => S::Pending,
        RunState::Queued => S::Queued,
        RunState::Running => S::Running,
        RunState::Waiting => S::WaitingApproval,
        RunState::Succeeded => S::Succeeded,
        RunState::Failed => S::Failed,
        RunState::Cancelled => S::Cancelled,
        RunState::Skipped => S::Skipped,
        RunState::Interrupted => S::Interrupted,
    })
}

/// `✘ failed`, or `⊘ rejected` for a run that failed only because a gate was rejected
/// (`health::outcome`), with its style: a run as the header, the Runs tab and its
/// strip show it.
pub(crate) fn run_reading(
    s: RunState,
    rejected: bool,
    theme: &Theme,
) -> (&'static str, &'static str, ratatui::style::Style) {
    use baton_model::health::outcome;
    if rejected && s == RunState::Failed {
        let r = baton_model::StepState::Rejected;
        (r.glyph(), outcome::word(s, true), theme.state(r))
    } else {
        (run_state_glyph(s), s.as_str(), run_state_style(s, theme))
    }
}

/// The missed deadlines on record, as the header says them: the run's own, its
/// steps', or both (` deadline missed · 2 steps late `; ` run + 2 steps late ` under
/// 110 columns); `None` when none is missed.
fn missed_badge(run: bool, steps: usize, narrow: bool) -> Option<String> {
    let s = if steps == 1 { "" } else { "s" };
    Some(match (run, steps, narrow) {
        (false, 0, _) => return None,
        (true, 0, true) => " run late ".to_string(),
        (true, 0, false) => " deadline missed ".to_string(),
        (false, n, true) => format!(" {n} step{s} late "),
        (false, n, false) => format!(" {n} step deadline{s} missed "),
        (true, n, true) => format!(" run + {n} step{s} late "),
        (true, n, false) => format!(" deadline missed · {n} step{s} late "),
    })
}

/// The run's deadlines (issue 58 point 9): a missed one stands out on every screen
/// (the run's own and how many of its steps'); one still to come says when it falls,
/// and one whose time the wall clock passed while no engine drove the run says so (its
/// clock stopped where the engine stopped): reported when an engine resumes it.
fn deadline_spans<'a>(
    l1: &mut Vec<Span<'a>>,
    view: &RunView,
    ui: &UiState,
    narrow: bool,
    theme: &Theme,
) {
    let run = view.deadlines.iter().find(|d| d.step.is_none());
    let steps = view
        .deadlines
        .iter()
        .filter(|d| d.step.is_some() && d.missed.is_some())
        .count();
    let run_missed = run.is_some_and(|d| d.missed.is_some());
    let wall = ui.store_clock(view);
    let due = run
        .filter(|d| !d.met && !view.state.is_final())
        .and_then(|d| d.due);
    if let Some(text) = missed_badge(run_missed, steps, narrow) {
        l1.push(Span::raw("  "));
        l1.push(styled(text, theme.warning.add_modifier(Modifier::REVERSED)));
    } else if let Some(due) = run.and_then(|d| d.passed_unreported(wall, view.engine_gone_at)) {
        l1.push(styled(
            if narrow { "  due " } else { "  deadline " },
            theme.dim,
        ));
        let tail = if narrow {
            " passed"
        } else {
            " passed: reported on resume"
        };
        l1.push(styled(
            format!("{}{tail}", ui.wall(due, wall)),
            theme.warning,
        ));
    } else if let Some(due) = due {
        let now = ui.clock(view);
        l1.push(styled(
            if narrow { "  due " } else { "  deadline " },
            theme.dim,
        ));
        l1.push(styled(ui.wall(due, now), theme.base));
    }
}

/// Three lines: identity and counts; health and signals; tabs.
pub(crate) fn render(
    frame: &mut Frame,
    area: Rect,
    view: &RunView,
    ui: &UiState,
    theme: &Theme,
    hits: &mut Hits,
) {
    let now = ui.clock(view);
    // Below 110 columns the labels shrink so the numbers still fit in 80.
    let narrow = area.width < 110;
    let mut l3 = tabs_line(view, ui, area, theme, hits);
    // A run opening: nothing of the run shown before is said to be its.
    let (l1, l2) = match ui.opening_other(view) {
        Some(id) => (opening_line(id, view, ui, theme), Vec::new()),
        None => {
            progress(&mut l3, area.width as usize, view, ui, now, narrow, theme);
            (
                identity_line(view, ui, area, narrow, theme),
                health_line(view, now, narrow, theme),
            )
        }
    };
    frame.render_widget(
        Paragraph::new(vec![Line::from(l1), Line::from(l2), Line::from(l3)]).style(theme.base),
        area,
    );
}

/// The store the shown run is on (a store on another host, or one of several), and
/// where its link stands at `now`; with how many others are not connected.
fn store_span<'a>(
    s: &baton_link::StoreStatus,
    (now, desk): (Timestamp, bool),
    theme: &Theme,
) -> Span<'a> {
    use baton_link::LinkState;
    match &s.state {
        // One of several: its name (`:stores` says where each is).
        LinkState::Connected if desk => styled(format!("  store {}", s.name), theme.accent),
        LinkState::Connected => styled(format!("  store {} ({})", s.name, s.host), theme.accent),
        LinkState::Connecting => styled(
            format!(" store {}: connecting… ", s.name),
            theme.warning.add_modifier(Modifier::REVERSED),
        ),
        LinkState::Down { .. } | LinkState::Refused { .. } => styled(
            // ssh's or the remote baton's words: child output, sanitised.
            format!(
                " store {} {} ",
                s.name,
                baton_model::sanitize::one_line(&s.state.describe(now))
            ),
            theme.error.add_modifier(Modifier::REVERSED),
        ),
    }
}

/// On a console over several stores, how many besides the shown run's are not
/// connected (`:stores` lists them with why).
fn others_down<'a>(ui: &UiState, theme: &Theme) -> Option<Span<'a>> {
    let shown = ui.store.as_ref().map(|s| s.name.as_str());
    let down = ui
        .desk
        .stores
        .iter()
        .filter(|s| Some(s.name.as_str()) != shown && !s.state.is_connected())
        .count();
    (down > 0).then(|| {
        styled(
            format!(" +{down} down (:stores) "),
            theme.warning.add_modifier(Modifier::REVERSED),
        )
    })
}

/// The run asked to open, until its view arrives: its workflow (from the Runs list),
/// short id, and the store it is on with its link's state (a view from a store that is
/// down does not come: the header says why).
fn opening_line<'a>(id: &str, view: &RunView, ui: &UiState, theme: &Theme) -> Vec<Span<'a>> {
    let workflow = ui.workflow_of(id);
    let mut l1 = vec![styled(" ◆ ", theme.accent)];
    if !workflow.is_empty() {
        l1.push(styled(workflow, theme.title));
        l1.push(Span::raw("  "));
    }
    l1.push(styled(
        format!("opening run {}…", short_id(id, &ui.run_ids)),
        theme.dim,
    ));
    let store = match ui.desk.is_many() {
        true => ui.desk.store_of(id),
        false => ui.store.as_deref(),
    };
    if let Some(s) = store {
        l1.push(store_span(
            s,
            (ui.store_clock(view), ui.desk.is_many()),
            theme,
        ));
    }
    l1
}

/// Identity and counts: workflow, run, state, read-only, engine or viewer, elapsed, budget.
fn identity_line<'a>(
    view: &RunView,
    ui: &UiState,
    area: Rect,
    narrow: bool,
    theme: &Theme,
) -> Vec<Span<'a>> {
    let now = ui.clock(view);
    let elapsed = match (view.started_at, view.finished_at) {
        (Some(s), Some(f)) => dur(s, f),
        (Some(s), None) => dur(s, now),
        _ => "–".into(),
    };
    let mut l1 = vec![
        styled(" ◆ ", theme.accent),
        styled(view.workflow.clone(), theme.title),
        styled(if narrow { "  " } else { "  run " }, theme.dim),
        styled(short_id(&view.run_id, &ui.run_ids).to_string(), theme.base),
        Span::raw("  "),
        {
            let rejected = baton_model::health::outcome::reads_rejected(
                view.state,
                view.steps.iter().map(|s| s.state),
            );
            let (glyph, word, style) = run_reading(view.state, rejected, theme);
            styled(format!("{glyph} {word}"), style)
        },
    ];
    // A child run names its parent's run and step (`workflow = "…"`) next to its
    // state, before what may give way (the budget's figures), where it fits whole.
    if let Some(p) = &view.parent {
        let text = format!("  child of {}/{}", short_id(&p.run, &ui.run_ids), p.step);
        let used: usize = l1.iter().map(|s| s.width()).sum();
        if used + text_width(&text) <= area.width as usize {
            l1.push(styled(text, theme.accent));
        }
    }
    // A run's trigger chain, as long as leaves room for engine-or-viewer, elapsed and
    // (in 80 columns) the budget's first figure.
    let used: usize = l1.iter().map(|s| s.width()).sum();
    let keep = match narrow {
        true => 20 + if view.budget.is_some() { 16 } else { 0 },
        false => 26,
    };
    let room = (area.width as usize).saturating_sub(used + keep);
    if let Some(text) = super::chain::header_text(view, ui, room) {
        l1.push(styled(format!("  {text}"), theme.accent));
    }
    // A store on another host: its name, and whether its link is up, on every screen.
    if let Some(s) = &ui.store {
        l1.push(store_span(
            s,
            (ui.store_clock(view), ui.desk.is_many()),
            theme,
        ));
    }
    l1.extend(others_down(ui, theme));
    // A console that may only look says so where every screen shows it.
    if ui.readonly {
        l1.push(styled(
            " read-only ",
            theme.warning.add_modifier(Modifier::REVERSED),
        ));
    }
    // Engine or viewer, on every screen: how many runs quitting would stop or hand on.
    l1.push(Span::raw(if ui.driven.is_empty() { "" } else { " " }));
    l1.push(match ui.driven.len() {
        0 => styled("  viewer", theme.dim),
        1 if narrow => styled(" drives 1 ", theme.warning.add_modifier(Modifier::REVERSED)),
        1 => styled(
            " drives 1 run ",
            theme.warning.add_modifier(Modifier::REVERSED),
        ),
        n => styled(
            if narrow {
                format!(" drives {n} ")
            } else {
                format!(" drives {n} runs ")
            },
            theme.warning.add_modifier(Modifier::REVERSED),
        ),
    });
    l1.extend([
        styled(if narrow { "  ⏱ " } else { "  elapsed " }, theme.dim),
        styled(elapsed, theme.base),
    ]);
    // The gates and errors are counted on the tab line (`Approvals (2)  Errors (3)`):
    // this line's room goes to engine-or-viewer, a missed deadline and the budget.
    deadline_spans(&mut l1, view, ui, narrow, theme);
    if let Some(b) = &view.budget {
        // A run that ended (or whose engine is gone) spends nothing: no pace.
        let live = !view.state.is_final() && view.state != RunState::Interrupted;
        budget_spans(&mut l1, b, (area, live), narrow, theme);
    }
    // Which workflow text the run used (`baton diff` compares two), where it fits whole.
    if let Some(h) = &view.workflow_hash {
        let text = format!("  text {h}");
        let used: usize = l1.iter().map(|s| s.width()).sum();
        if used + text_width(&text) <= area.width as usize {
            l1.push(styled(text, theme.dim));
        }
    }
    l1
}

/// The budget's figures, as many as fit whole, and its pace when there is room.
fn budget_spans(
    l1: &mut Vec<Span<'_>>,
    b: &baton_model::view::BudgetView,
    (area, live): (Rect, bool),
    narrow: bool,
    theme: &Theme,
) {
    let mut parts = Vec::new();
    match b.cost {
        Some((used, max)) => parts.push(format!("${used:.2}/${max:.2}")),
        None if b.used_cost > 0.0 => parts.push(format!("${:.2}", b.used_cost)),
        None => {}
    }
    if let Some((used, max)) = b.calls {
        parts.push(format!("{used}/{max} calls"));
    }
    match b.tokens {
        Some((used, max)) => parts.push(format!("{used}/{max} tok")),
        None if b.used_tokens > 0 => parts.push(format!("{} tok", b.used_tokens)),
        None => {}
    }
    // Whole figures or none: `5300/600` is never cut to `5300/6`, and a figure
    // left out is marked `…` (`h` shows them all).
    // Narrow: no label; each figure says what it is (`$`, `calls`, `tok`).
    // The whole budget before its label: where `budget ` would push a figure out, the
    // figures go without it (each says what it is).
    let before: usize = l1.iter().map(|s| s.width()).sum::<usize>();
    let whole = |label: &str| before + label.len() + text_width(&parts.join(" · "));
    let label = if narrow || whole("  budget ") > area.width as usize {
        "  "
    } else {
        "  budget "
    };
    let used = before + label.len();
    let text = budget_text(&parts, if narrow { 1 } else { parts.len() }, |t| {
        used + text_width(t) <= area.width as usize
    });
    let near = [
        b.cost.map(|(u, m)| u / m.max(f64::EPSILON)),
        b.calls.map(|(u, m)| u as f64 / m.max(1) as f64),
        b.tokens.map(|(u, m)| u as f64 / m.max(1) as f64),
    ]
    .into_iter()
    .flatten()
    .any(|f| f >= 0.8);
    if let Some(text) = text {
        l1.push(styled(label, theme.dim));
        l1.push(styled(text, if near { theme.warning } else { theme.base }));
        // The pace and the time left to the nearest ceiling, when there is room.
        if let Some(pace) = pace_text(b).filter(|_| live) {
            let pace = format!(" · {pace}");
            let used: usize = l1.iter().map(|s| s.width()).sum();
            if used + text_width(&pace) <= area.width as usize {
                l1.push(styled(pace, if near { theme.warning } else { theme.dim }));
            }
        }
    }
}

/// Health and signals: the gauge, quality, throughput, failed share, latency, queue.
fn health_line<'a>(
    view: &RunView,
    now: baton_model::Timestamp,
    narrow: bool,
    theme: &Theme,
) -> Vec<Span<'a>> {
    let h = &view.health;
    // Under 110 columns every signal still fits on the line: a shorter gauge and label.
    let cells = if narrow { 5 } else { 10 };
    let filled = ((h.score / 100.0) * cells as f64)
        .round()
        .clamp(0.0, cells as f64) as usize;
    let s = &view.signals;
    let failed = view.health.failed_share.unwrap_or(0.0);
    let ms = |v: Option<u64>| {
        v.map_or("–".to_string(), |m| {
            human_duration(Duration::from_millis(m))
        })
    };
    let l2 = vec![
        styled(" health ", theme.dim),
        styled("█".repeat(filled), theme.gauge(h.label)),
        styled("░".repeat(cells - filled), theme.gauge_empty()),
        styled(
            format!(" {:.0} ", h.score),
            theme.gauge(h.label).add_modifier(Modifier::BOLD),
        ),
        styled(
            if narrow {
                short_label(h.label)
            } else {
                h.label.as_str()
            },
            theme.gauge(h.label),
        ),
        styled(if narrow { " q " } else { "  quality " }, theme.dim),
        styled(
            h.quality.map_or("–".into(), |q| format!("{q:.2}")),
            theme.base,
        ),
        styled(if narrow { " " } else { "  │ " }, theme.border),
        styled(format!("{:.2}", view.finished_per_sec_at(now)), theme.base),
        // The judged steps that failed or never started because of it
        // (`Health::failed_share`): not the error records counted above.
        styled(
            if narrow {
                "/s fail "
            } else {
                " fin/s  failed "
            },
            theme.dim,
        ),
        styled(
            failed_text(view, failed, narrow),
            if failed > 0.0 || view.state == RunState::Failed {
                theme.warning
            } else {
                theme.base
            },
        ),
        styled(if narrow { " p50 " } else { "  p50 " }, theme.dim),
        styled(ms(s.p50_ms), theme.base),
        styled(" p95 ", theme.dim),
        styled(ms(s.p95_ms), theme.base),
        styled(if narrow { " queue " } else { "  queue " }, theme.dim),
        styled(s.queue_depth.to_string(), theme.base),
        styled(if narrow { " run " } else { "  running " }, theme.dim),
        styled(s.running.to_string(), theme.base),
    ];
    l2
}

/// The tabs, each numbered, with its count and a click area; titles shorten to fit.
fn tabs_line<'a>(
    view: &RunView,
    ui: &UiState,
    area: Rect,
    theme: &Theme,
    hits: &mut Hits,
) -> Vec<Span<'a>> {
    let now = ui.clock(view);
    let mut l3 = vec![Span::raw(" ")];
    let opening = ui.opening_other(view).is_some();
    let count = |t: &Tab| match t.spec().count.map(|n| n(view, ui)) {
        Some(n) if n > 0 && !(opening && t.spec().of_run) => format!(" ({n})"),
        _ => String::new(),
    };
    // The progress count keeps its room: the titles shorten, then the gaps narrow. A
    // count's room (` (3)`) is kept while it is 0, so a gate opening does not rename tabs.
    let p = view.progress(now, &|id| ui.expected(view, id));
    let keep = format!("{}/{}", p.finished, p.total).len() + 2;
    let count_w = |t: &Tab| match t.spec().count {
        Some(_) => count(t).len().max(4),
        None => 0,
    };
    let line_w = |short: bool, gap: usize| {
        1 + Tab::ALL
            .iter()
            .map(|t| 2 + text_width(tab_title(*t, short)) + count_w(t) + gap)
            .sum::<usize>()
    };
    let room = area.width as usize;
    let (short, gap) = [(false, 2), (true, 2), (true, 1)]
        .into_iter()
        .find(|&(short, gap)| line_w(short, gap) + keep <= room)
        .unwrap_or((true, 1));
    for (i, t) in Tab::ALL.iter().enumerate() {
        let st = if *t == ui.tab {
            theme.tab_active
        } else {
            theme.tab_inactive
        };
        let label = format!(" {}{}", tab_title(*t, short), count(t));
        let x: usize = l3.iter().map(|s| s.width()).sum();
        hits.record(
            Rect {
                x: area.x + x as u16,
                y: area.y + 2,
                width: (1 + label.chars().count()) as u16,
                height: 1,
            }
            .intersection(area),
            crate::app::Hit::Tab(*t),
        );
        l3.push(styled(format!("{}", i + 1), theme.key));
        l3.push(styled(label, st));
        l3.push(styled(" ".repeat(gap), theme.base));
    }
    l3
}

/// The judged steps' failed share as the header says it (issue 45 point 6): a share
/// under 1% is `<1%`, never `0%`; a failed run whose failure no judged step carries (a
/// rejection, the run's timeout, a step outside the score) says how many steps ended
/// failed (`1 step`, narrow `1✘`), never `0%`.
fn failed_text(view: &RunView, share: f64, narrow: bool) -> String {
    if share > 0.0 && share < 0.005 {
        return "<1%".into();
    }
    if share > 0.0 || view.state != RunState::Failed {
        // A handled failure counts as failed, said to be handled where there is room.
        return match view.health.handled {
            n if n > 0 && !narrow => format!("{:.0}% ({n} handled)", share * 100.0),
            _ => format!("{:.0}%", share * 100.0),
        };
    }
    let n = view.steps.iter().filter(|s| s.state.ended_badly()).count();
    match n {
        0 => "run".into(),
        // Narrow: as wide as `17%`, so the line's last figures keep their room.
        n if narrow => format!("{n}✘"),
        1 => "1 step".into(),
        n => format!("{n} steps"),
    }
}

/// A tab's title on the tab line; `short` where the whole line would not fit.
fn tab_title(t: Tab, short: bool) -> &'static str {
    if short { t.spec().short } else { t.title() }
}

/// `1200/2000 ██████░░░░ ~3m12s left` at the right end of the tab line, dropping the
/// estimate, then the bar, when the line is too narrow for them.
fn progress(
    line: &mut Vec<Span<'static>>,
    width: usize,
    view: &RunView,
    ui: &UiState,
    now: baton_model::Timestamp,
    narrow: bool,
    theme: &Theme,
) {
    let p = view.progress(now, &|id| ui.expected(view, id));
    let count = format!("{}/{}", p.finished, p.total);
    let cells = if narrow { 5 } else { 10 };
    let filled = ((p.fraction() * cells as f64).round() as usize).min(cells);
    let eta = match p.eta {
        Eta::None => None,
        // Said why when the durations could not be read (not as if no run succeeded).
        Eta::Unknown => match ui.expected_unread(view) {
            Some(why) => Some(format!(
                " ETA unknown: durations unread ({})",
                crate::views::common::fit(&baton_model::sanitize::one_line(why), 48)
            )),
            None => Some(" ETA unknown".to_string()),
        },
        Eta::About(d) if ui.wall_clock => Some(format!(" ends ~{}", ui.wall(now.add(d), now))),
        Eta::About(d) => Some(format!(" ~{} left", human_duration(d))),
        Eta::AfterDecisions(d) if ui.wall_clock => {
            Some(format!(" ends ~{} + decisions", ui.wall(now.add(d), now)))
        }
        Eta::AfterDecisions(d) => Some(format!(" ~{} left + decisions", human_duration(d))),
    };
    let used: usize = line.iter().map(|s| s.width()).sum();
    let room = width.saturating_sub(used + 1);
    let eta_w = eta.as_ref().map_or(0, |e| e.chars().count());
    let (bar, eta) = if count.len() + 1 + cells + eta_w <= room {
        (true, eta)
    } else if count.len() + 1 + cells <= room {
        (true, None)
    } else if count.len() <= room {
        (false, None)
    } else {
        return;
    };
    let w = count.len()
        + if bar { 1 + cells } else { 0 }
        + eta.as_ref().map_or(0, |e| e.chars().count());
    line.push(Span::raw(" ".repeat(room - w)));
    line.push(styled(count, theme.base));
    if bar {
        line.push(Span::raw(" "));
        let st = run_state_style(view.state, theme);
        line.push(styled("█".repeat(filled), st));
        line.push(styled("░".repeat(cells - filled), theme.gauge_empty()));
    }
    if let Some(e) = eta {
        line.push(styled(e, theme.dim));
    }
}

/// The keys whose footer word follows the selection (`app::hint_word`).
const WORDED: [Action; 7] = [
    Action::Hold,
    Action::Yes,
    Action::No,
    Action::Detach,
    Action::Interrupt,
    Action::Log,
    Action::Diff,
];

/// Status line (toast, input being typed, pending commands) and the key hints.
pub(crate) fn footer(
    frame: &mut Frame,
    area: Rect,
    view: &RunView,
    ui: &UiState,
    theme: &Theme,
    keys: &Keymap,
) {
    if area.height == 0 {
        return;
    }
    if long_toast(frame, area, ui, theme) {
        return;
    }
    let mut lines = Vec::new();
    if area.height >= 2 {
        let status = if ui.filter_editing {
            let hint = format!("  {}", ui.filter_hint());
            // A refused filter says why right where it is typed.
            let (hint, style) = match ui.toast.as_ref().filter(|t| !t.ok) {
                Some(t) => (format!("  {}", t.text), theme.error),
                None => (hint.to_string(), theme.dim),
            };
            Line::from(vec![
                styled(" filter ", theme.key),
                styled(format!("/{}▏", ui.active_filter()), theme.base),
                styled(hint, style),
            ])
        } else if let Some(text) = &ui.jump {
            // A jump that leads nowhere says why right where it is typed.
            let (hint, style) = match ui.toast.as_ref().filter(|t| !t.ok) {
                Some(t) => (format!("  {}", t.text), theme.error),
                None => ("  a run id (its start) or a step id".to_string(), theme.dim),
            };
            Line::from(vec![
                styled(" jump ", theme.key),
                styled(format!(":{text}▏"), theme.base),
                styled(hint, style),
            ])
        } else if let Some(l) = ui.log.as_ref().filter(|l| l.searching) {
            Line::from(vec![
                styled(" search ", theme.key),
                styled(format!("/{}▏", l.search), theme.base),
            ])
        } else if let Some(t) = &ui.toast {
            Line::from(styled(
                format!(" {}", t.text),
                if t.ok { theme.ok } else { theme.error },
            ))
        } else {
            let mut s = Vec::new();
            if ui.pending > 0 {
                s.push(format!("{} command(s) waiting for the engine", ui.pending));
            }
            if !ui.active_filter().is_empty() {
                s.push(format!("filter: {}", ui.active_filter()));
            }
            // Only while something runs to follow (issue 28 point 9).
            if ui.tab == Tab::Dag
                && ui.follow
                && ui.log.is_none()
                && view.steps.iter().any(|s| s.state == StepState::Running)
            {
                s.push("following running steps".into());
            }
            if view.state == RunState::Interrupted {
                s.push(format!(
                    "run interrupted: `baton resume {}` continues it",
                    short_id(&view.run_id, &ui.run_ids)
                ));
            }
            if let Some(w) = view
                .waiting_for
                .as_deref()
                .filter(|_| view.state == RunState::Queued)
            {
                s.push(baton_model::sanitize::for_terminal(w));
            }
            Line::from(styled(format!(" {}", s.join(" · ")), theme.dim))
        };
        lines.push(status);
    }
    let entries = footer_entries(view, ui, keys);
    let mut hints = vec![Span::raw(" ")];
    for (i, h) in hints::layout(entries, area.width as usize)
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            hints.push(Span::raw("  "));
        }
        hints.push(styled(h.keys, theme.key));
        hints.push(styled(format!(" {}", h.what), theme.dim));
    }
    lines.push(Line::from(hints));
    frame.render_widget(Paragraph::new(lines).style(theme.base), area);
}

/// A toast wider than the status line (a refusal naming a run, its step and what to
/// do) is not cut at the terminal's edge: while it shows it takes the key hints' line
/// too, wrapped at words, and the hints come back when it goes. Whether it did.
fn long_toast(frame: &mut Frame, area: Rect, ui: &UiState, theme: &Theme) -> bool {
    let Some(t) = ui.toast.as_ref() else {
        return false;
    };
    // An input being typed keeps its line; an overlay or a dialog drawn over the
    // status line would hide the toast's first row.
    let busy = ui.filter_editing
        || ui.jump.is_some()
        || ui.log.as_ref().is_some_and(|l| l.searching)
        || ui.overlay.is_some()
        || ui.dialog.is_some();
    if busy || area.height < 2 || text_width(&t.text) < area.width as usize {
        return false;
    }
    let style = if t.ok { theme.ok } else { theme.error };
    let rows = two_rows(&t.text, area.width.saturating_sub(1) as usize);
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|r| Line::from(styled(format!(" {r}"), style)))
        .collect();
    frame.render_widget(Paragraph::new(lines).style(theme.base), area);
    true
}

/// `text` wrapped at words into at most two rows of `width` columns, the second
/// ending in `…` when more is left (a word wider than a row is cut).
fn two_rows(text: &str, width: usize) -> Vec<String> {
    let mut rows: Vec<String> = vec![String::new()];
    for word in text.split_whitespace() {
        let last = rows.last_mut().map_or(0, |r| text_width(r));
        let gap = usize::from(last > 0);
        if last + gap + text_width(word) <= width {
            if let Some(r) = rows.last_mut() {
                if gap == 1 {
                    r.push(' ');
                }
                r.push_str(word);
            }
            continue;
        }
        if rows.len() == 2 {
            // It did not fit: `fit` cuts it, with `…`.
            rows[1] = super::common::fit(&format!("{} {word}", rows[1]), width);
            return rows;
        }
        rows.push(super::common::fit(word, width));
    }
    rows
}

/// The budget's figures as the header shows them: as many whole ones as `fits` (at most
/// `max`), then `…` when any is left out; `None` when not even the marker fits.
fn budget_text(parts: &[String], max: usize, fits: impl Fn(&str) -> bool) -> Option<String> {
    (0..=max.min(parts.len()))
        .rev()
        .map(|n| {
            let mut t = parts[..n].join(" · ");
            if n < parts.len() {
                t.push_str(if n == 0 { "…" } else { " …" });
            }
            t
        })
        .find(|t| !t.is_empty() && fits(t))
}

/// The pace of the dimension nearest its ceiling and the time left at it (issue 43):
/// `600 tok/min, 40s left`; `None` while nothing is being spent towards a ceiling.
fn pace_text(b: &baton_model::view::BudgetView) -> Option<String> {
    let burn = b
        .burn
        .iter()
        .filter(|x| x.per_minute > 0.0)
        .filter_map(|x| Some((x, x.left_ms?)))
        .min_by_key(|(_, left)| *left)?;
    let (x, left) = burn;
    let rate = match x.dimension.as_str() {
        "cost" => format!("${:.2}/min", x.per_minute),
        "calls" => format!("{:.1} calls/min", x.per_minute),
        _ => format!("{:.0} tok/min", x.per_minute),
    };
    Some(if left == 0 {
        format!("{rate}, at the ceiling")
    } else {
        format!(
            "{rate}, {} left",
            human_duration(Duration::from_millis(left))
        )
    })
}

/// The health label in a narrow header (still readable without colour).
fn short_label(l: baton_model::HealthLabel) -> &'static str {
    match l {
        baton_model::HealthLabel::Healthy => "ok",
        baton_model::HealthLabel::Degraded => "degr",
        baton_model::HealthLabel::Critical => "crit",
    }
}

/// The footer's entries for the context on screen: the keys `offered` now, each
/// saying the deed the selection gives it.
fn footer_entries(view: &RunView, ui: &UiState, keys: &Keymap) -> Vec<Hint> {
    let offered = |c, a: &_| crate::app::offered(ui, view, c, a);
    let essential = [Action::Help, Action::Quit].map(|a| keys.label_of(Context::Global, &a));
    // A key whose deed follows the selection says that deed (`P release` on a held
    // step, `y interrupt` in the quit dialog, `D unmark` on the run marked for a diff).
    let ctx = ui.context();
    let word = |label: &str| {
        WORDED
            .iter()
            .filter(|a| keys.label_of(ctx, a) == Some(label))
            .find_map(|a| crate::app::hint_word(ui, view, ctx, a))
    };
    let mut out: Vec<Hint> = Vec::new();
    for (label, what) in keys.hints(ctx, offered) {
        let what = word(label).map_or(what, str::to_string);
        let keep = essential.contains(&Some(label));
        // Two keys that do one deed side by side are one hint (`y/d detach`).
        match out.last_mut() {
            Some(last) if last.what == what && !keep && !last.keep => {
                last.keys = format!("{}/{label}", last.keys);
            }
            _ => out.push(Hint {
                keep,
                keys: label.to_string(),
                what,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_remote_store_is_named_with_where_its_link_stands() {
        use baton_link::{LinkState, StoreStatus};
        let theme = crate::Theme::monochrome();
        let text = |state| {
            let s = StoreStatus {
                name: "gpu".into(),
                host: "gpu-box".into(),
                state,
            };
            super::store_span(&s, (baton_model::Timestamp(1_000), false), &theme)
                .content
                .into_owned()
        };
        assert_eq!(text(LinkState::Connected), "  store gpu (gpu-box)");
        assert_eq!(text(LinkState::Connecting), " store gpu: connecting… ");
        assert_eq!(
            text(LinkState::Down {
                why: "gpu-box: Connection refused".into(),
                retry_at: Some(baton_model::Timestamp(3_000)),
            }),
            " store gpu reconnecting in 2s: gpu-box: Connection refused "
        );
    }

    #[test]
    fn the_header_says_the_runs_missed_deadline_and_its_steps_together() {
        let badge = |run, steps, narrow| super::missed_badge(run, steps, narrow);
        assert_eq!(badge(false, 0, false), None);
        assert_eq!(badge(true, 0, false).as_deref(), Some(" deadline missed "));
        assert_eq!(badge(true, 0, true).as_deref(), Some(" run late "));
        assert_eq!(
            badge(false, 2, false).as_deref(),
            Some(" 2 step deadlines missed ")
        );
        assert_eq!(badge(false, 1, true).as_deref(), Some(" 1 step late "));
        // Both: neither hides the other.
        assert_eq!(
            badge(true, 2, false).as_deref(),
            Some(" deadline missed · 2 steps late ")
        );
        assert_eq!(badge(true, 1, true).as_deref(), Some(" run + 1 step late "));
    }

    #[test]
    fn the_pace_names_the_nearest_ceiling() {
        use baton_model::burn::Burn;
        let mut b = crate::fixtures::release().budget.unwrap();
        assert_eq!(super::pace_text(&b), None, "no pace known");
        let burn = |d: &str, per_minute, left_ms| Burn {
            dimension: d.into(),
            per_minute,
            left_ms,
        };
        b.burn = vec![
            burn("cost", 0.5, Some(600_000)),
            burn("calls", 0.0, None),
            burn("tokens", 600.0, Some(40_000)),
        ];
        assert_eq!(
            super::pace_text(&b).as_deref(),
            Some("600 tok/min, 40.0s left")
        );
        b.burn[2].left_ms = Some(0);
        assert_eq!(
            super::pace_text(&b).as_deref(),
            Some("600 tok/min, at the ceiling")
        );
    }

    #[test]
    fn a_budget_figure_left_out_is_marked() {
        let parts: Vec<String> = ["$1.20/$5.00", "3/10 calls", "5300/6000 tok"]
            .map(String::from)
            .to_vec();
        let fits = |w: usize| move |t: &str| super::text_width(t) <= w;
        assert_eq!(
            super::budget_text(&parts, 3, fits(80)).as_deref(),
            Some("$1.20/$5.00 · 3/10 calls · 5300/6000 tok")
        );
        assert_eq!(
            super::budget_text(&parts, 3, fits(30)).as_deref(),
            Some("$1.20/$5.00 · 3/10 calls …")
        );
        assert_eq!(
            super::budget_text(&parts, 1, fits(80)).as_deref(),
            Some("$1.20/$5.00 …")
        );
        assert_eq!(super::budget_text(&parts, 3, fits(5)).as_deref(), Some("…"));
        assert_eq!(super::budget_text(&parts, 3, fits(0)), None);
        assert_eq!(super::budget_text(&[], 3, fits(80)), None);
    }
}
