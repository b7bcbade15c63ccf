//! Step output on screen: `baton_model::sanitize` keeps SGR colours and neutralises every
//! other control sequence; this maps its styles onto ratatui's.
use baton_model::sanitize::{SgrColor, SgrStyle, sanitize_line, strip_to_plain};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

fn colour(c: SgrColor) -> Color {
    match c {
        SgrColor::Ansi(n) | SgrColor::Indexed(n) => Color::Indexed(n),
        SgrColor::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

/// The ratatui style for a step's SGR style.
pub(crate) fn style_of(s: SgrStyle) -> Style {
    let mut st = Style::new();
    st.fg = s.fg.map(colour);
    st.bg = s.bg.map(colour);
    for (on, m) in [
        (s.bold, Modifier::BOLD),
        (s.dim, Modifier::DIM),
        (s.italic, Modifier::ITALIC),
        (s.underline, Modifier::UNDERLINED),
        (s.reverse, Modifier::REVERSED),
    ] {
        if on {
            st = st.add_modifier(m);
        }
    }
    st
}

/// One raw log line as a ratatui line: the step's own SGR styles over the theme's base
/// (colours dropped in monochrome, so `NO_COLOR` holds for step output too).
pub(crate) fn log_line(raw: &str, theme: &crate::theme::Theme) -> Line<'static> {
    Line::from(
        sanitize_line(raw.as_bytes())
            .into_iter()
            .map(|run| {
                let mut st = style_of(run.style);
                if theme.monochrome {
                    st.fg = None;
                    st.bg = None;
                }
                Span::styled(run.text, theme.base.patch(st))
            })
            .collect::<Vec<_>>(),
    )
}

/// Plain text of a raw log line (for search and width).
pub(crate) fn plain(raw: &str) -> String {
    strip_to_plain(raw.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_sgr_and_neutralises_the_rest() {
        let raw = "\x1b]0;pwned title\x07\x1b[2J\x1b[H\x1b[31mred\x1b[0m ok";
        let line = log_line(raw, &crate::theme::Theme::monochrome());
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "red ok");
        assert!(!plain("a\x1b[2Jb\x07").contains('\x1b'));
        let p = sanitize_line(b"\x1b[38;5;208ma\x1b[48;2;1;2;3mb");
        assert_eq!(style_of(p[0].style).fg, Some(Color::Indexed(208)));
        assert_eq!(style_of(p[1].style).bg, Some(Color::Rgb(1, 2, 3)));
    }
}
