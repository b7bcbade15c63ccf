//! ASCII for a terminal whose locale is not UTF-8 (or `ascii = true`): every symbol the
//! console drew that is not ASCII (state glyphs, borders, graph edges, gauges, arrows in
//! the footer, `…`) is replaced in the finished frame by one ASCII character of the same
//! width, so nothing the views draw is missed and no column moves.
use ratatui::buffer::Buffer;
use unicode_width::UnicodeWidthStr;

/// The ASCII stand-in for one drawn symbol (a grapheme cluster). Each state glyph has
/// its own, so a state still reads without colour; what has none is `?`.
pub(crate) fn symbol(s: &str) -> &'static str {
    let Some(c) = s.chars().next() else {
        return " ";
    };
    match c {
        // Step and run states (`StepState::glyph`), the cached success.
        '·' => ".",
        '⏸' => "=",
        '⏯' => "|",
        '○' => "o",
        '▶' | '▸' | '›' => ">",
        '‹' => "<",
        '◉' => "@",
        '↻' => "%",
        '✔' => "+",
        '✘' | '×' => "x",
        '⤼' => "_",
        '⇣' => "^",
        '⊘' => "/",
        '■' => "#",
        '↯' | '⚠' => "!",
        '↶' => "<",
        '↺' => "{",
        '‼' => "X",
        '≡' => "*",
        '⇐' => "R",
        '❄' => "F",
        '●' | '◆' => "*",
        '⏱' => "t",
        // Arrows (footer keys, graph, log).
        '↑' => "^",
        '↓' => "v",
        '←' => "<",
        '→' => ">",
        // Gauges, bars, the typing cursor; a sparkline's eighths (`model::step_trend`).
        '█' | '▇' => "#",
        '▁' => "_",
        '▂' | '▃' => ".",
        '▄' | '▅' => "-",
        '▆' => "=",
        // The Timeline's failed attempt and gate wait (`crate::timeline::Cell`).
        '▓' => "x",
        '▒' => "=",
        '░' => "-",
        '▏' | '▕' => "|",
        // Punctuation.
        '…' => "~",
        '–' | '—' | '−' => "-",
        '“' | '”' => "\"",
        '‘' | '’' => "'",
        '≥' => ">",
        '≤' => "<",
        '\u{2500}'..='\u{257f}' => box_drawing(c),
        _ => "?",
    }
}

/// A box-drawing character: a line across is `-`, a line down `|`, a corner or a
/// junction `+`.
fn box_drawing(c: char) -> &'static str {
    match c {
        '─' | '━' | '┄' | '┅' | '┈' | '┉' | '╌' | '╍' | '═' | '╴' | '╶' | '╸' | '╺' => {
            "-"
        }
        '│' | '┃' | '┆' | '┇' | '┊' | '┋' | '╎' | '╏' | '║' | '╵' | '╷' | '╹' | '╻' => {
            "|"
        }
        '╱' => "/",
        '╲' => "\\",
        _ => "+",
    }
}

/// Replace every symbol of the frame that is not ASCII. A wide symbol's stand-in is one
/// column; the column after it, which the terminal left to the wide one, is a space.
pub(crate) fn finish(buf: &mut Buffer) {
    let area = buf.area;
    for y in area.top()..area.bottom() {
        let mut x = area.left();
        while x < area.right() {
            let cell = &mut buf[(x, y)];
            let sym = cell.symbol();
            let w = sym.width().max(1) as u16;
            if !sym.is_ascii() {
                let ascii = symbol(sym);
                cell.set_symbol(ascii);
                for k in 1..w {
                    if x + k < area.right() {
                        buf[(x + k, y)].set_symbol(" ");
                    }
                }
            }
            x += w;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_model::StepState;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn every_state_glyph_has_an_ascii_stand_in_of_its_own() {
        let mut seen: Vec<&str> = StepState::ALL.iter().map(|s| symbol(s.glyph())).collect();
        assert!(
            seen.iter()
                .all(|g| g.is_ascii() && g.len() == 1 && *g != "?"),
            "{seen:?}"
        );
        // The looks beyond a state (`views::common::step_glyph`): cached, reused, frozen.
        let looks = [
            crate::views::common::CACHED_GLYPH,
            crate::views::common::REUSED_GLYPH,
            crate::views::common::FROZEN_GLYPH,
        ];
        seen.extend(looks.iter().map(|g| symbol(g)));
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), StepState::ALL.len() + looks.len(), "{seen:?}");
    }

    #[test]
    fn borders_edges_and_arrows_become_ascii() {
        for (u, a) in [
            ("╭", "+"),
            ("─", "-"),
            ("│", "|"),
            ("┼", "+"),
            ("↑", "^"),
            ("…", "~"),
        ] {
            assert_eq!(symbol(u), a);
        }
        assert_eq!(symbol("漢"), "?");
    }

    #[test]
    fn a_frame_is_ascii_after_finish_and_keeps_its_columns() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 12, 1));
        buf.set_string(0, 0, "│漢✔ab…👍🏽│", Style::new());
        finish(&mut buf);
        let row: String = (0..12).map(|x| buf[(x, 0)].symbol().to_string()).collect();
        assert_eq!(row, "|? +ab~? |  ");
    }
}
