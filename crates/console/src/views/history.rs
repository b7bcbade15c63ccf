//! A step's history across runs of its workflow (issue 76 point 6), over the DAG: the
//! durations' sparkline (oldest left, as wide as the box), p50 and p95, the failure
//! rate, the run on screen against the p50, and the slowest runs, one selected for
//! `Enter` (`app::history`; the figures are `model::step_trend`'s, as `baton history`
//! prints them).
use super::common::{centered, fit, panel, styled, when};
use crate::app::{UiState, short_id};
use crate::theme::Theme;
use baton_model::RunView;
use baton_model::step_trend::{DEFAULT_RUNS, StepTrend};
use baton_model::time::human_duration;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};
use std::time::Duration;

fn ms(d: Option<u64>) -> String {
    d.map_or_else(|| "–".into(), |d| human_duration(Duration::from_millis(d)))
}

pub(crate) fn render(frame: &mut Frame, area: Rect, view: &RunView, ui: &UiState, theme: &Theme) {
    let Some(h) = &ui.history else {
        return;
    };
    let t = &h.trend;
    let rows = 6 + t.slowest.len().max(1) as u16;
    let r = centered(area, area.width.saturating_sub(4).min(100), rows + 2);
    frame.render_widget(Clear, r);
    let title = format!(
        " History of {} · {} · ↑↓ Enter open · Esc close ",
        h.step, h.workflow
    );
    let block = panel(title, theme, true).style(theme.base);
    let inner = block.inner(r);
    frame.render_widget(block, r);
    // A column of margin each side.
    let inner = Rect {
        x: inner.x + 1,
        width: inner.width.saturating_sub(2),
        ..inner
    };
    let w = inner.width as usize;
    // The sparkline's scale after it: the least and the most of the runs it draws.
    let room = scale(t, t.runs.len()).chars().count() + 2;
    let spark = t.sparkline(w.saturating_sub(room));
    let drawn = spark.chars().count();
    let scale = scale(t, drawn);
    let mut out: Vec<Line> = vec![
        Line::from(styled(fit(&runs_line(t, drawn), w), theme.dim)),
        Line::from(vec![
            styled(spark, theme.accent),
            styled(format!("  {scale}"), theme.dim),
        ]),
        Line::from(styled(fit(&figures(t), w), theme.base)),
        Line::from(styled(fit(&this_run(t, &h.run_id), w), theme.base)),
        Line::from(""),
        Line::from(styled("slowest", theme.title.add_modifier(Modifier::BOLD))),
    ];
    let now = ui.store_clock(view);
    for (k, &i) in t.slowest.iter().enumerate() {
        let Some(run) = t.runs.get(i) else { continue };
        let mark = if k == h.sel { "▶ " } else { "  " };
        let here = if run.run_id == h.run_id {
            "  ← on screen"
        } else {
            ""
        };
        let attempt = if run.attempts > 1 {
            format!("  attempt {}", run.attempts)
        } else {
            String::new()
        };
        let text = format!(
            "{mark}{:<8} {:<14} {:>8}  {} {}{attempt}{here}",
            short_id(&run.run_id, &ui.run_ids),
            when(ui, run.started_at, now),
            ms(run.duration_ms),
            run.state.glyph(),
            run.state.as_str(),
        );
        let st = if k == h.sel {
            theme.selection
        } else {
            theme.state(run.state)
        };
        out.push(Line::from(styled(fit(&text, w), st)));
    }
    if t.slowest.is_empty() {
        out.push(Line::from(styled("  no run of it ended yet", theme.dim)));
    }
    frame.render_widget(Paragraph::new(out).style(theme.base), inner);
}

/// The least and the most of the newest runs' durations (`▁` and `█`).
fn scale(t: &StepTrend, newest: usize) -> String {
    let timed = || {
        t.runs
            .iter()
            .take(newest)
            .filter(|r| baton_model::step_trend::counts(r.state))
            .filter_map(|r| r.duration_ms)
    };
    match (timed().min(), timed().max()) {
        (Some(lo), Some(hi)) => format!("▁ {} · █ {}", ms(Some(lo)), ms(Some(hi))),
        _ => String::new(),
    }
}

/// How many runs the figures are of, and how many the sparkline shows.
fn runs_line(t: &StepTrend, drawn: usize) -> String {
    let n = t.runs.len();
    let of = if n >= DEFAULT_RUNS as usize {
        format!("the newest {n} runs with the step")
    } else {
        format!("every run with the step: {n}")
    };
    if drawn < n {
        format!("{of} · durations of the newest {drawn}, oldest left")
    } else {
        format!("{of} · durations, oldest left")
    }
}

/// p50, p95 and the failure rate, as `baton history` says them.
fn figures(t: &StepTrend) -> String {
    let rate = t
        .failure_pct()
        .map_or_else(|| "no run ended".into(), |p| format!("{p:.1}%"));
    format!(
        "p50 {} · p95 {} · failed {} of {} ended ({rate})",
        ms(t.p50_ms),
        ms(t.p95_ms),
        t.failed,
        t.ended
    )
}

/// The run on screen against the p50: what to act on before the nightly doubles.
fn this_run(t: &StepTrend, run_id: &str) -> String {
    let Some(r) = t.runs.iter().find(|r| r.run_id == run_id) else {
        return "this run: not among them".into();
    };
    match (r.duration_ms, t.p50_ms) {
        (Some(d), Some(p50)) if p50 > 0 && baton_model::step_trend::counts(r.state) => {
            format!(
                "this run: {} {}, {:.1}× the p50",
                ms(Some(d)),
                r.state.as_str(),
                d as f64 / p50 as f64
            )
        }
        _ => format!("this run: {}", r.state.as_str()),
    }
}
