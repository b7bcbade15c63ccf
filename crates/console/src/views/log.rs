//! Full-screen log of one step's attempt: follow, scroll from either end, wrap, search
//! with every match marked in the text, timestamps (lines sanitised; SGR kept). It
//! draws only the lines the shell put in `LogState::window`.
use super::common::{count, panel, styled};
use crate::app::Hits;
use crate::app::LogState;
use crate::app::{Hit, UiState};
use crate::logfile::{fold, fold_char};
use crate::output::{log_line, plain};
use crate::theme::Theme;
use baton_model::{RunView, StepView};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

/// Rows of log text in a frame `height` rows high (the footer's 2 and the border's 2
/// taken off); the shell reads this many lines, `render` draws into the same room.
pub fn text_rows(height: u16) -> usize {
    height.saturating_sub(4) as usize
}

pub(crate) fn render(
    frame: &mut Frame,
    area: Rect,
    view: &RunView,
    ui: &UiState,
    theme: &Theme,
    hits: &mut Hits,
) {
    let Some(log) = ui.log.as_ref() else {
        return;
    };
    let n = log.total;
    let Some((head, empty)) = head(log, view, theme) else {
        return;
    };
    let block = panel(head, theme, true);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if n == 0 {
        frame.render_widget(Paragraph::new(styled(empty, theme.dim)), inner);
        return;
    }
    let rows = inner.height as usize;
    let gutter = n.to_string().len();
    // When each line was written, as every time in the console: the clock, with the
    // date for another day; `–` where unknown.
    let now = ui.clock(view);
    let stamp = |i: usize| {
        log.timestamps.then(|| {
            log.time(i)
                .map_or_else(|| "–".to_string(), |t| ui.wall(t, now))
        })
    };
    let time_w = if log.timestamps {
        let shown = log.needed();
        shown
            .filter_map(|i| stamp(i).map(|t| t.chars().count()))
            .max()
            .unwrap_or(1)
            + 1
    } else {
        0
    };
    // Ratatui wraps the whole row (gutter included) at the panel's width.
    let height = |i: usize| {
        if log.wrap {
            let w = log.line(i).map_or(0, |l| plain(l).chars().count()) + gutter + 3 + time_w;
            w.div_ceil((inner.width as usize).max(1)).max(1)
        } else {
            1
        }
    };
    let range = shown_range(log, rows, &height);
    // Each line on screen is a click target (it marks the line; `y` copies it).
    let mut y = inner.y;
    for i in range.clone() {
        let h = (height(i) as u16).min(inner.bottom().saturating_sub(y));
        if h == 0 {
            break;
        }
        hits.record(
            Rect {
                y,
                height: h,
                ..inner
            },
            Hit::LogLine(i),
        );
        y += h;
    }
    let needle: Vec<char> = fold(&log.search).chars().collect();
    let lines: Vec<Line> = range
        .map(|i| {
            let hit = log.matched == Some(i);
            let mut spans = vec![
                styled(
                    format!("{:>gutter$} ", i + 1),
                    if hit { theme.search_match } else { theme.dim },
                ),
                styled(
                    if hit { "▸ " } else { "│ " },
                    if hit {
                        theme.search_match
                    } else {
                        theme.border
                    },
                ),
            ];
            if let Some(t) = stamp(i) {
                spans.push(styled(format!("{t:<w$}", w = time_w), theme.dim));
            }
            let text = log_line(log.line(i).unwrap_or(""), theme);
            spans.extend(mark_matches(text, &needle, theme.search_match).spans);
            Line::from(spans)
        })
        .collect();
    let mut p = Paragraph::new(lines).style(theme.base);
    if log.wrap {
        p = p.wrap(Wrap { trim: false });
    }
    frame.render_widget(p, inner);
}

/// The log's title: `head` (whose log), the attempt (`of`), lines, follow/paused,
/// wrap, times, the search.
/// The log's title, and what it says when there is no output: every step's, or one
/// step's attempt (none when that step is gone).
fn head<'a>(log: &LogState, view: &RunView, theme: &Theme) -> Option<(Line<'a>, String)> {
    if log.all {
        let head = styled(
            format!(" Log · {} ", log.source.as_deref().unwrap_or("every step")),
            theme.title,
        );
        let empty = "no step has written output yet".to_string();
        return Some((title(log, head, "· ".to_string(), theme), empty));
    }
    let s = view.steps.get(log.step)?;
    let attempt = log.attempt_of(s.attempts);
    let head = styled(format!(" Log · {} ", s.id), theme.title);
    let of = format!("attempt {attempt}/{} · ", s.attempts);
    Some((title(log, head, of, theme), no_output(log, s, attempt)))
}

fn title<'a>(log: &LogState, head: Span<'a>, of: String, theme: &Theme) -> Line<'a> {
    let n = log.total;
    let mut title = vec![
        head,
        styled(format!("{of}{} ", count(n, "line", "lines")), theme.dim),
        styled(
            if log.follow {
                "· follow "
            } else {
                "· paused "
            },
            if log.follow { theme.ok } else { theme.warning },
        ),
        styled(if log.wrap { "· wrap " } else { "" }, theme.dim),
        styled(if log.timestamps { "· times " } else { "" }, theme.dim),
    ];
    if !log.search.is_empty() {
        let state = match log.matched {
            Some(m) => format!("line {}", m + 1),
            None if log.searching => String::new(),
            None => "(no match)".into(),
        };
        title.push(styled(
            format!("· /{} {state} ", log.search),
            theme.search_match,
        ));
    }
    Line::from(title)
}

/// Why there is no line to show yet.
fn no_output(log: &LogState, s: &StepView, attempt: u32) -> String {
    match (&log.source, &s.log_path) {
        (Some(p), _) => format!("no output yet (log file: {p})"),
        (None, Some(_)) if attempt < s.attempts => {
            format!("attempt {attempt} left no log file")
        }
        (None, Some(p)) => format!("no output yet (log file: {})", p.display()),
        (None, None) => "the step has not run".into(),
    }
}

/// The lines that fit in `rows` rows (`height` of each): following, the rows end with
/// the last line; else they start at `first_shown`.
fn shown_range(
    log: &LogState,
    rows: usize,
    height: &impl Fn(usize) -> usize,
) -> std::ops::Range<usize> {
    let n = log.total;
    if log.follow {
        let mut start = n;
        let mut used = 0;
        while start > 0 && used + height(start - 1) <= rows {
            used += height(start - 1);
            start -= 1;
        }
        start.min(n - 1)..n
    } else {
        let start = log.first_shown();
        let mut end = start;
        let mut used = 0;
        while end < n && (end == start || used + height(end) <= rows) {
            used += height(end);
            end += 1;
        }
        start..end
    }
}

/// `line` with every (case-insensitive) occurrence of `needle` drawn in `mark` over
/// the line's own styles.
pub(crate) fn mark_matches(line: Line<'static>, needle: &[char], mark: Style) -> Line<'static> {
    if needle.is_empty() {
        return line;
    }
    let chars: Vec<(char, Style)> = line
        .spans
        .iter()
        .flat_map(|s| s.content.chars().map(move |c| (c, s.style)))
        .collect();
    let folded: Vec<char> = chars.iter().map(|&(c, _)| fold_char(c)).collect();
    let mut marked = vec![false; chars.len()];
    let mut i = 0;
    while i + needle.len() <= folded.len() {
        if folded[i..i + needle.len()] == *needle {
            marked[i..i + needle.len()].fill(true);
            i += needle.len();
        } else {
            i += 1;
        }
    }
    if !marked.contains(&true) {
        return line;
    }
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut cur = String::new();
    let mut cur_style: Option<Style> = None;
    for (&(c, st), &m) in chars.iter().zip(&marked) {
        let st = if m { st.patch(mark) } else { st };
        if cur_style.is_some_and(|s| s != st) {
            spans.push(Span::styled(
                std::mem::take(&mut cur),
                cur_style.unwrap_or(st),
            ));
        }
        cur_style = Some(st);
        cur.push(c);
    }
    if let Some(st) = cur_style {
        spans.push(Span::styled(cur, st));
    }
    Line::from(spans).style(line.style)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_match_is_marked_whatever_its_case_and_colour() {
        let theme = Theme::monochrome();
        let line = log_line("Error: \x1b[31merror\x1b[0m twice, err", &theme);
        let needle: Vec<char> = fold("ERROR").chars().collect();
        let out = mark_matches(line, &needle, theme.search_match);
        let marked: Vec<&str> = out
            .spans
            .iter()
            .filter(|s| s.style == s.style.patch(theme.search_match) && s.style != theme.base)
            .map(|s| s.content.as_ref())
            .collect();
        assert_eq!(marked, ["Error", "error"]);
        let text: String = out.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "Error: error twice, err");
    }
}
