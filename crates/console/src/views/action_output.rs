//! The output pane of an `[[action]]` run (`app::user_actions`): the command as it ran,
//! what it was about, how it ended (or how long it has run), then its output, sanitised,
//! scrolled as every overlay is.
use super::common::{styled, take_columns, wrap_text};
use super::notices::list_overlay;
use crate::app::{Ended, UiState, shown_run};
use crate::theme::Theme;
use baton_model::time::human_duration;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

pub(crate) fn render(frame: &mut Frame, area: Rect, ui: &UiState, id: u64, theme: &Theme) {
    let run = shown_run(ui, id);
    let title = match run {
        Some(r) => format!(" Action · {} · Esc closes ", r.prepared.title),
        None => " Action · Esc closes ".to_string(),
    };
    let empty = "no action has run in this console yet";
    list_overlay(frame, area, ui, theme, title, empty, |width| {
        let Some(r) = run else {
            return Vec::new();
        };
        let w = width.saturating_sub(1);
        let mut lines = Vec::new();
        for l in wrap_text(&format!("$ {}", r.prepared.shown()), w) {
            lines.push(Line::from(styled(l, theme.dim)));
        }
        lines.push(Line::from(styled(
            format!("on {}", r.prepared.on),
            theme.dim,
        )));
        let (status, st) = match &r.finished {
            None => {
                let ran = match (ui.now, r.started) {
                    (Some(now), Some(at)) => human_duration(now.since(at)),
                    _ => "a moment".to_string(),
                };
                let stop = human_duration(r.prepared.timeout);
                (
                    format!(
                        "… running for {ran} (stopped at {stop}); its output shows when it ends"
                    ),
                    theme.dim,
                )
            }
            Some(f) => {
                let took = human_duration(f.took);
                let st = if f.ended.ok() { theme.ok } else { theme.error };
                let mark = if f.ended.ok() { "✔" } else { "✘" };
                (format!("{mark} {} after {took}", f.ended.words()), st)
            }
        };
        lines.push(Line::from(styled(status, st)));
        lines.push(Line::from(""));
        let (output, cut) = match &r.finished {
            Some(f) => (&f.lines, f.cut),
            None => (&r.so_far.0, r.so_far.1),
        };
        if cut > 0 {
            lines.push(Line::from(styled(
                format!("… its first {cut} bytes are not kept"),
                theme.dim,
            )));
        }
        let started = !matches!(
            r.finished.as_ref().map(|f| &f.ended),
            Some(Ended::NotStarted(_))
        );
        if output.is_empty() && started {
            let none = if r.finished.is_some() {
                "(no output)"
            } else {
                "(no output yet)"
            };
            lines.push(Line::from(styled(none, theme.dim)));
        }
        for out in output {
            for l in hard_wrap(out, w) {
                lines.push(Line::from(styled(l.to_string(), theme.base)));
            }
        }
        lines
    });
}

/// A line of output cut into rows of `w` columns, its spaces kept (indentation, tables).
fn hard_wrap(line: &str, w: usize) -> Vec<&str> {
    let mut rows = Vec::new();
    let mut rest = line;
    loop {
        let row = take_columns(rest, w.max(1));
        if row.is_empty() || row.len() == rest.len() {
            rows.push(rest);
            return rows;
        }
        rows.push(row);
        rest = &rest[row.len()..];
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn output_is_cut_at_the_width_with_its_spaces_kept() {
        assert_eq!(super::hard_wrap("  ab  cd", 4), vec!["  ab", "  cd"]);
        assert_eq!(super::hard_wrap("", 4), vec![""]);
        assert_eq!(super::hard_wrap("abc", 4), vec!["abc"]);
    }
}
