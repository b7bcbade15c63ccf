//! TEMPORARY SHIM — replace with `crate::sanitize` once it is merged.
//!
//! Step output is shown with its SGR colours kept and every other control sequence
//! neutralised (DESIGN §7). This local version keeps SGR (colours, bold, dim, italic,
//! underline, reverse) and drops CSI/OSC/DCS/other escapes and C0/C1 controls; tabs
//! become spaces; invalid UTF-8 becomes U+FFFD. The only caller is `log_line`, so the
//! swap touches one function.
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

/// Styled runs of printable text in one line of raw output.
pub fn sanitize_line(raw: &[u8]) -> Vec<(Style, String)> {
    let text = String::from_utf8_lossy(raw);
    let mut out: Vec<(Style, String)> = Vec::new();
    let mut style = Style::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    let flush = |out: &mut Vec<(Style, String)>, cur: &mut String, style: Style| {
        if !cur.is_empty() {
            out.push((style, std::mem::take(cur)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' | '\u{9b}' => {
                let csi = c == '\u{9b}' || chars.peek() == Some(&'[');
                if c == '\u{1b}' && csi {
                    chars.next();
                }
                if csi {
                    let mut params = String::new();
                    let mut fin = None;
                    for d in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&d) {
                            fin = Some(d);
                            break;
                        }
                        params.push(d);
                    }
                    if fin == Some('m') {
                        flush(&mut out, &mut cur, style);
                        style = apply_sgr(style, &params);
                    }
                    continue;
                }
                match chars.next() {
                    // OSC, DCS, SOS, PM, APC: skip to BEL or ST.
                    Some(']' | 'P' | 'X' | '^' | '_') => {
                        while let Some(d) = chars.next() {
                            if d == '\u{7}' || d == '\u{9c}' {
                                break;
                            }
                            if d == '\u{1b}' && chars.peek() == Some(&'\\') {
                                chars.next();
                                break;
                            }
                        }
                    }
                    // Two-byte escapes with an intermediate (e.g. ESC ( B): drop the next one.
                    Some(' '..='/') => {
                        chars.next();
                    }
                    _ => {}
                }
            }
            '\t' => cur.push_str("    "),
            c if c.is_control() => {}
            c => cur.push(c),
        }
    }
    flush(&mut out, &mut cur, style);
    out
}

fn apply_sgr(mut style: Style, params: &str) -> Style {
    let nums: Vec<u16> = params
        .split([';', ':'])
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    let mut i = 0;
    while i < nums.len() {
        let n = nums[i];
        match n {
            0 => style = Style::new(),
            1 => style = style.add_modifier(Modifier::BOLD),
            2 => style = style.add_modifier(Modifier::DIM),
            3 => style = style.add_modifier(Modifier::ITALIC),
            4 => style = style.add_modifier(Modifier::UNDERLINED),
            7 => style = style.add_modifier(Modifier::REVERSED),
            22 => style = style.remove_modifier(Modifier::BOLD | Modifier::DIM),
            23 => style = style.remove_modifier(Modifier::ITALIC),
            24 => style = style.remove_modifier(Modifier::UNDERLINED),
            27 => style = style.remove_modifier(Modifier::REVERSED),
            30..=37 => style = style.fg(Color::Indexed((n - 30) as u8)),
            90..=97 => style = style.fg(Color::Indexed((n - 90 + 8) as u8)),
            40..=47 => style = style.bg(Color::Indexed((n - 40) as u8)),
            100..=107 => style = style.bg(Color::Indexed((n - 100 + 8) as u8)),
            39 => style.fg = Some(Color::Reset),
            49 => style.bg = Some(Color::Reset),
            38 | 48 => {
                let colour = match nums.get(i + 1) {
                    Some(5) => {
                        let c = nums.get(i + 2).map(|v| Color::Indexed(*v as u8));
                        i += 2;
                        c
                    }
                    Some(2) => {
                        let g = |k: usize| nums.get(i + k).copied().unwrap_or(0) as u8;
                        let c = Color::Rgb(g(2), g(3), g(4));
                        i += 4;
                        Some(c)
                    }
                    _ => None,
                };
                if let Some(c) = colour {
                    style = if n == 38 { style.fg(c) } else { style.bg(c) };
                }
            }
            _ => {}
        }
        i += 1;
    }
    style
}

/// One raw log line as a ratatui line: the step's own SGR styles over the theme's base
/// (colours dropped in monochrome, so `NO_COLOR` holds for step output too).
pub fn log_line(raw: &str, theme: &crate::tui::theme::Theme) -> Line<'static> {
    Line::from(
        sanitize_line(raw.as_bytes())
            .into_iter()
            .map(|(mut st, s)| {
                if theme.monochrome {
                    st.fg = None;
                    st.bg = None;
                }
                Span::styled(s, theme.base.patch(st))
            })
            .collect::<Vec<_>>(),
    )
}

/// Plain text of a raw log line (for search and width).
pub fn plain(raw: &str) -> String {
    sanitize_line(raw.as_bytes())
        .into_iter()
        .map(|(_, s)| s)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_sgr_and_drops_everything_else() {
        let raw = b"\x1b]0;pwned title\x07\x1b[2J\x1b[H\x1b[31mred\x1b[0m ok\xff\r\x08!";
        let parts = sanitize_line(raw);
        let text: String = parts.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(text, "red ok\u{fffd}!");
        assert_eq!(parts[0].0.fg, Some(Color::Indexed(1)));
        assert_eq!(parts[1].0, Style::new());
    }

    #[test]
    fn truecolour_and_256() {
        let p = sanitize_line(b"\x1b[38;5;208ma\x1b[48;2;1;2;3mb");
        assert_eq!(p[0].0.fg, Some(Color::Indexed(208)));
        assert_eq!(p[1].0.bg, Some(Color::Rgb(1, 2, 3)));
    }
}
