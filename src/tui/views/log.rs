//! Full-screen log of one step: follow, wrap, search (lines sanitised; SGR kept).
use super::common::{panel, styled};
use crate::model::RunView;
use crate::tui::app::LogState;
use crate::tui::output::{log_line, plain};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

pub fn render(frame: &mut Frame, area: Rect, view: &RunView, log: &LogState, theme: &Theme) {
    let Some(s) = view.steps.get(log.step) else {
        return;
    };
    let source = log.lines(view);
    let n = source.len();
    let mut title = vec![
        styled(format!(" Log · {} ", s.id), theme.title),
        styled(
            format!(
                "attempt {} · {} ",
                s.attempts,
                super::common::count(n, "line", "lines")
            ),
            theme.dim,
        ),
        styled(
            if log.follow {
                "· follow "
            } else {
                "· paused "
            },
            if log.follow { theme.ok } else { theme.warning },
        ),
        styled(if log.wrap { "· wrap " } else { "" }, theme.dim),
    ];
    if !log.search.is_empty() {
        title.push(styled(
            format!(
                "· /{} {} ",
                log.search,
                if log.matched.is_some() {
                    ""
                } else {
                    "(no match)"
                }
            ),
            theme.search_match,
        ));
    }
    let block = panel(Line::from(title), theme, true);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if n == 0 {
        let msg = match &s.log_path {
            Some(p) => format!("no output yet (log file: {})", p.display()),
            None => "the step has not run".into(),
        };
        frame.render_widget(Paragraph::new(styled(msg, theme.dim)), inner);
        return;
    }
    let gutter = n.to_string().len();
    let text_w = (inner.width as usize).saturating_sub(gutter + 3).max(1);
    let end = n - log.back.min(n - 1);
    // Walk back from `end` until the screen is full (wrapped lines take several rows).
    let mut rows = 0usize;
    let mut start = end;
    while start > 0 {
        let h = if log.wrap {
            plain(&source[start - 1])
                .chars()
                .count()
                .div_ceil(text_w)
                .max(1)
        } else {
            1
        };
        if rows + h > inner.height as usize {
            break;
        }
        rows += h;
        start -= 1;
    }
    let lines: Vec<Line> = (start..end)
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
            spans.extend(log_line(&source[i], theme).spans);
            Line::from(spans)
        })
        .collect();
    let mut p = Paragraph::new(lines).style(theme.base);
    if log.wrap {
        p = p.wrap(Wrap { trim: false });
    }
    frame.render_widget(p, inner);
}
