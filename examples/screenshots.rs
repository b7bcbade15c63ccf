//! Regenerate `screenshots/*.svg` from fixture runs through the real renderer:
//!
//!     cargo run --example screenshots
//!
//! Each SVG is the rendered buffer: monospace text with per-cell colours.
use baton::model::RunView;
use baton::tui::app::{Action, Tab, UiState, update};
use baton::tui::{Theme, fixtures, render};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use std::fmt::Write;
use std::sync::Arc;

const CW: f64 = 8.4;
const CH: f64 = 17.0;
const BG: &str = "#1a1b26";
const FG: &str = "#c0caf5";

fn hex(c: Color, default: &str) -> String {
    let ansi = [
        "#15161e", "#f7768e", "#9ece6a", "#e0af68", "#7aa2f7", "#bb9af7", "#7dcfff", "#a9b1d6",
        "#565f89", "#ff899d", "#9fe044", "#faba4a", "#8db0ff", "#c7a9ff", "#a4daff", "#e6e9f5",
    ];
    match c {
        Color::Reset => default.to_string(),
        Color::Black => ansi[0].into(),
        Color::Red => ansi[1].into(),
        Color::Green => ansi[2].into(),
        Color::Yellow => ansi[3].into(),
        Color::Blue => ansi[4].into(),
        Color::Magenta => ansi[5].into(),
        Color::Cyan => ansi[6].into(),
        Color::Gray => ansi[7].into(),
        Color::DarkGray => ansi[8].into(),
        Color::LightRed => ansi[9].into(),
        Color::LightGreen => ansi[10].into(),
        Color::LightYellow => ansi[11].into(),
        Color::LightBlue => ansi[12].into(),
        Color::LightMagenta => ansi[13].into(),
        Color::LightCyan => ansi[14].into(),
        Color::White => ansi[15].into(),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(i) if (i as usize) < 16 => ansi[i as usize].into(),
        Color::Indexed(_) => default.to_string(),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn svg(b: &Buffer) -> String {
    let (w, h) = (b.area.width, b.area.height);
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0}\" height=\"{:.0}\" font-family=\"'DejaVu Sans Mono','Menlo','Consolas',monospace\" font-size=\"14\">\n<rect width=\"100%\" height=\"100%\" fill=\"{BG}\"/>\n",
        f64::from(w) * CW,
        f64::from(h) * CH
    );
    for y in 0..h {
        for x in 0..w {
            let c = &b[(x, y)];
            let rev = c.modifier.contains(Modifier::REVERSED);
            let (mut fg, mut bg) = (hex(c.fg, FG), hex(c.bg, BG));
            if rev {
                std::mem::swap(&mut fg, &mut bg);
            }
            if bg != BG {
                let _ = writeln!(
                    out,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{CW:.1}\" height=\"{CH:.1}\" fill=\"{bg}\"/>",
                    f64::from(x) * CW,
                    f64::from(y) * CH
                );
            }
            let sym = c.symbol();
            if sym.trim().is_empty() {
                continue;
            }
            let weight = if c.modifier.contains(Modifier::BOLD) {
                " font-weight=\"bold\""
            } else {
                ""
            };
            let deco = if c.modifier.contains(Modifier::UNDERLINED) {
                " text-decoration=\"underline\""
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"{fg}\"{weight}{deco}>{}</text>",
                f64::from(x) * CW,
                f64::from(y) * CH + 13.0,
                esc(sym)
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

fn shot(name: &str, view: &RunView, ui: &UiState) -> std::io::Result<()> {
    let theme = Theme::load("default").map_err(std::io::Error::other)?;
    let mut t = Terminal::new(TestBackend::new(120, 36)).map_err(std::io::Error::other)?;
    t.draw(|f| render(f, view, ui, &theme))
        .map_err(std::io::Error::other)?;
    let path = format!("screenshots/{name}.svg");
    std::fs::write(&path, svg(t.backend().buffer()))?;
    println!("wrote {path}");
    Ok(())
}

fn main() -> std::io::Result<()> {
    std::fs::create_dir_all("screenshots")?;
    let v = fixtures::release();
    let ui = || {
        let mut u = UiState::new("carol");
        u.runs = Arc::new(fixtures::runs());
        u
    };
    shot("dag", &v, &ui())?;

    let mut u = ui();
    for a in [Action::GoTab(Tab::Approvals), Action::Approve] {
        update(&mut u, &v, a);
    }
    for c in "staging smoke tests are green".chars() {
        update(
            &mut u,
            &v,
            Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }
    shot("approve-dialog", &v, &u)?;

    let mut u = ui();
    update(&mut u, &v, Action::GoTab(Tab::Errors));
    shot("errors", &v, &u)?;

    let mut u = ui();
    update(&mut u, &v, Action::Help);
    shot("help", &v, &u)?;
    Ok(())
}
