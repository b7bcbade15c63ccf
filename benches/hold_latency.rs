//! Hold and release latency through the real binaries (issue 43 point 5): from the
//! moment `baton hold RUN count` is started in another process to the moment every
//! process of the step's group is stopped (`T` in `/proc/PID/stat`), and from `baton
//! release` to the moment none is, while a `baton run --headless` drives a step that
//! counts in a loop. As the baseline in the same run, alternating with it: the same
//! stop and continue by `kill -STOP -PGID` / `kill -CONT -PGID` started as a process,
//! the floor of any command that starts a process to signal a group.
//!
//!   cargo bench --bench hold_latency
//!
//! Target: both medians under 50 ms. Not a criterion bench: the figure is a
//! distribution over separate processes, reported as median and p95.
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/step_pids.rs"]
mod step_pids;
use step_pids::step_pids;
#[path = "support/error.rs"]
mod error;
use error::BenchError;

const SAMPLES: usize = 20;
const BATON: &str = env!("CARGO_BIN_EXE_baton");

const WORKFLOW: &str = r#"
name = "hold-latency"
[[step]]
id = "count"
run = '''
( i=0; while :; do i=$((i+1)); done ) &
wait
'''
"#;

fn stat(pid: i32) -> Option<(char, i32)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest: Vec<&str> = s[s.rfind(')')? + 1..].split_whitespace().collect();
    Some((rest.first()?.chars().next()?, rest.get(2)?.parse().ok()?))
}

/// Wait until every pid is stopped (`stopped`) or none is; the time it took.
fn until(pids: &[i32], stopped: bool, t0: Instant) -> Result<f64, BenchError> {
    let deadline = t0 + Duration::from_secs(10);
    loop {
        let all = pids
            .iter()
            .all(|&p| stat(p).is_none_or(|(s, _)| (s == 'T') == stopped));
        if all {
            return Ok(t0.elapsed().as_secs_f64() * 1e3);
        }
        if Instant::now() > deadline {
            let what = if stopped { "stop" } else { "continue" };
            return Err(BenchError::Late {
                what: format!("the step's group did not {what}"),
                secs: 10,
            });
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn run_cmd(mut c: Command) -> Result<(), BenchError> {
    let out = c
        .stdin(Stdio::null())
        .output()
        .map_err(BenchError::io(format!("run {c:?}")))?;
    BenchError::checked(&format!("{c:?}"), out).map(drop)
}

struct Engine {
    child: Child,
    run: String,
    pids: Vec<i32>,
    pgid: i32,
}

fn start(dir: &Path, db: &Path) -> Result<Engine, BenchError> {
    let child = Command::new(BATON)
        .args(["run", "w.toml", "--headless", "--db"])
        .arg(db)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(BenchError::io("start baton"))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = Command::new(BATON)
            .args(["runs", "--json", "--db"])
            .arg(db)
            .output()
            .map_err(BenchError::io("run baton runs"))?;
        let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if let Some(run) = runs[0]["id"].as_str() {
            let pids = step_pids(run);
            if pids.len() >= 2 {
                let pgid = stat(pids[0]).map_or(0, |s| s.1);
                return Ok(Engine {
                    child,
                    run: run.to_string(),
                    pids,
                    pgid,
                });
            }
        }
        if Instant::now() > deadline {
            return Err(BenchError::Late {
                what: "the step's two processes did not start".into(),
                secs: 20,
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

fn summary(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (quantile(&v, 0.5), quantile(&v, 0.95))
}

fn main() {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("cannot make a temp dir: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = std::fs::write(dir.path().join("w.toml"), WORKFLOW) {
        eprintln!("cannot write the workflow: {e}");
        std::process::exit(1);
    }
    let db = dir.path().join("db").join("baton.db");
    let result = (|| -> Result<_, BenchError> {
        let mut e = start(dir.path(), &db)?;
        let (mut hold, mut release, mut stop, mut cont) = (vec![], vec![], vec![], vec![]);
        for _ in 0..SAMPLES {
            // Alternating, so both see the same machine load.
            let t0 = Instant::now();
            let mut c = Command::new(BATON);
            c.args(["hold", &e.run, "count", "--reason", "bench", "--db"])
                .arg(&db);
            run_cmd(c)?;
            hold.push(until(&e.pids, true, t0)?);
            let t0 = Instant::now();
            let mut c = Command::new(BATON);
            c.args(["release", &e.run, "count", "--reason", "bench", "--db"])
                .arg(&db);
            run_cmd(c)?;
            release.push(until(&e.pids, false, t0)?);
            let group = format!("-{}", e.pgid);
            let t0 = Instant::now();
            let mut c = Command::new("kill");
            c.args(["-STOP", "--", &group]);
            run_cmd(c)?;
            stop.push(until(&e.pids, true, t0)?);
            let t0 = Instant::now();
            let mut c = Command::new("kill");
            c.args(["-CONT", "--", &group]);
            run_cmd(c)?;
            cont.push(until(&e.pids, false, t0)?);
        }
        let mut c = Command::new(BATON);
        c.args(["cancel", &e.run, "--db"]).arg(&db);
        run_cmd(c)?;
        let _ = e.child.wait();
        Ok((
            summary(hold),
            summary(release),
            summary(stop),
            summary(cont),
        ))
    })();
    let (hold, release, stop, cont) = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hold_latency: {e}");
            std::process::exit(1);
        }
    };
    println!("{SAMPLES} samples each, real binaries, a step counting in a loop:");
    for (label, (p50, p95), (b50, _)) in [
        ("baton hold → group stopped", hold, stop),
        ("baton release → group running", release, cont),
    ] {
        println!(
            "  {label:<32} median {p50:6.1} ms  p95 {p95:6.1} ms  (kill baseline median {b50:5.1} ms, ratio {:.1}x)",
            p50 / b50.max(0.001)
        );
    }
    let met = hold.0 < 50.0 && release.0 < 50.0;
    println!(
        "  target both medians < 50 ms: {}",
        if met { "met" } else { "NOT met" }
    );
}
