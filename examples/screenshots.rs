//! Regenerate `screenshots/*.svg` from fixture runs through the real renderer:
//!
//!     cargo run --example screenshots
//!
//! Each SVG is the rendered buffer: monospace text with per-cell colours.
use baton::console::LogReaders;
use baton::console::text_rows;
use baton::console::{Action, Tab, UiState, update};
use baton::console::{ConsoleConfig, Theme, fixtures, render};
use baton::model::logtimes::{record, sidecar_path};
use baton::model::{RunView, Timestamp};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;

const CW: f64 = 8.4;
const CH: f64 = 17.0;

/// A terminal's palette: what its named ANSI colours, default foreground and default
/// background look like. A light theme is shown in a light terminal.
struct Palette {
    ansi: [&'static str; 16],
    fg: &'static str,
    bg: &'static str,
}

const DARK: Palette = Palette {
    ansi: [
        "#15161e", "#f7768e", "#9ece6a", "#e0af68", "#7aa2f7", "#bb9af7", "#7dcfff", "#a9b1d6",
        "#565f89", "#ff899d", "#9fe044", "#faba4a", "#8db0ff", "#c7a9ff", "#a4daff", "#e6e9f5",
    ],
    fg: "#c0caf5",
    bg: "#1a1b26",
};

const LIGHT: Palette = Palette {
    ansi: [
        "#e9e9ed", "#c4234f", "#387068", "#8c6c3e", "#2e7de9", "#7847bd", "#007197", "#6172b0",
        "#a1a6c5", "#c4234f", "#387068", "#8c6c3e", "#2e7de9", "#7847bd", "#007197", "#3760bf",
    ],
    fg: "#3760bf",
    bg: "#e1e2e7",
};

fn hex(c: Color, default: &str, p: &Palette) -> String {
    let ansi = &p.ansi;
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

fn svg(b: &Buffer, p: &Palette) -> String {
    let (w, h) = (b.area.width, b.area.height);
    // The page is the most common background (a theme that paints its own background
    // then needs no rectangle per cell, and shows no seams between them).
    let mut counts = std::collections::HashMap::new();
    for c in b.content() {
        if !c.modifier.contains(Modifier::REVERSED) {
            *counts.entry(hex(c.bg, p.bg, p)).or_insert(0usize) += 1;
        }
    }
    let page = counts
        .into_iter()
        .max_by_key(|&(_, n)| n)
        .map_or_else(|| p.bg.to_string(), |(c, _)| c);
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0}\" height=\"{:.0}\" font-family=\"'DejaVu Sans Mono','Menlo','Consolas',monospace\" font-size=\"14\">\n<rect width=\"100%\" height=\"100%\" fill=\"{page}\"/>\n",
        f64::from(w) * CW,
        f64::from(h) * CH
    );
    for y in 0..h {
        for x in 0..w {
            let c = &b[(x, y)];
            let rev = c.modifier.contains(Modifier::REVERSED);
            let (mut fg, mut bg) = (hex(c.fg, p.fg, p), hex(c.bg, p.bg, p));
            if rev {
                std::mem::swap(&mut fg, &mut bg);
            }
            if bg != page {
                let _ = writeln!(
                    out,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{CW:.1}\" height=\"{CH:.1}\" fill=\"{bg}\" shape-rendering=\"crispEdges\"/>",
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

/// Render one screen the way the console does (the log's lines are read first) and
/// write it as `screenshots/NAME.svg`.
fn shot(name: &str, view: &RunView, ui: &mut UiState, theme: &str) -> std::io::Result<()> {
    let config = ConsoleConfig::with_theme(Theme::load(theme).map_err(std::io::Error::other)?);
    shot_with(name, view, ui, &config, theme)
}

/// [`shot`] with the console's settings `config` (its keys, its `[[action]]`s).
fn shot_with(
    name: &str,
    view: &RunView,
    ui: &mut UiState,
    config: &ConsoleConfig,
    theme: &str,
) -> std::io::Result<()> {
    let palette = if theme == "light" { &LIGHT } else { &DARK };
    LogReaders::default().sync(ui, view, text_rows(H));
    let mut t = Terminal::new(TestBackend::new(W, H)).map_err(std::io::Error::other)?;
    t.draw(|f| ui.hits = render(f, view, ui, config))
        .map_err(std::io::Error::other)?;
    let path = format!("screenshots/{name}.svg");
    std::fs::write(&path, svg(t.backend().buffer(), palette))?;
    println!("wrote {path}");
    Ok(())
}

const W: u16 = 120;
const H: u16 = 36;

fn typed(ui: &mut UiState, view: &RunView, text: &str) {
    for c in text.chars() {
        update(
            ui,
            view,
            Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }
}

/// A package step's log on disk, with the engine's time records beside it (a line a
/// second, the last a minute ago).
fn package_log(dir: &Path, view: &mut RunView) -> std::io::Result<usize> {
    let pkg = view
        .step_index("package")
        .ok_or_else(|| std::io::Error::other("no package step"))?;
    let path = dir.join(format!("package.{}.log", view.steps[pkg].attempts));
    let (mut text, mut times) = (String::new(), String::new());
    for i in 1..=60 {
        let at = Timestamp::from_millis(view.now.millis() - (61 - i) * 1000);
        times.push_str(&record(text.len() as u64, at));
        text.push_str(&match i % 12 {
            0 => {
                format!("\u{1b}[33mwarning\u{1b}[0m: part-{i:02}.tar is larger than 2 GiB, split\n")
            }
            5 => format!(
                "signing target/dist/part-{i:02}.tar with key \u{1b}[1mrelease-2025\u{1b}[0m\n"
            ),
            _ => format!(
                "[{i:>2}/60] packing \u{1b}[36mtarget/dist/part-{i:02}.tar\u{1b}[0m ({} MiB)\n",
                37 + (i * 13) % 50
            ),
        });
    }
    std::fs::write(&path, text)?;
    std::fs::write(sidecar_path(&path), times)?;
    view.steps[pkg].log_path = Some(path);
    Ok(pkg)
}

fn main() -> std::io::Result<()> {
    std::fs::create_dir_all("screenshots")?;
    let v = fixtures::release();
    tabs(&v)?;
    deadline()?;
    new_run_and_diff(&v)?;
    notices(&v)?;
    action(&v)?;
    log()?;
    large()
}

/// The console as a new operator sees it, as carol, times in UTC.
fn ui() -> UiState {
    let mut u = UiState::new("carol");
    u.runs = fixtures::shared_runs();
    // Wall-clock times in UTC, whatever the machine's zone.
    u.utc_offset = chrono::FixedOffset::east_opt(0);
    u
}

/// Each tab of the release run, the approve dialog and the help.
fn tabs(v: &RunView) -> std::io::Result<()> {
    shot("dag", v, &mut ui(), "default")?;
    shot("dag-light", v, &mut ui(), "light")?;

    let mut u = ui();
    for a in [Action::GoTab(Tab::Approvals), Action::Approve] {
        update(&mut u, v, a);
    }
    typed(&mut u, v, "staging smoke tests are green");
    shot("approve-dialog", v, &mut u, "default")?;

    let mut u = ui();
    update(&mut u, v, Action::GoTab(Tab::Errors));
    shot("errors", v, &mut u, "default")?;

    let mut u = ui();
    update(&mut u, v, Action::GoTab(Tab::Runs));
    shot("runs", v, &mut u, "default")?;

    // The Timeline: the retried unit-tests selected, its spans in words.
    let mut u = ui();
    for a in [
        Action::GoTab(Tab::Timeline),
        Action::Top,
        Action::Down,
        Action::Down,
        Action::Down,
    ] {
        update(&mut u, v, a);
    }
    shot("timeline", v, &mut u, "default")?;

    // What waits on the operator across every run (the Waiting tab).
    let mut u = ui();
    u.waiting = Arc::new(fixtures::waiting());
    update(&mut u, v, Action::GoTab(Tab::Waiting));
    shot("waiting", v, &mut u, "default")?;

    // What `baton serve` serves (the Schedules tab), a file that no longer loads selected.
    let mut u = ui();
    u.schedules = Arc::new(fixtures::schedules());
    for a in [
        Action::GoTab(Tab::Schedules),
        Action::Down,
        Action::Down,
        Action::Down,
    ] {
        update(&mut u, v, a);
    }
    shot("schedules", v, &mut u, "default")?;

    // The help searched (`/filter`): Enter would run the selected key.
    let mut u = ui();
    update(&mut u, v, Action::Help);
    update(&mut u, v, Action::Filter);
    typed(&mut u, v, "filter");
    update(&mut u, v, Action::Confirm);
    shot("help", v, &mut u, "default")
}

/// A run past its deadline: the header says so; `package`'s detail says its own.
fn deadline() -> std::io::Result<()> {
    let v = fixtures::deadline_missed();
    let mut u = ui();
    update(&mut u, &v, Action::Filter);
    typed(&mut u, &v, "package");
    update(&mut u, &v, Action::Confirm);
    shot("deadline", &v, &mut u, "default")
}

/// The run form of release.toml (`n` on its schedule): a version against its pattern,
/// the secret token as dots; and what changed between two release runs (`D`, `D`).
fn new_run_and_diff(v: &RunView) -> std::io::Result<()> {
    let mut u = ui();
    u.schedules = Arc::new(fixtures::schedules());
    update(&mut u, v, Action::GoTab(Tab::Schedules));
    let form = Action::RunFormRead {
        file: "/srv/baton/workflows/release.toml".into(),
        result: Ok(fixtures::run_form()),
    };
    update(&mut u, v, form);
    typed(&mut u, v, "v1.4");
    for a in [Action::Down, Action::Down, Action::Down] {
        update(&mut u, v, a);
    }
    typed(&mut u, v, "hunter2");
    shot("run-form", v, &mut u, "default")?;

    let mut u = ui();
    let d = fixtures::runs_diff();
    let answer = Action::Diffed {
        a: d.a.clone(),
        b: d.b.clone(),
        result: Ok(d),
    };
    update(&mut u, v, Action::GoTab(Tab::Runs));
    update(&mut u, v, answer);
    shot("runs-diff", v, &mut u, "default")
}

/// Decisions others recorded on any run (`!`): who, what and the reason typed.
fn notices(v: &RunView) -> std::io::Result<()> {
    let mut u = ui();
    let news = |id: i64, run: &str, actor: &str, action, step: Option<&str>, reason: &str| {
        baton::session::News {
            id,
            run_id: run.into(),
            at: Timestamp(v.now.0 - (40 - id) * 20_000),
            actor: actor.into(),
            action,
            step: step.map(str::to_string),
            reason: Some(reason.into()),
            details: r#"{"cost":5.0}"#.into(),
            by_viewer: false,
        }
    };
    use baton::model::AuditAction as A;
    let runs = fixtures::runs();
    u.note_news(&[
        news(
            1,
            &runs[1].id,
            "dave",
            A::BudgetRaised,
            None,
            "one more batch",
        ),
        news(
            2,
            &v.run_id,
            "bob",
            A::ApprovalVote,
            Some("deploy-prod"),
            "canary green",
        ),
        news(3, &v.run_id, "bob", A::Approved, Some("deploy-prod"), ""),
        news(
            4,
            &runs[2].id,
            "erin",
            A::Rejected,
            Some("deploy-prod"),
            "not on a Friday",
        ),
    ]);
    update(&mut u, v, Action::Notices);
    shot("notices", v, &mut u, "default")
}

/// An `[[action]]` of config.toml run on the selected step: its output pane.
fn action(v: &RunView) -> std::io::Result<()> {
    let text = r#"[[action]]
key = "D"
scope = "step"
description = "dashboard: open the step's Grafana board"
command = ["open-dashboard", "--run", "{run}", "--step", "{step}"]
"#;
    let c = baton::link::config::parse(Path::new("config.toml"), text)
        .map_err(|d| std::io::Error::other(d.to_string()))?;
    let theme = Theme::load("default").map_err(std::io::Error::other)?;
    let config =
        ConsoleConfig::from_config(&c, theme).map_err(|d| std::io::Error::other(d.to_string()))?;
    let mut u = ui();
    u.actions = config.actions.clone();
    u.keys = Arc::new(config.keys.clone());
    u.follow = false;
    u.selected = v.step_index("build").unwrap_or(0);
    update(&mut u, v, Action::User(0));
    let done = baton::console::ActionFinished {
        id: 1,
        ended: baton::console::ActionEnded::Exited(0),
        took: std::time::Duration::from_millis(840),
        lines: vec![
            "board: https://grafana.example/d/release?var-run=01JXR3T5&var-step=build".into(),
            "panels: cpu, memory, cache hits, artifact size".into(),
            "opened in the browser".into(),
        ],
        cut: 0,
    };
    update(&mut u, v, Action::UserDone(Box::new(done)));
    shot_with("action", v, &mut u, &config, "default")
}

/// The full-screen log: every match of a search marked, times on.
fn log() -> std::io::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut lv = fixtures::release();
    let pkg = package_log(dir.path(), &mut lv)?;
    let mut u = ui();
    u.follow = false;
    u.selected = pkg;
    for a in [Action::Log, Action::Timestamps, Action::Search] {
        update(&mut u, &lv, a);
    }
    typed(&mut u, &lv, "part-4");
    update(&mut u, &lv, Action::Confirm);
    shot("log", &lv, &mut u, "default")
}

/// A 2,000-step DAG zoomed out, and one in graph mode.
fn large() -> std::io::Result<()> {
    // Zoomed out: one cell per step, the viewport marked.
    let big = fixtures::big(2_000);
    let mut u = ui();
    update(&mut u, &big, Action::Overview);
    shot("overview", &big, &mut u, "default")?;
    // A 2,000-step DAG shaped as `examples/gen_dag.rs` makes it (each step needs the
    // same one and its right neighbour in the layer before) in graph mode: every layer
    // keeps its plan order.
    let mut layered = fixtures::big(2_000);
    let width = 100;
    for (i, s) in layered.steps.iter_mut().enumerate().skip(width) {
        let base = (i / width - 1) * width;
        s.needs = vec![base + i % width, base + (i + 1) % width];
    }
    let mut u = ui();
    u.list_mode = Some(false);
    shot("graph-large", &layered, &mut u, "default")?;
    Ok(())
}
