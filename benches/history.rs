//! A year of history (issue 29): the CLI and the console on stores of 200, 5,000 and
//! 50,000 finished runs, generated in this run (`history/store_gen.rs`), each command
//! the real binary, timed from spawn to exit (the median of a few):
//! `runs --limit 50` (the first page), `runs --json`, `metrics`, `gc --dry-run`,
//! `audit verify` beside `cat DB > /dev/null` of the same file, `audit verify RUN` and
//! `show RUN`; and `baton tui` in tmux: its first full frame, its CPU while idle, and the
//! latency of keys (tab switch, `j` in Runs, a character of the Runs filter) from the
//! key sent to the changed screen; and `baton run` of a 1,000-step workflow on the
//! store, headless and in the console (`history/console_run.rs`).
//!
//!   cargo bench --bench history                  (200, 5,000 and 50,000 runs)
//!   BATON_HISTORY_SIZES=200,2000 cargo bench --bench history
//!   BATON_HISTORY_STORES=DIR cargo bench --bench history   (stores kept and reused;
//!                                                           "generated in" is then the copy)
//!
//! It writes the "history" table, a column per size measured, into
//! docs/performance/history.md (between its markers).
#[path = "history/console.rs"]
mod console;
#[path = "history/console_run.rs"]
mod console_run;
#[path = "history/store_gen.rs"]
mod store_gen;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DEFAULT_SIZES: &[usize] = &[200, 5_000, 50_000];
const BEGIN: &str = "<!-- history table: written by `cargo bench --bench history` -->";
const END: &str = "<!-- end of history table -->";

fn baton() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_baton"))
}

/// Median wall time of `reps` runs of `cmd` (stdout to /dev/null); `None` (and its
/// error printed) when it fails, so that one failing command still leaves a table.
fn time_cmd(reps: usize, cmd: impl FnMut() -> Command) -> Option<Duration> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| time_ok(reps, cmd))).ok()
}

fn time_ok(reps: usize, mut cmd: impl FnMut() -> Command) -> Duration {
    let mut times: Vec<Duration> = (0..reps)
        .map(|_| {
            let mut c = cmd();
            c.stdout(Stdio::null()).stderr(Stdio::piped());
            let t0 = Instant::now();
            let out = c.output().expect("spawn");
            let took = t0.elapsed();
            assert!(
                out.status.success(),
                "{c:?}: {}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            took
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn baton_cmd(db: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(baton());
    c.args(args).env("BATON_DB", db).env("USER", "bench");
    c
}

/// What one store size measured.
struct Row {
    runs: usize,
    db_mib: f64,
    generated: Duration,
    first_page: Option<Duration>,
    runs_json: Option<Duration>,
    metrics: Option<Duration>,
    gc_dry: Option<Duration>,
    verify: Option<Duration>,
    cat: Option<Duration>,
    verify_run: Option<Duration>,
    show: Option<Duration>,
    console: Option<console::Measured>,
    run: Option<console_run::Measured>,
}

fn measure(db: &Path, runs: usize, generated: Duration) -> Row {
    let newest = {
        let out = baton_cmd(db, &["runs", "--json", "--limit", "1"])
            .output()
            .expect("runs");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("runs json");
        v[0]["id"].as_str().expect("newest run").to_string()
    };
    let reps = if runs >= 20_000 { 3 } else { 5 };
    let t = |args: &[&str]| time_cmd(reps, || baton_cmd(db, args));
    Row {
        runs,
        db_mib: std::fs::metadata(db).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0,
        generated,
        first_page: t(&["runs", "--limit", "50"]),
        runs_json: t(&["runs", "--json"]),
        metrics: t(&["metrics"]),
        gc_dry: t(&["gc", "--older-than", "30d", "--dry-run"]),
        verify: t(&["audit", "verify"]),
        cat: time_cmd(reps, || {
            let mut c = Command::new("cat");
            c.arg(db);
            c
        }),
        verify_run: t(&["audit", "verify", &newest]),
        show: t(&["show", &newest]),
        console: std::panic::catch_unwind(|| console::measure(baton(), db)).ok(),
        run: std::panic::catch_unwind(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            console_run::measure(baton(), db, dir.path())
        })
        .ok(),
    }
}

fn ms(d: Option<Duration>) -> String {
    let Some(d) = d else {
        return "failed".into();
    };
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

fn table(rows: &[Row]) -> String {
    let mut s = String::from("| | ");
    s += &rows
        .iter()
        .map(|r| format!("{} runs", group(r.runs)))
        .collect::<Vec<_>>()
        .join(" | ");
    s += " |\n|---|";
    s += &"---:|".repeat(rows.len());
    s.push('\n');
    let mut line = |name: &str, f: &dyn Fn(&Row) -> String| {
        let _ = writeln!(
            s,
            "| {name} | {} |",
            rows.iter().map(f).collect::<Vec<_>>().join(" | ")
        );
    };
    line("store file", &|r| format!("{:.0} MiB", r.db_mib));
    line("generated in", &|r| {
        format!("{:.1} s", r.generated.as_secs_f64())
    });
    line("`runs --limit 50` (first page)", &|r| ms(r.first_page));
    line("`runs --json`", &|r| ms(r.runs_json));
    line("`metrics`", &|r| ms(r.metrics));
    line("`gc --older-than 30d --dry-run`", &|r| ms(r.gc_dry));
    line("`audit verify`", &|r| ms(r.verify));
    line("`cat DB > /dev/null`", &|r| ms(r.cat));
    line("`audit verify` / `cat`", &|r| match (r.verify, r.cat) {
        (Some(v), Some(c)) => format!("{:.1}×", v.as_secs_f64() / c.as_secs_f64()),
        _ => "–".into(),
    });
    line("`audit verify RUN`", &|r| ms(r.verify_run));
    line("`show RUN`", &|r| ms(r.show));
    line("console: first full frame", &|r| {
        ms(r.console.as_ref().map(|c| c.first_frame))
    });
    line("console: CPU idle (of a core)", &|r| match &r.console {
        Some(c) => format!("{:.1} %", c.idle_cpu * 100.0),
        None => "failed".into(),
    });
    for (name, k) in [
        ("tab switch", &console::KEY_TAB),
        ("`j` in Runs", &console::KEY_J),
        ("a filter character", &console::KEY_FILTER),
    ] {
        line(
            &format!("console: {name}, median / p95"),
            &|r| match &r.console {
                Some(c) => format!("{} / {}", ms(Some(c.keys[*k].0)), ms(Some(c.keys[*k].1))),
                None => "failed".into(),
            },
        );
    }
    let secs = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    let first_console = rows.first().and_then(|r| r.run.as_ref()).map(|m| m.console);
    line("1,000-step `baton run`, headless", &|r| {
        r.run.as_ref().map_or("failed".into(), |m| secs(m.headless))
    });
    line("1,000-step `baton run`, in the console", &|r| {
        r.run.as_ref().map_or("failed".into(), |m| secs(m.console))
    });
    line("console / headless", &|r| {
        r.run.as_ref().map_or("–".into(), |m| {
            format!("{:.2}×", m.console.as_secs_f64() / m.headless.as_secs_f64())
        })
    });
    line(
        "console / console on the first store",
        &|r| match (r.run.as_ref(), first_console) {
            (Some(m), Some(f)) => format!("{:.2}×", m.console.as_secs_f64() / f.as_secs_f64()),
            _ => "–".into(),
        },
    );
    s
}

fn group(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn write_doc(text: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/performance/history.md");
    let doc = std::fs::read_to_string(&path).expect("read docs/performance/history.md");
    let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
        eprintln!("docs/performance/history.md has no history markers: table not written");
        return;
    };
    let new = format!("{}{BEGIN}\n{text}{}", &doc[..b], &doc[e..]);
    std::fs::write(&path, new).expect("write docs/performance/history.md");
    eprintln!("wrote the history table into {}", path.display());
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument that is not ours skips the bench.
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && a != "history")
    {
        return;
    }
    let sizes: Vec<usize> = match std::env::var("BATON_HISTORY_SIZES") {
        Ok(s) => s.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
        Err(_) => DEFAULT_SIZES.to_vec(),
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let templates = store_gen::templates(baton(), dir.path());
    let mut rows = Vec::new();
    for &n in &sizes {
        let (db, took) = store_gen::store_of(dir.path(), &templates, n);
        eprintln!("generated {n} runs in {:.1} s", took.as_secs_f64());
        let row = measure(&db, n, took);
        eprintln!("{}", table(std::slice::from_ref(&row)));
        rows.push(row);
    }
    let t = table(&rows);
    println!("{t}");
    write_doc(&t);
}
