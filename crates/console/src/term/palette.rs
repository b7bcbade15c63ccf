//! Colours mapped down to what the terminal shows: `down` is the one function every
//! colour the console sends goes through (`SgrWriter` applies it to the bytes, so no
//! style, wherever it was made, reaches a 16-colour terminal as a 256-colour or RGB
//! sequence). 8 and 16 colours are sent as the classic SGR 30–37/90–97 (and 40–47/
//! 100–107): crossterm writes even named colours as `38;5;N`, which a vt100-era
//! terminal does not read.
use super::ColorDepth;
use ratatui::style::Color;
use std::io::Write;

/// xterm's default values of the 16 ANSI colours: what "nearest" is measured against.
const ANSI: [(u8, u8, u8); 16] = [
    (0, 0, 0),
    (205, 0, 0),
    (0, 205, 0),
    (205, 205, 0),
    (0, 0, 238),
    (205, 0, 205),
    (0, 205, 205),
    (229, 229, 229),
    (127, 127, 127),
    (255, 0, 0),
    (0, 255, 0),
    (255, 255, 0),
    (92, 92, 255),
    (255, 0, 255),
    (0, 255, 255),
    (255, 255, 255),
];

const NAMED: [Color; 16] = [
    Color::Black,
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::Gray,
    Color::DarkGray,
    Color::LightRed,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightBlue,
    Color::LightMagenta,
    Color::LightCyan,
    Color::White,
];

/// The one palette function: `c` as a terminal of `depth` colours shows it. `Reset`
/// stays; with no colours every colour is `Reset`.
pub(crate) fn down(c: Color, depth: ColorDepth) -> Color {
    if c == Color::Reset {
        return c;
    }
    match depth {
        ColorDepth::TrueColor => c,
        ColorDepth::Mono => Color::Reset,
        ColorDepth::Ansi256 => match c {
            Color::Rgb(r, g, b) => Color::Indexed(index_256(r, g, b)),
            _ => c,
        },
        ColorDepth::Sixteen => NAMED[nearest(rgb(c), 16)],
        ColorDepth::Eight => match ansi_index(c) {
            Some(i) if i < 8 => c,
            _ => NAMED[nearest(rgb(c), 8)],
        },
    }
}

/// A colour with little hue (its channels within this of each other) is a grey: it maps
/// to a grey of the palette by lightness, never to the hue nearest by distance (a mid
/// grey is nearer cyan than white by any distance, and dim text must stay grey).
const GREY_SPREAD: u8 = 24;

/// The index of the palette's grey of the lightness of `(r, g, b)`: of 8, black or the
/// light grey; of 16, also dark grey and white.
fn grey((r, g, b): (u8, u8, u8), n: usize) -> usize {
    let l = (u16::from(r) + u16::from(g) + u16::from(b)) / 3;
    match (n, l) {
        (_, 0..=63) => 0,
        (8, _) => 7,
        (_, 64..=177) => 8,
        (_, 178..=241) => 7,
        _ => 15,
    }
}

/// The index 0–15 of a named colour (or of an indexed one below 16).
fn ansi_index(c: Color) -> Option<usize> {
    match c {
        Color::Indexed(i) if i < 16 => Some(i as usize),
        _ => NAMED.iter().position(|n| *n == c),
    }
}

/// A colour's RGB value (named ones as xterm shows them by default).
fn rgb(c: Color) -> (u8, u8, u8) {
    match c {
        Color::Rgb(r, g, b) => (r, g, b),
        Color::Indexed(i) if i >= 16 => rgb_of_256(i),
        _ => ansi_index(c).map_or((229, 229, 229), |i| ANSI[i]),
    }
}

fn rgb_of_256(i: u8) -> (u8, u8, u8) {
    const STEPS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    if i >= 232 {
        let v = 8 + (i - 232) * 10;
        return (v, v, v);
    }
    let i = i - 16;
    (
        STEPS[(i / 36) as usize],
        STEPS[((i / 6) % 6) as usize],
        STEPS[(i % 6) as usize],
    )
}

/// The nearest of the first `n` ANSI colours: a grey by lightness, else by a perceptual
/// ("redmean") distance.
fn nearest((r, g, b): (u8, u8, u8), n: usize) -> usize {
    if r.max(g).max(b) - r.min(g).min(b) <= GREY_SPREAD {
        return grey((r, g, b), n);
    }
    let dist = |(r2, g2, b2): (u8, u8, u8)| {
        let rm = (f64::from(r) + f64::from(r2)) / 2.0;
        let (dr, dg, db) = (
            f64::from(r) - f64::from(r2),
            f64::from(g) - f64::from(g2),
            f64::from(b) - f64::from(b2),
        );
        (2.0 + rm / 256.0) * dr * dr + 4.0 * dg * dg + (2.0 + (255.0 - rm) / 256.0) * db * db
    };
    (0..n)
        .min_by(|&a, &b| dist(ANSI[a]).total_cmp(&dist(ANSI[b])))
        .unwrap_or(0)
}

/// The nearest of the xterm 256-colour cube and grey ramp.
fn index_256(r: u8, g: u8, b: u8) -> u8 {
    let candidates = (16..=255u8).map(|i| (i, rgb_of_256(i)));
    let d = |(r2, g2, b2): (u8, u8, u8)| {
        let sq = |a: u8, b: u8| (i32::from(a) - i32::from(b)).pow(2);
        sq(r, r2) + sq(g, g2) + sq(b, b2)
    };
    candidates.min_by_key(|(_, c)| d(*c)).map_or(16, |(i, _)| i)
}

/// The parameters of an SGR sequence (`ESC [ params m`) rewritten for `depth`: every
/// colour (`38;5;N`, `38;2;R;G;B`, and likewise 48 and 58) through `down`, written as
/// a terminal of that depth reads it; the other parameters as they were.
pub(crate) fn rewrite_sgr(params: &str, depth: ColorDepth) -> String {
    let p: Vec<&str> = params.split(';').collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < p.len() {
        let layer = p[i];
        let colour = match (layer, p.get(i + 1).copied()) {
            ("38" | "48" | "58", Some("5")) => {
                let n: Option<u8> = p.get(i + 2).and_then(|v| v.parse().ok());
                i += 3;
                n.map(|n| {
                    if n < 16 {
                        NAMED[n as usize]
                    } else {
                        Color::Indexed(n)
                    }
                })
            }
            ("38" | "48" | "58", Some("2")) => {
                let v: Vec<Option<u8>> = (2..5)
                    .map(|k| p.get(i + k).and_then(|v| v.parse().ok()))
                    .collect();
                i += 5;
                match v[..] {
                    [Some(r), Some(g), Some(b)] => Some(Color::Rgb(r, g, b)),
                    _ => None,
                }
            }
            _ => {
                out.push(layer.to_string());
                i += 1;
                continue;
            }
        };
        if let Some(c) = colour {
            out.extend(sgr_colour(layer, down(c, depth), depth));
        }
    }
    out.join(";")
}

/// One colour as SGR parameters for `depth` (`None`: not sent, e.g. an underline
/// colour to a terminal of 16).
fn sgr_colour(layer: &str, c: Color, depth: ColorDepth) -> Option<String> {
    let (reset, base) = match layer {
        "38" => ("39", 30),
        "48" => ("49", 40),
        _ if depth >= ColorDepth::Ansi256 => ("59", 0),
        _ => return None,
    };
    Some(match c {
        Color::Reset => reset.to_string(),
        Color::Rgb(r, g, b) => format!("{layer};2;{r};{g};{b}"),
        Color::Indexed(n) if n >= 16 || base == 0 => format!("{layer};5;{n}"),
        c => match ansi_index(c) {
            Some(i) if depth >= ColorDepth::Ansi256 && base == 0 => format!("{layer};5;{i}"),
            Some(i) if i < 8 => (base + i).to_string(),
            Some(i) => (base + 60 + i - 8).to_string(),
            None => reset.to_string(),
        },
    })
}

/// A writer that passes everything through but SGR sequences, which it rewrites for
/// its depth (`rewrite_sgr`); a sequence split across writes is held until whole.
pub(crate) struct SgrWriter<W: Write> {
    inner: W,
    depth: ColorDepth,
    /// An escape sequence begun and not yet ended.
    pending: Vec<u8>,
    out: Vec<u8>,
}

/// A control sequence longer than this is not one we rewrite: passed on as it is.
const MAX_SEQUENCE: usize = 64;

impl<W: Write> SgrWriter<W> {
    pub(crate) fn new(inner: W, depth: ColorDepth) -> SgrWriter<W> {
        SgrWriter {
            inner,
            depth,
            pending: Vec::new(),
            out: Vec::new(),
        }
    }

    fn byte(&mut self, b: u8) {
        const ESC: u8 = 0x1b;
        match self.pending.len() {
            0 if b == ESC => self.pending.push(b),
            0 => self.out.push(b),
            1 if b == b'[' => self.pending.push(b),
            1 => {
                // Not a CSI: passed on as it is.
                self.out.append(&mut self.pending);
                self.byte(b);
            }
            _ => {
                self.pending.push(b);
                if (0x40..=0x7e).contains(&b) {
                    let seq = std::mem::take(&mut self.pending);
                    if b == b'm' {
                        let params = String::from_utf8_lossy(&seq[2..seq.len() - 1]);
                        let p = rewrite_sgr(&params, self.depth);
                        self.out.extend_from_slice(format!("\x1b[{p}m").as_bytes());
                    } else {
                        self.out.extend_from_slice(&seq);
                    }
                } else if self.pending.len() > MAX_SEQUENCE {
                    self.out.append(&mut self.pending);
                }
            }
        }
    }
}

impl<W: Write> Write for SgrWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for &b in buf {
            self.byte(b);
        }
        if self.out.len() > 1 << 16 {
            self.inner.write_all(&self.out)?;
            self.out.clear();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.write_all(&self.out)?;
        self.out.clear();
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truecolour_stays_and_no_colour_is_reset() {
        let c = Color::Rgb(0x3c, 0xc8, 0x3c);
        assert_eq!(down(c, ColorDepth::TrueColor), c);
        assert_eq!(down(c, ColorDepth::Mono), Color::Reset);
        assert_eq!(down(Color::Reset, ColorDepth::Eight), Color::Reset);
    }

    #[test]
    fn rgb_maps_to_the_nearest_of_the_palette() {
        // The default theme's green, red and grey.
        assert_eq!(
            down(Color::Rgb(0x3c, 0xc8, 0x3c), ColorDepth::Sixteen),
            Color::Green
        );
        assert_eq!(
            down(Color::Rgb(0xf0, 0x40, 0x40), ColorDepth::Sixteen),
            Color::LightRed
        );
        assert_eq!(
            down(Color::Rgb(0xf0, 0x40, 0x40), ColorDepth::Eight),
            Color::Red
        );
        // A mid grey is dark grey of 16, and of 8 the light grey (never black on black).
        assert_eq!(
            down(Color::Rgb(0x80, 0x80, 0x80), ColorDepth::Sixteen),
            Color::DarkGray
        );
        assert_eq!(
            down(Color::Rgb(0x80, 0x80, 0x80), ColorDepth::Eight),
            Color::Gray
        );
        assert_eq!(
            down(Color::Rgb(0x1a, 0x1b, 0x26), ColorDepth::Eight),
            Color::Black
        );
        assert_eq!(down(Color::LightBlue, ColorDepth::Eight), Color::Blue);
        assert_eq!(
            down(Color::Indexed(196), ColorDepth::Sixteen),
            Color::LightRed
        );
        assert_eq!(
            down(Color::Indexed(3), ColorDepth::Eight),
            Color::Indexed(3)
        );
    }

    #[test]
    fn rgb_maps_into_the_256_cube_and_grey_ramp() {
        assert_eq!(
            down(Color::Rgb(255, 0, 0), ColorDepth::Ansi256),
            Color::Indexed(196)
        );
        assert_eq!(
            down(Color::Rgb(128, 128, 128), ColorDepth::Ansi256),
            Color::Indexed(244)
        );
        assert_eq!(down(Color::Green, ColorDepth::Ansi256), Color::Green);
    }

    #[test]
    fn sgr_is_rewritten_to_what_the_depth_reads() {
        // crossterm's named red on black, and an RGB foreground.
        assert_eq!(rewrite_sgr("38;5;1;48;5;0", ColorDepth::Eight), "31;40");
        assert_eq!(rewrite_sgr("38;5;9", ColorDepth::Sixteen), "91");
        assert_eq!(rewrite_sgr("38;5;9", ColorDepth::Eight), "31");
        assert_eq!(rewrite_sgr("38;2;60;200;60", ColorDepth::Sixteen), "32");
        assert_eq!(rewrite_sgr("48;2;0;0;0", ColorDepth::Sixteen), "40");
        assert_eq!(rewrite_sgr("38;2;255;0;0", ColorDepth::Ansi256), "38;5;196");
        assert_eq!(rewrite_sgr("1;38;5;2", ColorDepth::Mono), "1;39");
        // Attributes and resets pass; an underline colour is not sent to 16 colours.
        assert_eq!(rewrite_sgr("39", ColorDepth::Eight), "39");
        assert_eq!(rewrite_sgr("0", ColorDepth::Eight), "0");
        assert_eq!(rewrite_sgr("58;5;3", ColorDepth::Sixteen), "");
    }

    #[test]
    fn the_writer_rewrites_sequences_split_across_writes_and_passes_the_rest() {
        let mut w = SgrWriter::new(Vec::new(), ColorDepth::Eight);
        for piece in [
            "ab\x1b[",
            "38;",
            "5;1",
            "m",
            "x\x1b[2J\x1b]0;t\x07",
            "\x1b[38;2;0;0;0mé",
        ] {
            w.write_all(piece.as_bytes()).unwrap();
        }
        w.flush().unwrap();
        assert_eq!(
            String::from_utf8(w.inner).unwrap(),
            "ab\x1b[31mx\x1b[2J\x1b]0;t\x07\x1b[30mé"
        );
    }
}
