//! Small helpers shared by the views: text fitting, durations, boxes, rectangles.
use crate::app::UiState;
use crate::theme::Theme;
use baton_model::Timestamp;
use baton_model::time::human_duration;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// Display width of text in terminal columns: the sum of its grapheme clusters' widths
/// (an East Asian wide character or an emoji, with its modifiers or ZWJ sequence, is 2),
/// measured as the frame places them.
fn width(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.graphemes(true).map(UnicodeWidthStr::width).sum()
    }
}

/// A step's glyph: its state's, but `❄` for a running attempt frozen (`P`, `baton
/// hold`, a budget's ceiling), `≡` for a success the cache answered and `⇐` for one a
/// fork reused from its old run (no process ran for either).
pub(crate) fn step_glyph(s: &baton_model::StepView) -> &'static str {
    match look(s) {
        Look::Frozen => FROZEN_GLYPH,
        Look::Cached => CACHED_GLYPH,
        Look::Reused => REUSED_GLYPH,
        Look::State => s.state.glyph(),
    }
}

/// A step's state in a word, as its glyph tells it: `frozen` for a frozen running
/// attempt, `reused` for a fork's reused success, else its state's name.
pub(crate) fn step_word(s: &baton_model::StepView) -> &'static str {
    match look(s) {
        Look::Frozen => "frozen",
        Look::Reused => "reused",
        Look::Cached | Look::State => s.state.as_str(),
    }
}

/// A step's colour: a frozen attempt takes a held step's (it waits on a person), not
/// a running one's.
pub(crate) fn step_style(s: &baton_model::StepView, theme: &Theme) -> Style {
    match look(s) {
        Look::Frozen => theme.state(baton_model::StepState::Held),
        Look::Cached | Look::Reused | Look::State => theme.state(s.state),
    }
}

/// How a step is drawn beyond its state (the one place that decides it).
enum Look {
    Frozen,
    Cached,
    Reused,
    State,
}

fn look(s: &baton_model::StepView) -> Look {
    use baton_model::StepState;
    if s.is_frozen() {
        Look::Frozen
    } else if s.state == StepState::Succeeded && s.cached_from.is_some() {
        Look::Cached
    } else if s.state == StepState::Succeeded && s.reused_from.is_some() {
        Look::Reused
    } else {
        Look::State
    }
}

/// A step's run time as the console shows it: its latest attempt's ([`StepView::duration`],
/// as `show` says it) less the time it was frozen, whose clocks stop with its processes.
///
/// [`StepView::duration`]: baton_model::StepView::duration
pub(crate) fn run_time(s: &baton_model::StepView, now: Timestamp) -> Option<std::time::Duration> {
    s.duration(now).map(|d| d.saturating_sub(s.frozen_for(now)))
}

/// The glyph of a cached success (single column wide, like every state glyph).
pub(crate) const CACHED_GLYPH: &str = "≡";
/// The glyph of a fork's reused success.
pub(crate) const REUSED_GLYPH: &str = "⇐";
/// The glyph of a frozen running attempt.
pub(crate) const FROZEN_GLYPH: &str = "❄";

/// `1 line`, `2 lines`: a count with its noun in the right number.
pub fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

pub(crate) fn text_width(s: &str) -> usize {
    width(s)
}

/// At most `max` columns of `s`, with `…` when cut (between grapheme clusters, never
/// inside one).
pub(crate) fn fit(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = take_columns(s, max - 1).to_string();
    out.push('…');
    out
}

/// `s` on one line in at most `max` columns, cut after a whole word with `…` (never
/// inside a word); empty when not even its first word fits.
pub(crate) fn fit_words(s: &str, max: usize) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if width(&s) <= max {
        return s;
    }
    let mut out = String::new();
    for word in s.split(' ') {
        let next = if out.is_empty() {
            word.to_string()
        } else {
            format!("{out} {word}")
        };
        if width(&next) + 1 > max {
            break;
        }
        out = next;
    }
    if !out.is_empty() {
        out.push('…');
    }
    out
}

/// The longest head of `s` that is at most `max` columns, cut between grapheme clusters.
pub(crate) fn take_columns(s: &str, max: usize) -> &str {
    let mut w = 0;
    for (i, g) in s.grapheme_indices(true) {
        w += width(g);
        if w > max {
            return &s[..i];
        }
    }
    s
}

/// `s` cut or padded to exactly `w` columns.
/// `the store`, or on a console over several, `4 stores`.
pub(crate) fn stores_word(ui: &UiState) -> String {
    if ui.desk.is_many() {
        format!("{} stores", ui.desk.stores.len())
    } else {
        "the store".to_string()
    }
}

/// On a console over several stores, the store column's width for rows of `runs`
/// (0: one store, no column).
pub(crate) fn store_width<'a>(ui: &UiState, runs: impl Iterator<Item = &'a str>) -> usize {
    if !ui.desk.is_many() {
        return 0;
    }
    runs.map(|id| text_width(ui.desk.name_of(id)))
        .fold(5, usize::max)
        .min(16)
}

/// The store column's name, padded to `w` and a space (nothing when `w` is 0).
pub(crate) fn store_head(w: usize) -> String {
    if w == 0 {
        String::new()
    } else {
        format!("{} ", pad("store", w))
    }
}

/// A row's store, padded to `w` and a space (nothing when `w` is 0).
pub(crate) fn store_cell(ui: &UiState, run_id: &str, w: usize) -> String {
    if w == 0 {
        String::new()
    } else {
        format!("{} ", pad(&fit(ui.desk.name_of(run_id), w), w))
    }
}

pub(crate) fn pad(s: &str, w: usize) -> String {
    let f = fit(s, w);
    let n = width(&f);
    format!("{f}{}", " ".repeat(w.saturating_sub(n)))
}

/// Greedy word wrap to `w` columns (long words are cut).
pub(crate) fn wrap_text(s: &str, w: usize) -> Vec<String> {
    let w = w.max(1);
    let mut out = Vec::new();
    for para in s.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let need = if line.is_empty() { 0 } else { 1 } + width(word);
            if !line.is_empty() && width(&line) + need > w {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
            while width(&line) > w {
                // At least one cluster per line, even one wider than the line.
                let head = match take_columns(&line, w) {
                    "" => line.graphemes(true).next().unwrap_or(""),
                    h => h,
                };
                if head.len() == line.len() {
                    break;
                }
                let tail = line[head.len()..].to_string();
                out.push(head.to_string());
                line = tail;
            }
        }
        out.push(line);
    }
    out
}

pub(crate) fn dur(from: Timestamp, to: Timestamp) -> String {
    human_duration(to.since(from))
}

/// `+4m12s` from the run's start (deterministic; no time zone).
pub(crate) fn rel(start: Option<Timestamp>, t: Timestamp) -> String {
    match start {
        Some(s) if t >= s => format!("+{}", human_duration(t.since(s))),
        Some(s) => format!("-{}", human_duration(s.since(t))),
        None => t.to_rfc3339(),
    }
}

/// Make the rows of a list clickable: row `k` of the window (after `skip` header lines)
/// shows item `items[k]` (the whole list's index, whatever the filter shows).
pub(crate) fn record_rows(
    hits: &mut crate::app::Hits,
    inner: Rect,
    skip: u16,
    items: impl IntoIterator<Item = usize>,
    hit: fn(usize) -> crate::app::Hit,
) {
    for (k, item) in items.into_iter().enumerate() {
        let y = inner.y + skip + k as u16;
        if y >= inner.y + inner.height {
            break;
        }
        hits.record(
            Rect {
                y,
                height: 1,
                ..inner
            },
            hit(item),
        );
    }
}

/// `3m ago` style age of `t` at `now`.
pub(crate) fn ago(t: Timestamp, now: Timestamp) -> String {
    format!("{} ago", human_duration(now.since(t)))
}

/// When something happened, as the operator chose with `t`: `3m ago` or the wall clock.
pub(crate) fn when(ui: &UiState, t: Timestamp, now: Timestamp) -> String {
    if ui.wall_clock {
        ui.wall(t, now)
    } else {
        ago(t, now)
    }
}

/// A moment in a run's history, as chosen with `t`: `+4m12s` from the run's start or
/// the wall clock (with the date when not today).
pub(crate) fn in_run(
    ui: &UiState,
    start: Option<Timestamp>,
    t: Timestamp,
    now: Timestamp,
) -> String {
    if ui.wall_clock {
        ui.wall(t, now)
    } else {
        rel(start, t)
    }
}

pub(crate) fn panel<'a>(title: impl Into<Line<'a>>, theme: &Theme, focused: bool) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(theme.border_for(focused))
        .title(title)
        .title_style(theme.title)
}

/// A rectangle of at most `w`×`h` centred in `area`.
pub(crate) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// `label value` with the label dimmed and padded to `lw`.
pub(crate) fn kv<'a>(
    label: &str,
    lw: usize,
    value: impl Into<Span<'a>>,
    theme: &Theme,
) -> Line<'a> {
    Line::from(vec![Span::styled(pad(label, lw), theme.dim), value.into()])
}

pub(crate) fn styled<'a>(s: impl Into<String>, st: Style) -> Span<'a> {
    Span::styled(s.into(), st)
}

/// First row to show so that `sel` stays visible in `rows` rows.
pub(crate) fn window(sel: usize, len: usize, rows: usize) -> usize {
    if len <= rows || rows == 0 {
        0
    } else {
        sel.saturating_sub(rows / 2).min(len - rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_say_one_line_and_two_lines() {
        assert_eq!(count(1, "line", "lines"), "1 line");
        assert_eq!(count(0, "line", "lines"), "0 lines");
        assert_eq!(count(7, "gate", "gates"), "7 gates");
    }

    #[test]
    fn fit_pad_and_wrap() {
        assert_eq!(fit("deploy-prod", 6), "deplo…");
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(wrap_text("one two three", 7), vec!["one two", "three"]);
        assert_eq!(wrap_text("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(fit("x", 0), "");
        assert_eq!(
            fit_words("Ship 1.4.2 to production?", 30),
            "Ship 1.4.2 to production?"
        );
        assert_eq!(fit_words("Ship 1.4.2 to production?", 16), "Ship 1.4.2 to…");
        assert_eq!(fit_words("Ship 1.4.2\nto production?", 12), "Ship 1.4.2…");
        assert_eq!(fit_words("Shipping", 5), "");
    }

    /// Widths are display widths of grapheme clusters: wide CJK, an emoji with a skin
    /// tone, a ZWJ family and a combining accent each count as the terminal shows them.
    #[test]
    fn widths_are_display_widths_of_grapheme_clusters() {
        assert_eq!(text_width("リリース"), 8);
        assert_eq!(text_width("👍🏽"), 2);
        assert_eq!(text_width("👨‍👩‍👧"), 2);
        assert_eq!(text_width("e\u{301}"), 1);
        assert_eq!(pad("リリース", 10), "リリース  ");
        assert_eq!(text_width(&pad("デプロイ本番環境", 9)), 9);
        assert_eq!(fit("デプロイ本番", 7), "デプロ…");
        // Never half a cluster: the family stays whole or goes.
        assert_eq!(fit("ab👨‍👩‍👧cd", 4), "ab…");
        assert_eq!(fit("ab👨‍👩‍👧cd", 5), "ab👨‍👩‍👧…");
        assert_eq!(fit("cafe\u{301}s", 5), "cafe\u{301}s");
        assert_eq!(fit("cafe\u{301}xyz", 5), "cafe\u{301}…");
        assert_eq!(wrap_text("漢字漢字漢字", 4), vec!["漢字", "漢字", "漢字"]);
        assert_eq!(wrap_text("漢", 1), vec!["漢"]);
    }
}
