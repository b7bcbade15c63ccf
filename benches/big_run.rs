//! Reading a big run (issue 29 point 5): finished runs of 10,000, 30,000 and 100,000
//! `builtin.noop` steps (layers of 1,000, each step needing two of the layer before, as
//! `benches/memory.rs`), each made by `baton run --headless` in a store of its own, then
//! read by the real binary: `show RUN`, `show RUN --json`, `logs RUN STEP` (one step)
//! and `baton tui` in tmux, which opens the newest run: its first frame of the run's
//! steps (the DAG tab). Each is timed from spawn to the end (or the frame) and its peak
//! RSS read from `wait4` (the console's from `/proc`'s `VmHWM`). Reading must be linear
//! in the run's steps: 100,000 steps under 3 s and 300 MB each.
//!
//!   cargo bench --bench big_run                       (10,000, 30,000 and 100,000)
//!   BATON_BIG_RUN_SIZES=10000,30000 cargo bench --bench big_run
//!
//! It writes its table into docs/performance/history.md between its markers, and exits 1 when a
//! read of the 100,000-step run is over a target.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/noop_dag.rs"]
mod noop_dag;
use noop_dag::noop_dag;

const WIDTH: usize = 1000;
const DEFAULT_SIZES: &[usize] = &[10_000, 30_000, 100_000];
/// The targets, for the 100,000-step run.
const TARGET_STEPS: usize = 100_000;
const TARGET_SECS: f64 = 3.0;
const TARGET_BYTES: f64 = 300e6;
const BEGIN: &str = "<!-- big run table: written by `cargo bench --bench big_run` -->";
const END: &str = "<!-- end of big run table -->";

fn baton() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_baton"))
}

/// One command measured: wall time and peak RSS.
#[derive(Clone, Copy)]
struct Took {
    wall: Duration,
    peak_bytes: f64,
}

impl Took {
    fn met(&self) -> bool {
        self.wall.as_secs_f64() < TARGET_SECS && self.peak_bytes < TARGET_BYTES
    }
}

/// Run baton with `args` on `db` to its end (stdout to `out`): its wall time and peak
/// RSS (from `wait4`, which reaps the child and gives its rusage; `Child::wait` cannot).
#[allow(clippy::zombie_processes)]
fn measure(db: &Path, args: &[&str], out: Stdio) -> Took {
    let t0 = Instant::now();
    let child = Command::new(baton())
        .args(args)
        .env("BATON_DB", db)
        .env("USER", "bench")
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .expect("run baton");
    let mut status = 0;
    // SAFETY: wait4 on our own child, writing into locals.
    let kib = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::wait4(child.id() as i32, &mut status, 0, &mut u);
        u.ru_maxrss
    };
    let wall = t0.elapsed();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "baton {args:?} failed ({status})"
    );
    Took {
        wall,
        peak_bytes: kib as f64 * 1024.0,
    }
}

/// The median (by wall time) of `reps` measurements.
fn median(reps: usize, mut f: impl FnMut() -> Took) -> Took {
    let mut v: Vec<Took> = (0..reps).map(|_| f()).collect();
    v.sort_by_key(|t| t.wall);
    v[v.len() / 2]
}

/// `baton tui` in tmux on `db`: from launch to the first frame of the newest run's steps
/// (the DAG tab, `1`, showing the first step), and the console's peak RSS then.
fn console(db: &Path) -> Took {
    // One server per launch: a server just killed may still hold its socket.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let socket = format!("baton-big-run-bench-{}-{n}", std::process::id());
    let tmux = || {
        let mut c = Command::new("tmux");
        c.args(["-L", &socket]);
        c
    };
    let command = format!(
        "BATON_DB='{}' USER=bench exec '{}' tui",
        db.display(),
        baton().display()
    );
    let screen = || {
        let out = tmux()
            .args(["capture-pane", "-p", "-t", "main"])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let until = |what: &str, t0: Instant, pred: &dyn Fn(&str) -> bool| loop {
        let s = screen();
        if pred(&s) {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(600),
            "console: no {what} in 600 s:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    let t0 = Instant::now();
    let st = tmux()
        .args(["-f", "/dev/null", "new-session", "-d", "-s", "main"])
        .args(["-x", "160", "-y", "45", &command])
        .status()
        .expect("tmux must be installed");
    assert!(st.success(), "tmux new-session");
    until("first frame", t0, &|s| s.contains("in the store"));
    let st = tmux()
        .args(["send-keys", "-t", "main", "1"])
        .status()
        .expect("send-keys");
    assert!(st.success());
    until("the run's steps", t0, &|s| s.contains("s0_0"));
    let wall = t0.elapsed();
    let pid = tmux()
        .args(["display-message", "-p", "-t", "main", "#{pane_pid}"])
        .output()
        .expect("display-message");
    let pid = String::from_utf8_lossy(&pid.stdout).trim().to_string();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN);
    let _ = tmux().arg("kill-server").status();
    Took {
        wall,
        peak_bytes: kib * 1024.0,
    }
}

struct Row {
    steps: usize,
    run: Took,
    show: Took,
    show_json: Took,
    logs: Took,
    console: Took,
}

fn size(dir: &Path, steps: usize) -> Row {
    let dir = dir.join(steps.to_string());
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = dir.join("noop.toml");
    std::fs::write(&file, noop_dag(steps.div_ceil(WIDTH), WIDTH)).expect("write the workflow");
    let db = dir.join("bench.db");
    let file = file.to_string_lossy().into_owned();
    let run = measure(&db, &["run", &file, "--headless"], Stdio::null());
    let out = Command::new(baton())
        .args(["runs", "--limit", "1"])
        .env("BATON_DB", &db)
        .output()
        .expect("runs");
    // The table's second line starts with the run's id.
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    let id = listed
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no run listed:\n{listed}"))
        .to_string();
    let reps = if steps >= 50_000 { 1 } else { 3 };
    let null = || Stdio::null();
    let last = format!("s{}_0", steps.div_ceil(WIDTH) - 1);
    Row {
        steps,
        run,
        show: median(reps, || measure(&db, &["show", &id], null())),
        show_json: median(reps, || measure(&db, &["show", &id, "--json"], null())),
        logs: median(reps, || measure(&db, &["logs", &id, &last], null())),
        console: median(reps, || console(&db)),
    }
}

fn cell(t: &Took) -> String {
    format!(
        "{:.2} s, {:.0} MB",
        t.wall.as_secs_f64(),
        t.peak_bytes / 1e6
    )
}

fn table(rows: &[Row]) -> String {
    let mut s = String::from("| steps | ");
    s += &rows
        .iter()
        .map(|r| r.steps.to_string())
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
    line("`run --headless` (to make it)", &|r| cell(&r.run));
    line("`show RUN`", &|r| cell(&r.show));
    line("`show RUN --json`", &|r| cell(&r.show_json));
    line("`logs RUN STEP`", &|r| cell(&r.logs));
    line("console: first frame of the run's steps", &|r| {
        cell(&r.console)
    });
    // Linear reading: time per step stays flat as the run grows.
    line("`show RUN` per 1,000 steps", &|r| {
        format!(
            "{:.1} ms",
            r.show.wall.as_secs_f64() * 1e3 / (r.steps as f64 / 1e3)
        )
    });
    s
}

fn write_doc(text: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/performance/history.md");
    let doc = std::fs::read_to_string(&path).expect("read docs/performance/history.md");
    let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!(
            "docs/performance/history.md has lost the big run bench's markers ({BEGIN} … {END})"
        );
    };
    let new = format!("{}{BEGIN}\n{text}{}", &doc[..b], &doc[e..]);
    std::fs::write(&path, new).expect("write docs/performance/history.md");
    eprintln!("wrote the big run table into {}", path.display());
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it too: only measure for
    // the former.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let sizes: Vec<usize> = match std::env::var("BATON_BIG_RUN_SIZES") {
        Ok(s) => s.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
        Err(_) => DEFAULT_SIZES.to_vec(),
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rows = Vec::new();
    for &n in &sizes {
        let row = size(dir.path(), n);
        eprintln!("{}", table(std::slice::from_ref(&row)));
        rows.push(row);
    }
    let t = table(&rows);
    println!("{t}");
    write_doc(&t);
    let missed: Vec<&str> = rows
        .iter()
        .filter(|r| r.steps == TARGET_STEPS)
        .flat_map(|r| {
            [
                ("show", r.show),
                ("show --json", r.show_json),
                ("logs", r.logs),
                ("console", r.console),
            ]
        })
        .filter(|(_, t)| !t.met())
        .map(|(name, _)| name)
        .collect();
    if !missed.is_empty() {
        eprintln!(
            "over the target (< {TARGET_SECS} s and < {} MB at {TARGET_STEPS} steps): {}",
            TARGET_BYTES / 1e6,
            missed.join(", ")
        );
        std::process::exit(1);
    }
}
