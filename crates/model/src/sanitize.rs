//! Making a step's output safe to show (docs/console.md): SGR colour sequences become styles;
//! every other escape or control sequence is dropped (CSI cursor moves and clears, OSC
//! titles and hyperlinks, DCS/SOS/PM/APC strings, other ESC sequences) or shown visibly
//! (C0 controls as control pictures such as `␍`, a lone ESC as `␛`, DEL as `␡`; C1
//! controls and bidi overrides as `�`). Invalid UTF-8 is decoded lossily, tabs are
//! expanded. The result holds no control character at all: a step cannot retitle,
//! clear or move the operator's terminal, or hide text with CR or bidi tricks.
//!
//! A small hand-written state machine (after the DEC/xterm parser states) instead of a
//! crate: only SGR has to be understood, everything else only has to be skipped.

/// A colour as SGR gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SgrColor {
    /// The 16 basic colours: 0–7 (`30–37`), 8–15 bright (`90–97`).
    Ansi(u8),
    /// The 256-colour palette (`38;5;n`).
    Indexed(u8),
    /// True colour (`38;2;r;g;b`).
    Rgb(u8, u8, u8),
}

/// The text attributes baton keeps (`None` colour: the terminal's default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SgrStyle {
    pub fg: Option<SgrColor>,
    pub bg: Option<SgrColor>,
    pub bold: bool,
    pub dim: bool,
    pub italic: bool,
    pub underline: bool,
    pub reverse: bool,
}

/// Text in one style. `text` never contains a control character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StyledRun {
    pub style: SgrStyle,
    pub text: String,
}

pub const TAB_WIDTH: usize = 8;
/// CSI parameter bytes kept; a longer sequence is still skipped, but not applied.
const MAX_CSI_PARAMS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ground,
    Escape,
    EscIntermediate,
    Csi,
    /// OSC, DCS, SOS, PM, APC: skipped up to BEL or ST.
    Str,
    /// ESC inside a string: `\` ends it (ST), anything else aborts it.
    StrEscape,
}

/// Sanitises line after line, carrying the SGR style from one line to the next as a
/// terminal would.
#[derive(Debug, Clone, Default)]
pub struct Sanitizer {
    style: SgrStyle,
}

struct Line {
    runs: Vec<StyledRun>,
    col: usize,
}

impl Line {
    fn push(&mut self, style: SgrStyle, c: char) {
        match self.runs.last_mut() {
            Some(run) if run.style == style => run.text.push(c),
            _ => self.runs.push(StyledRun {
                style,
                text: c.to_string(),
            }),
        }
        self.col += 1;
    }
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A character a terminal acts on or that reorders the text around it: C0 and C1
/// controls, DEL, bidi controls.
pub fn acts_on_terminal(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// `value` as one line of JSON whose text holds no character a terminal acts on:
/// serde writes C0 controls as escapes, and C1 controls, DEL and bidi controls are
/// written `\uXXXX` too. A program reads the same data; a terminal showing the file
/// (`cat events.jsonl`) is told nothing.
pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let mut out = Vec::new();
    write_json(&mut out, value)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// [`json`] into a writer, as it is serialised.
pub fn write_json<W: std::io::Write, T: serde::Serialize + ?Sized>(
    writer: W,
    value: &T,
) -> Result<(), serde_json::Error> {
    value.serialize(&mut serde_json::Serializer::with_formatter(
        writer, QuietJson,
    ))
}

/// serde_json's compact formatter, with [`acts_on_terminal`] characters escaped.
struct QuietJson;

impl serde_json::ser::Formatter for QuietJson {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if acts_on_terminal(c) {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                // Every such character is in the BMP: one escape.
                write!(writer, "\\u{:04x}", c as u32)?;
                start = i + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

impl Sanitizer {
    pub fn new() -> Self {
        Self::default()
    }

    /// One line of output (a trailing `\n`, `\r\n` or `\r` is dropped).
    pub fn line(&mut self, raw: &[u8]) -> Vec<StyledRun> {
        let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = String::from_utf8_lossy(raw);
        let mut line = Line {
            runs: Vec::new(),
            col: 0,
        };
        let mut state = State::Ground;
        let mut params = String::new();
        let mut csi_ok = true;
        for c in text.chars() {
            // Some characters end a sequence and are then taken as ordinary input.
            let mut redo = true;
            while std::mem::take(&mut redo) {
                state = match state {
                    State::Ground => self.ground(&mut line, c),
                    State::Escape => match c {
                        '[' => {
                            params.clear();
                            csi_ok = true;
                            State::Csi
                        }
                        ']' | 'P' | 'X' | '^' | '_' => State::Str,
                        '\x20'..='\x2f' => State::EscIntermediate,
                        '\x30'..='\x7e' => State::Ground,
                        '\x1b' => {
                            line.push(self.style, '␛');
                            State::Escape
                        }
                        _ => {
                            line.push(self.style, '␛');
                            redo = true;
                            State::Ground
                        }
                    },
                    State::EscIntermediate => match c {
                        '\x20'..='\x2f' => State::EscIntermediate,
                        '\x30'..='\x7e' => State::Ground,
                        _ => {
                            redo = true;
                            State::Ground
                        }
                    },
                    State::Csi => match c {
                        '\x20'..='\x3f' => {
                            if params.len() < MAX_CSI_PARAMS {
                                params.push(c);
                            } else {
                                csi_ok = false;
                            }
                            State::Csi
                        }
                        '\x40'..='\x7e' => {
                            if c == 'm' && csi_ok {
                                apply_sgr(&mut self.style, &params);
                            }
                            State::Ground
                        }
                        _ => {
                            redo = true;
                            State::Ground
                        }
                    },
                    State::Str => match c {
                        '\x07' | '\u{9c}' => State::Ground,
                        '\x1b' => State::StrEscape,
                        _ => State::Str,
                    },
                    State::StrEscape => match c {
                        '\\' => State::Ground,
                        _ => {
                            redo = true;
                            State::Escape
                        }
                    },
                };
            }
        }
        if state == State::Escape {
            line.push(self.style, '␛');
        }
        line.runs
    }

    fn ground(&mut self, line: &mut Line, c: char) -> State {
        match c {
            '\x1b' => return State::Escape,
            '\t' => {
                let to = (line.col / TAB_WIDTH + 1) * TAB_WIDTH;
                while line.col < to {
                    line.push(self.style, ' ');
                }
            }
            '\x00'..='\x1f' => {
                let picture = char::from_u32(0x2400 + c as u32).unwrap_or('\u{FFFD}');
                line.push(self.style, picture);
            }
            '\x7f' => line.push(self.style, '␡'),
            '\u{80}'..='\u{9f}' => line.push(self.style, '\u{FFFD}'),
            c if is_bidi_control(c) => line.push(self.style, '\u{FFFD}'),
            c => line.push(self.style, c),
        }
        State::Ground
    }
}

/// Applies the parameters of one `CSI … m` (private or malformed ones change nothing).
fn apply_sgr(style: &mut SgrStyle, params: &str) {
    // Private markers (`<=>?`) and intermediates make it some other sequence.
    if !params
        .chars()
        .all(|c| c.is_ascii_digit() || c == ';' || c == ':')
    {
        return;
    }
    let groups: Vec<Vec<Option<u32>>> = params
        .split(';')
        .map(|g| g.split(':').map(|n| n.parse::<u32>().ok()).collect())
        .collect();
    let num = |g: Option<&Vec<Option<u32>>>| g.and_then(|g| g.first().copied().flatten());
    let byte = |n: Option<u32>| n.and_then(|n| u8::try_from(n).ok());
    let mut i = 0;
    while i < groups.len() {
        let group = &groups[i];
        let p = group.first().copied().flatten().unwrap_or(0);
        match p {
            0 => *style = SgrStyle::default(),
            1 => style.bold = true,
            2 => style.dim = true,
            3 => style.italic = true,
            4 => style.underline = group.get(1).copied().flatten() != Some(0),
            7 => style.reverse = true,
            21 => style.underline = true,
            22 => (style.bold, style.dim) = (false, false),
            23 => style.italic = false,
            24 => style.underline = false,
            27 => style.reverse = false,
            30..=37 => style.fg = Some(SgrColor::Ansi((p - 30) as u8)),
            39 => style.fg = None,
            40..=47 => style.bg = Some(SgrColor::Ansi((p - 40) as u8)),
            49 => style.bg = None,
            90..=97 => style.fg = Some(SgrColor::Ansi((p - 90 + 8) as u8)),
            100..=107 => style.bg = Some(SgrColor::Ansi((p - 100 + 8) as u8)),
            38 | 48 => {
                let color = if group.len() > 1 {
                    // Colon form: 38:5:n, 38:2:r:g:b or 38:2:<colour space>:r:g:b.
                    match group.get(1).copied().flatten() {
                        Some(5) => byte(group.get(2).copied().flatten()).map(SgrColor::Indexed),
                        Some(2) if group.len() >= 5 => {
                            let rgb = &group[group.len() - 3..];
                            match (byte(rgb[0]), byte(rgb[1]), byte(rgb[2])) {
                                (Some(r), Some(g), Some(b)) => Some(SgrColor::Rgb(r, g, b)),
                                _ => None,
                            }
                        }
                        _ => None,
                    }
                } else {
                    match num(groups.get(i + 1)) {
                        Some(5) => {
                            i += 2;
                            byte(num(groups.get(i))).map(SgrColor::Indexed)
                        }
                        Some(2) => {
                            let (r, g, b) = (
                                byte(num(groups.get(i + 2))),
                                byte(num(groups.get(i + 3))),
                                byte(num(groups.get(i + 4))),
                            );
                            i += 4;
                            match (r, g, b) {
                                (Some(r), Some(g), Some(b)) => Some(SgrColor::Rgb(r, g, b)),
                                _ => None,
                            }
                        }
                        _ => None,
                    }
                };
                if let Some(color) = color {
                    if p == 38 {
                        style.fg = Some(color);
                    } else {
                        style.bg = Some(color);
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
}

/// One line, starting from the default style.
pub fn sanitize_line(raw: &[u8]) -> Vec<StyledRun> {
    Sanitizer::new().line(raw)
}

/// The visible text of a line, without styles.
pub fn strip_to_plain(raw: &[u8]) -> String {
    sanitize_line(raw).into_iter().map(|r| r.text).collect()
}

/// Several lines of operator text (a reason) on one line of a table or a headless
/// line: each line break becomes ` ⏎ `, so `Monday` and `ticket 42` do not run into
/// `Mondayticket 42`.
pub fn one_line(text: &str) -> String {
    text.trim()
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ⏎ ")
}

/// Text for a terminal, a pipe or a file (what baton prints outside the console:
/// headless lines, `show`, `audit`, `events`, `inbox`, `plan`, errors, reasons, names):
/// the console's sanitiser, line by line, with the SGR colours it keeps written back as
/// SGR. Every other control sequence is neutralised as in the console (dropped, or
/// shown as a control picture), so text from a step or an operator cannot clear,
/// retitle or write to the clipboard of the terminal reading it. Each line starts from
/// the default style and ends in it: a colour a value leaves open ends with its line
/// (one of baton's records), never reaching the next.
pub fn for_terminal(text: &str) -> String {
    // Most text holds nothing a terminal acts on but its newlines (no escape, other
    // control or bidi character): each of its lines is shown as it is, so the whole is,
    // without taking it apart into styled runs (the headless engine writes its lines,
    // three a step, through here).
    if !text.chars().any(|c| c != '\n' && acts_on_terminal(c)) {
        return text.to_string();
    }
    by_lines(text)
}

/// [`for_terminal`] taking every line apart into styled runs.
fn by_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (n, line) in text.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        out.push_str(&TerminalLines::default().line(line.as_bytes()));
    }
    out
}

/// Line after line for a terminal (a stream such as `baton logs`), the SGR style carried
/// from one line to the next as a terminal would, each line ending in its default style.
#[derive(Debug, Clone, Default)]
pub struct TerminalLines {
    sanitizer: Sanitizer,
}

impl TerminalLines {
    /// One line (without its newline), sanitised, colours written back as SGR.
    pub fn line(&mut self, raw: &[u8]) -> String {
        let mut out = String::with_capacity(raw.len());
        let mut styled = false;
        for run in self.sanitizer.line(raw) {
            if run.style != SgrStyle::default() || styled {
                push_sgr(&mut out, &run.style);
                styled = run.style != SgrStyle::default();
            }
            out.push_str(&run.text);
        }
        if styled {
            out.push_str("\x1b[0m");
        }
        out
    }
}

/// A writer that passes a byte stream on line by line for a terminal (`baton logs`): each
/// complete line goes through [`TerminalLines`] (so an escape sequence is never cut
/// between two writes), the unfinished rest waits for its newline or [`finish`].
/// Linear in the stream: each byte is looked at for a newline once, however long the
/// line it belongs to.
///
/// [`finish`]: TerminalWriter::finish
pub struct TerminalWriter<W: std::io::Write> {
    lines: TerminalLines,
    pending: Vec<u8>,
    inner: W,
}

impl<W: std::io::Write> TerminalWriter<W> {
    pub fn new(inner: W) -> Self {
        TerminalWriter {
            lines: TerminalLines::default(),
            pending: Vec::new(),
            inner,
        }
    }

    /// Write the last line (without a newline) and flush.
    pub fn finish(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            let line = self.lines.line(&self.pending);
            self.pending.clear();
            self.inner.write_all(line.as_bytes())?;
        }
        self.inner.flush()
    }

    /// The writer the sanitised bytes go to.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }
}

impl<W: std::io::Write> std::io::Write for TerminalWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // Only the new bytes are searched: a line that grows over many writes is not
        // scanned again on each one.
        let mut rest = buf;
        while let Some(end) = memchr::memchr(b'\n', rest) {
            let shown = if self.pending.is_empty() {
                self.lines.line(&rest[..end])
            } else {
                self.pending.extend_from_slice(&rest[..end]);
                let shown = self.lines.line(&self.pending);
                self.pending.clear();
                shown
            };
            self.inner.write_all(shown.as_bytes())?;
            self.inner.write_all(b"\n")?;
            rest = &rest[end + 1..];
        }
        self.pending.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// `ESC [ 0 ; … m` setting exactly `style`.
fn push_sgr(out: &mut String, style: &SgrStyle) {
    use std::fmt::Write as _;
    out.push_str("\x1b[0");
    for (on, code) in [
        (style.bold, 1),
        (style.dim, 2),
        (style.italic, 3),
        (style.underline, 4),
        (style.reverse, 7),
    ] {
        if on {
            let _ = write!(out, ";{code}");
        }
    }
    for (colour, base, bright, ext) in [(style.fg, 30, 90, 38), (style.bg, 40, 100, 48)] {
        match colour {
            Some(SgrColor::Ansi(n)) if n < 8 => {
                let _ = write!(out, ";{}", base + u32::from(n));
            }
            Some(SgrColor::Ansi(n)) => {
                let _ = write!(out, ";{}", bright + u32::from(n.min(15) - 8));
            }
            Some(SgrColor::Indexed(n)) => {
                let _ = write!(out, ";{ext};5;{n}");
            }
            Some(SgrColor::Rgb(r, g, b)) => {
                let _ = write!(out, ";{ext};2;{r};{g};{b}");
            }
            None => {}
        }
    }
    out.push('m');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_keep_their_line_breaks_visible_on_one_line() {
        assert_eq!(one_line("Monday\nticket 42"), "Monday ⏎ ticket 42");
        assert_eq!(one_line("a\r\n\r\nb\n"), "a ⏎ b");
        assert_eq!(one_line("just one"), "just one");
    }
    use proptest::prelude::*;

    fn plain(s: &str) -> String {
        strip_to_plain(s.as_bytes())
    }

    fn styled(fg: Option<SgrColor>, text: &str) -> StyledRun {
        StyledRun {
            style: SgrStyle {
                fg,
                ..SgrStyle::default()
            },
            text: text.into(),
        }
    }

    #[test]
    fn colours_become_styles() {
        let runs = sanitize_line(b"a\x1b[31mred\x1b[0m b\x1b[1;38;5;200mX\x1b[38;2;1;2;3;48:2::4:5:6;4mY\x1b[22;24;39;49mZ");
        assert_eq!(runs[0], styled(None, "a"));
        assert_eq!(runs[1], styled(Some(SgrColor::Ansi(1)), "red"));
        assert_eq!(runs[2], styled(None, " b"));
        assert_eq!(
            runs[3].style,
            SgrStyle {
                fg: Some(SgrColor::Indexed(200)),
                bold: true,
                ..SgrStyle::default()
            }
        );
        assert_eq!(
            runs[4].style,
            SgrStyle {
                fg: Some(SgrColor::Rgb(1, 2, 3)),
                bg: Some(SgrColor::Rgb(4, 5, 6)),
                bold: true,
                underline: true,
                ..SgrStyle::default()
            }
        );
        assert_eq!(runs[5], styled(None, "Z"));
        assert_eq!(
            sanitize_line(b"\x1b[92;7mok")[0].style,
            SgrStyle {
                fg: Some(SgrColor::Ansi(10)),
                reverse: true,
                ..SgrStyle::default()
            }
        );
    }

    #[test]
    fn style_carries_over_lines_in_a_sanitizer() {
        let mut s = Sanitizer::new();
        s.line(b"\x1b[32mgreen starts");
        assert_eq!(
            s.line(b"still"),
            vec![styled(Some(SgrColor::Ansi(2)), "still")]
        );
        assert_eq!(sanitize_line(b"still"), vec![styled(None, "still")]);
    }

    #[test]
    fn hostile_sequences_are_neutralised() {
        // Window title (OSC with BEL and with ST), hyperlink, clear screen, cursor home,
        // bracketed paste, DCS, APC, charset switch, private SGR.
        assert_eq!(plain("\x1b]0;pwned\x07a\x1b]2;x\x1b\\b"), "ab");
        assert_eq!(plain("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\"), "link");
        assert_eq!(plain("\x1b[2J\x1b[Hx\x1b[10;20Hy\x1b[?1049h\x1b[K"), "xy");
        assert_eq!(plain("\x1b[?2004h\x1b[200~paste\x1b[201~"), "paste");
        assert_eq!(plain("\x1bP1$qm\x1b\\d\x1b_apc\x07e"), "de");
        assert_eq!(plain("\x1b(0lqk\x1b(B\x1bc\x1b7\x1b8"), "lqk");
        assert_eq!(sanitize_line(b"\x1b[>4;1mq")[0].style, SgrStyle::default());
    }

    #[test]
    fn controls_are_shown_not_executed() {
        // CR overwrite: the hidden part stays visible.
        assert_eq!(plain("rm -rf /\r# harmless\r\n"), "rm -rf /␍# harmless");
        assert_eq!(plain("a\x08\x08b\x07\x00\x7f"), "a␈␈b␇␀␡");
        assert_eq!(plain("lone \x1b"), "lone ␛");
        assert_eq!(plain("\x1b\x1b[31mz"), "␛z");
        assert_eq!(plain("x\u{9b}2J\u{9d}0;t"), "x\u{FFFD}2J\u{FFFD}0;t");
        assert_eq!(plain("abc\u{202E}fed"), "abc\u{FFFD}fed");
        // A sequence cut by a control: the control shows, the sequence is dropped.
        assert_eq!(plain("\x1b[3\x08m"), "␈m");
    }

    #[test]
    fn invalid_utf8_and_tabs() {
        assert_eq!(
            strip_to_plain(b"a\xff\xfeb\xe2\x82"),
            "a\u{FFFD}\u{FFFD}b\u{FFFD}"
        );
        assert_eq!(
            plain("a\tb\t"),
            format!("a{}b{}", " ".repeat(7), " ".repeat(7))
        );
        assert_eq!(plain("12345678\tx"), format!("12345678{}x", " ".repeat(8)));
        assert_eq!(plain("\x1b[1m\tx"), format!("{}x", " ".repeat(8)));
    }

    #[test]
    fn absurd_parameters_are_harmless() {
        let long = format!("\x1b[{}mX", "9;".repeat(10_000));
        assert_eq!(plain(&long), "X");
        assert_eq!(
            plain("\x1b[38;5;999m\x1b[38;2;1mY\x1b[99999999999999999999mZ"),
            "YZ"
        );
    }

    proptest! {
        #[test]
        fn output_never_holds_a_control(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            for run in sanitize_line(&bytes) {
                prop_assert!(!run.text.is_empty());
                prop_assert!(!run.text.chars().any(|c| c.is_control()), "{:?}", run.text);
            }
        }

        #[test]
        fn escape_heavy_input_never_holds_a_control(
            parts in proptest::collection::vec(
                prop_oneof![Just("\x1b"), Just("["), Just("]"), Just(";"), Just("\x07"),
                            Just("\\"), Just("P"), Just("m"), Just("38"), Just("5"), Just("2"),
                            Just("\t"), Just("\r"), Just("\u{9b}"), Just("a")], 0..60)
        ) {
            let raw = parts.concat();
            for run in sanitize_line(raw.as_bytes()) {
                prop_assert!(!run.text.chars().any(|c| c.is_control()), "{:?}", run.text);
            }
        }
    }

    #[test]
    fn text_for_a_terminal_keeps_colours_and_neutralises_the_rest() {
        // A reason typed to fake a clean screen: clear, title, clipboard write, colour.
        let hostile = "ok\x1b[2J\x1b]0;owned\x07\x1b]52;c;ZXZpbA==\x07\x1b[32mALL GREEN\x1b[0m\rX";
        let shown = for_terminal(hostile);
        assert!(
            !shown.contains("\x1b[2J") && !shown.contains("\x1b]"),
            "{shown:?}"
        );
        assert!(
            shown.contains("\x1b[0;32mALL GREEN"),
            "colours pass: {shown:?}"
        );
        assert!(
            shown.contains('\u{240d}'),
            "a carriage return is shown: {shown:?}"
        );
        // Only SGR sequences remain.
        let escapes: Vec<&str> = shown.split('\x1b').skip(1).collect();
        assert!(
            escapes
                .iter()
                .all(|e| e.starts_with('[') && e.contains('m')),
            "{shown:?}"
        );
        assert_eq!(for_terminal("plain\nlines"), "plain\nlines");
    }

    proptest! {
        /// Text whose only control characters are newlines (the shortcut's) is shown
        /// as it is, which is what taking each of its lines apart shows.
        #[test]
        fn the_plain_shortcut_shows_what_taking_lines_apart_shows(
            parts in proptest::collection::vec(
                prop_oneof![Just("\n"), Just("a"), Just("é"), Just(" "), Just("["),
                            Just("m"), Just(";"), Just("\u{2028}"), Just("0")], 0..40)
        ) {
            let raw = parts.concat();
            prop_assert!(!raw.chars().any(|c| c != '\n' && acts_on_terminal(c)));
            let shown = for_terminal(&raw);
            prop_assert_eq!(&shown, &by_lines(&raw));
            prop_assert_eq!(&shown, &raw);
        }
    }
}
