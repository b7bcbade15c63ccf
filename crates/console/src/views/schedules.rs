//! The Schedules tab: what `baton serve` serves, in the columns `baton schedules`
//! prints (`baton_link::Listed::cells`, one function for both), a file that no
//! longer loads marked on its schedules' rows with its error in the detail, and the
//! pause / resume / trigger dialog.
use super::common::{fit, kv, pad, panel, styled, text_width, window, wrap_text};
use crate::app::{Hit, Hits, ScheduleDialog, SchedulePick, UiState};
use crate::keymap::{Context, Keymap};
use crate::theme::Theme;
use baton_link::{Act, COLUMNS, Listed};
use baton_model::{RunView, Timestamp};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

/// The widest each column is drawn (the detail below shows it whole).
const CAPS: [usize; 5] = [22, 22, 32, 22, 48];
/// The detail's labels' width.
const LW: usize = 10;
/// The marker before a row: `✘` its file does not load, `●` its last run is on screen.
const MARK: usize = 2;

pub(crate) fn render(
    frame: &mut Frame,
    area: Rect,
    view: &RunView,
    ui: &UiState,
    theme: &Theme,
    hits: &mut Hits,
) {
    let now = ui.store_clock(view);
    let b = &ui.schedules;
    let n = ui.schedule_lines();
    let shown = ui.shown_schedules();
    let title = title(ui, shown.len());
    let list_h = if shown.is_empty() {
        area.height
    } else {
        (shown.len() as u16 + 3).clamp(4, area.height.saturating_sub(8).max(4))
    };
    let list = Rect {
        height: list_h.min(area.height),
        ..area
    };
    let block = panel(title, theme, true);
    let inner = block.inner(list);
    frame.render_widget(block, list);
    if n == 0 {
        render_none_served(frame, inner, theme);
        return;
    }
    let cells: Vec<[String; 5]> = b
        .rows
        .iter()
        .map(|l| l.cells(now, ui.offset(now)))
        .collect();
    let widths = widths(&cells, inner.width as usize);
    let Some(sel) = ui.schedule_at() else {
        let text = "no schedule matches the filter (Esc clears it)";
        frame.render_widget(Paragraph::new(styled(text, theme.dim)), inner);
        return;
    };
    let rows = (inner.height as usize).saturating_sub(1);
    let first = window(shown.partition_point(|&i| i < sel), shown.len(), rows);
    let drawn = &shown[first..(first + rows).min(shown.len())];
    let row_text = |mark: &str, c: &[String; 5]| {
        let mut t = pad(mark, MARK);
        for (i, w) in widths.iter().enumerate() {
            if *w > 0 {
                t.push_str(&pad(&c[i], *w));
                t.push(' ');
            }
        }
        t.trim_end().to_string()
    };
    let head: [String; 5] = COLUMNS.map(|c| c.to_lowercase());
    let mut lines = vec![Line::from(styled(row_text("", &head), theme.dim))];
    for &i in drawn {
        let line = match b.rows.get(i) {
            Some(l) => {
                let on_screen = l
                    .row
                    .last_run
                    .as_ref()
                    .is_some_and(|r| r.run_id == view.run_id);
                let mark = match (&l.error, on_screen) {
                    (Some(_), _) => "✘",
                    (None, true) => "●",
                    (None, false) => "",
                };
                let st = if i == sel {
                    theme.selection
                } else if l.error.is_some() {
                    theme.error
                } else if l.row.paused.is_some() {
                    theme.dim
                } else {
                    theme.base
                };
                styled(row_text(mark, &cells[i]), st)
            }
            None => {
                let (file, _) = &b.broken[i - b.rows.len()];
                let file = baton_model::sanitize::for_terminal(file);
                let text = format!("{}does not load: {file}", pad("✘", MARK));
                let st = if i == sel {
                    theme.selection
                } else {
                    theme.error
                };
                styled(fit(&text, inner.width as usize), st)
            }
        };
        lines.push(Line::from(line));
    }
    super::common::record_rows(hits, inner, 1, drawn.iter().copied(), Hit::Schedule);
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
    let detail = Rect {
        y: area.y + list.height,
        height: area.height - list.height,
        ..area
    };
    if detail.height >= 3
        && let Some(pick) = ui.selected_schedule()
    {
        render_detail(frame, detail, pick, ui, now, theme);
    }
}

/// The list's title: how many are served, how many files do not load, the filter.
fn title(ui: &UiState, shown: usize) -> String {
    let b = &ui.schedules;
    let note = crate::app::filter_note(&ui.schedules_filter, shown);
    let mut failing: Vec<&str> = b
        .rows
        .iter()
        .filter(|l| l.error.is_some())
        .map(|l| l.row.file.as_str())
        .chain(b.broken.iter().map(|(f, _)| f.as_str()))
        .collect();
    failing.sort_unstable();
    failing.dedup();
    match failing.len() {
        0 => format!(" Schedules · {} served{note} ", b.rows.len()),
        bad => format!(
            " Schedules · {} served · {bad} file(s) do not load{note} ",
            b.rows.len()
        ),
    }
}

/// What to do when nothing is served.
fn render_none_served(frame: &mut Frame, inner: Rect, theme: &Theme) {
    let text = "no schedules served: `baton serve --workflows DIR` serves the [[schedule]] blocks of DIR's workflows";
    let lines: Vec<Line> = wrap_text(text, inner.width.max(1) as usize)
        .into_iter()
        .map(|l| Line::from(styled(l, theme.dim)))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Each column's width (0: not drawn): as wide as its widest cell, up to its cap; the
/// cron goes first when the row does not fit (the detail shows it), the paused column
/// takes what is left.
fn widths(cells: &[[String; 5]], room: usize) -> [usize; 5] {
    /// What the paused column needs to say more than `paused…`.
    const PAUSED_MIN: usize = 12;
    let mut w = [0usize; 5];
    for (i, cap) in CAPS.iter().enumerate() {
        let widest = cells.iter().map(|c| text_width(&c[i])).max().unwrap_or(0);
        w[i] = widest.max(COLUMNS[i].len()).min(*cap);
    }
    let before_paused = |w: &[usize; 5]| {
        MARK + w[..4]
            .iter()
            .filter(|x| **x > 0)
            .map(|x| x + 1)
            .sum::<usize>()
    };
    if before_paused(&w) + PAUSED_MIN > room {
        w[1] = 0;
    }
    w[4] = w[4].min(room.saturating_sub(before_paused(&w))).max(6);
    w
}

fn render_detail(
    frame: &mut Frame,
    area: Rect,
    pick: SchedulePick<'_>,
    ui: &UiState,
    now: Timestamp,
    theme: &Theme,
) {
    let (title, lines) = match pick {
        SchedulePick::Schedule(l) => (
            format!(
                " {} · {} ",
                l.name,
                baton_model::sanitize::for_terminal(&l.row.file)
            ),
            detail_lines(l, ui, now, area, theme),
        ),
        SchedulePick::Broken(file, error) => {
            let width = area.width.saturating_sub(2).max(1) as usize;
            let mut lines = vec![Line::from(styled(
                "does not load, and serves no schedule until it does:",
                theme.warning,
            ))];
            for l in wrap_text(&baton_model::sanitize::for_terminal(error), width) {
                lines.push(Line::from(styled(l, theme.error)));
            }
            (
                format!(" {} ", baton_model::sanitize::for_terminal(file)),
                lines,
            )
        }
    };
    let block = panel(
        fit(&title, area.width.saturating_sub(4) as usize),
        theme,
        false,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(Paragraph::new(lines).style(theme.base), inner);
}

fn detail_lines(
    l: &Listed,
    ui: &UiState,
    now: Timestamp,
    area: Rect,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let width = area.width.saturating_sub(2).max(1) as usize;
    let [_, cron, next, last_run, paused] = l.cells(now, ui.offset(now));
    let r = &l.row;
    let mut lines = vec![
        kv("cron", LW, styled(cron, theme.base), theme),
        kv(
            "policy",
            LW,
            styled(
                format!("catch_up {} · overlap {}", r.catch_up, r.overlap),
                theme.base,
            ),
            theme,
        ),
        kv("next", LW, styled(next, theme.base), theme),
    ];
    let last_slot = match &r.last {
        Some(s) => format!("{} {}", ui.wall(s.slot_at, now), s.fate),
        None => "-".into(),
    };
    lines.push(kv("last slot", LW, styled(last_slot, theme.base), theme));
    lines.push(kv("last run", LW, styled(last_run, theme.base), theme));
    let paused_st = if r.paused.is_some() {
        theme.warning
    } else {
        theme.base
    };
    lines.push(kv("paused", LW, styled(paused, paused_st), theme));
    if let Some(e) = &l.error {
        lines.push(Line::from(styled(
            "✘ its file does not load; the version loaded before keeps serving:",
            theme.error,
        )));
        for w in wrap_text(&baton_model::sanitize::for_terminal(e), width) {
            lines.push(Line::from(styled(w, theme.error)));
        }
    }
    let verb = if r.paused.is_some() {
        "resume"
    } else {
        "pause"
    };
    let name = baton_model::sanitize::for_terminal(&l.name);
    let cli = format!("baton schedule {verb} {name} --reason …");
    lines.push(Line::from(styled(fit(&cli, width), theme.dim)));
    lines
}

/// The pause / resume / trigger dialog: what it does, the reason, and the confirm.
pub(crate) fn dialog(
    frame: &mut Frame,
    area: Rect,
    d: &ScheduleDialog,
    operator: &str,
    theme: &Theme,
    keys: &Keymap,
) {
    let width = area.width.saturating_sub(8).min(66) as usize;
    let what = match d.act {
        Act::Pause => format!(
            "Pause {}: its slots are recorded `paused` and start nothing until it is resumed.",
            d.target
        ),
        Act::Resume => format!("Resume {}: it fires again from its next slot.", d.target),
        Act::Trigger => format!(
            "Trigger {}: the serve starts a run of it now, with its default params (as `baton schedule trigger {}`).",
            d.target, d.target
        ),
    };
    let confirm = d.confirming.then(|| {
        format!(
            "{} {}? Enter again to record it, Esc to change it.",
            capital(d.act.verb()),
            d.target
        )
    });
    let said = super::desk_dialogs::Reasoned {
        what: &what,
        operator,
        reason: &d.reason,
        error: d.error.as_deref(),
        confirm: confirm.as_deref(),
    };
    let mut lines = super::desk_dialogs::reasoned_lines(&said, width, theme);
    lines.push(super::desk_dialogs::hints(
        keys,
        Context::ScheduleDialog,
        theme,
    ));
    let title = styled(
        format!(" {} {} ", capital(d.act.verb()), d.target),
        theme.warning.add_modifier(Modifier::BOLD),
    );
    super::desk_dialogs::boxed(frame, area, Line::from(title), lines, theme);
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
