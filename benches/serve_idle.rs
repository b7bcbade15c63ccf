//! `baton serve` idle and punctual (issue 41 point 5): the CPU an idle serve takes with
//! many schedules (against one with few, in the same run), and how late a slot's run
//! starts with many schedules firing each minute.
//!
//! `cargo bench --bench serve_idle`; knobs: `BATON_BENCH_SCHEDULES` (idle serve's
//! schedules, default 1000), `BATON_BENCH_FEW` (the baseline's, default 10),
//! `BATON_BENCH_IDLE_S` (seconds sampled, default 30), `BATON_BENCH_FIRING` (schedules
//! firing each minute, default 200), `BATON_BENCH_MINUTES` (minutes of them, default
//! 3; 0 skips; `BATON_BENCH_IDLE_S=0` skips the idle figures), `BATON_BENCH_BASELINE_BIN`
//! (another `baton` binary, e.g. one built before a change: its idle serve of as many
//! schedules is measured too, alternately with this one, `BATON_BENCH_ROUNDS` times,
//! default 3, and the ratio printed; and its punctuality, alternately with this one's,
//! `BATON_BENCH_LATE_ROUNDS` times, default 1). The machine's load average is printed
//! beside each figure: on a loaded machine compare the ratios, not the percentages.
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// utime + stime of `pid`, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    // SAFETY: sysconf reads a constant of the system.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks / hz
}

/// `n` workflow files of one schedule each (`cron`), in `dir`.
fn workflows(dir: &Path, n: u64, cron: &str) {
    std::fs::create_dir_all(dir).expect("workflows dir");
    for i in 0..n {
        let text = format!(
            "name = \"w{i}\"\n\n[[schedule]]\ncron = \"{cron}\"\n\n[[step]]\nid = \"a\"\nrun = \"true\"\n"
        );
        std::fs::write(dir.join(format!("w{i}.toml")), text).expect("write a workflow");
    }
}

fn baton_bin(bin: &Path, db: &Path) -> Command {
    let mut c = Command::new(bin);
    c.env("BATON_DB", db)
        .env_remove("BATON_AUDIT_KEY")
        .env_remove("BATON_AUDIT_KEYS")
        .env_remove("BATON_AUDIT_KEY_ID");
    c
}

fn baton(db: &Path) -> Command {
    baton_bin(Path::new(env!("CARGO_BIN_EXE_baton")), db)
}

/// A serve of `dir` on `db` by `bin`, once every one of its `n` schedules is served.
// The child is returned to the caller, which stops it and waits for it (`stop`).
#[allow(clippy::zombie_processes)]
fn serve(bin: &Path, dir: &Path, db: &Path, n: u64) -> Child {
    let child = baton_bin(bin, db)
        .args(["serve", "--workflows"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start baton serve");
    let until = Instant::now() + Duration::from_secs(600);
    loop {
        let out = baton(db).args(["schedules", "--json"]).output();
        let listed = out
            .ok()
            .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
            .and_then(|v| v.as_array().map(Vec::len))
            .unwrap_or(0);
        if listed as u64 >= n {
            return child;
        }
        if Instant::now() >= until {
            stop(child);
            panic!("the serve never served its {n} schedules");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn stop(mut child: Child) {
    // SAFETY: a signal to the child this bench started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let _ = child.wait();
}

/// Percent of one core the serve (by `bin`) of `n` far-off schedules takes, idle.
fn idle_percent(bin: &Path, n: u64, window: Duration) -> f64 {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (dir, db) = (tmp.path().join("w"), tmp.path().join("baton.db"));
    // Once a year: nothing fires while it is sampled.
    workflows(&dir, n, "0 3 1 1 *");
    let child = serve(bin, &dir, &db, n);
    // Settled: the loads are done and the first decisions made.
    std::thread::sleep(Duration::from_secs(3));
    let before = cpu_seconds(child.id());
    std::thread::sleep(window);
    let used = cpu_seconds(child.id()) - before;
    stop(child);
    100.0 * used / window.as_secs_f64()
}

/// How late each slot's run was made, and its step started (ms after its slot), for
/// `n` schedules served by `bin` firing each minute for `minutes` minutes. Both read
/// from the store: `runs.started_at` (stamped as the run is made) and the time of the
/// run's first `step_process` event (its first step's process spawned), each less the
/// slot's time.
fn lateness(bin: &Path, n: u64, minutes: u64) -> (Vec<i64>, Vec<i64>) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (dir, db) = (tmp.path().join("w"), tmp.path().join("baton.db"));
    workflows(&dir, n, "* * * * *");
    let child = serve(bin, &dir, &db, n);
    std::thread::sleep(Duration::from_secs(60 * minutes + 5));
    stop(child);
    let c = rusqlite::Connection::open(&db).expect("open the store");
    let mut st = c
        .prepare(
            "SELECT r.started_at - s.slot_at,
                    (SELECT min(e.at) FROM events e WHERE e.run_id = r.id AND e.type = 'step_process') - s.slot_at
             FROM schedule_slots s JOIN runs r ON r.id = s.run_id
             WHERE s.idx > 0",
        )
        .expect("query");
    let rows: Vec<(i64, Option<i64>)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    let mut made: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut stepped: Vec<i64> = rows.iter().filter_map(|r| r.1).collect();
    made.sort_unstable();
    stepped.sort_unstable();
    (made, stepped)
}

/// One line of [`lateness`]'s figures.
fn print_lateness(who: &str, firing: u64, minutes: u64, (made, stepped): &(Vec<i64>, Vec<i64>)) {
    println!(
        "{who}: {firing} schedules firing each minute for {minutes} min: {} runs, made after their slot p50 {} ms, p95 {} ms, max {} ms; first step's process p50 {} ms, p95 {} ms, max {} ms ({} runs) (load {})",
        made.len(),
        pct(made, 0.5),
        pct(made, 0.95),
        made.last().copied().unwrap_or(0),
        pct(stepped, 0.5),
        pct(stepped, 0.95),
        stepped.last().copied().unwrap_or(0),
        stepped.len(),
        loadavg()
    );
}

fn pct(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    println!("load average before: {}", loadavg());
    let this = Path::new(env!("CARGO_BIN_EXE_baton"));
    let window = Duration::from_secs(knob("BATON_BENCH_IDLE_S", 30));
    // BATON_BENCH_IDLE_S=0: the punctuality alone.
    if !window.is_zero() {
        idle(this, window);
    }
    let (firing, minutes) = (
        knob("BATON_BENCH_FIRING", 200),
        knob("BATON_BENCH_MINUTES", 3),
    );
    if minutes == 0 {
        return;
    }
    match std::env::var_os("BATON_BENCH_BASELINE_BIN") {
        // Alternated, so a change in the machine's load falls on both.
        Some(base) => {
            for round in 1..=knob("BATON_BENCH_LATE_ROUNDS", 1) {
                let b = lateness(Path::new(&base), firing, minutes);
                print_lateness(&format!("round {round} baseline"), firing, minutes, &b);
                let t = lateness(this, firing, minutes);
                print_lateness(&format!("round {round} this"), firing, minutes, &t);
            }
        }
        None => print_lateness("this", firing, minutes, &lateness(this, firing, minutes)),
    }
}

/// The idle figures: many schedules against few, and against the baseline binary's.
fn idle(this: &Path, window: Duration) {
    let (many, few) = (
        knob("BATON_BENCH_SCHEDULES", 1000),
        knob("BATON_BENCH_FEW", 10),
    );
    if let Some(base) = std::env::var_os("BATON_BENCH_BASELINE_BIN") {
        let base = Path::new(&base);
        let (mut ours, mut theirs) = (0.0, 0.0);
        // Alternated, so a change in the machine's load falls on both.
        for round in 1..=knob("BATON_BENCH_ROUNDS", 3) {
            let b = idle_percent(base, many, window);
            let t = idle_percent(this, many, window);
            println!(
                "round {round}: idle serve of {many} schedules: baseline {b:.2} %, this {t:.2} % of a core (load {})",
                loadavg()
            );
            theirs += b;
            ours += t;
        }
        println!(
            "this / baseline, idle with {many} schedules: {:.3}x",
            if theirs > 0.0 {
                ours / theirs
            } else {
                f64::NAN
            }
        );
    }
    let a = idle_percent(this, few, window);
    println!(
        "idle serve, {few} schedules: {a:.2} % of a core over {window:?} (load {})",
        loadavg()
    );
    let b = idle_percent(this, many, window);
    println!(
        "idle serve, {many} schedules: {b:.2} % of a core over {window:?} (load {})",
        loadavg()
    );
    println!(
        "ratio {many}/{few} schedules: {:.2}x",
        if a > 0.0 { b / a } else { f64::NAN }
    );
}
