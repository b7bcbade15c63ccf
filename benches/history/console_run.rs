//! `baton run` of a 1,000-step workflow on a store with history: headless, and in the
//! console, each started the same way in a tmux pane of its own (a real terminal: the
//! headless lines are written to it as an operator would see them) and timed from
//! spawn to the store recording the run's end (polled through a read-only connection).
//! The median of nine of each, the two alternating (the machine's speed drifts over a
//! bench run; alternated, both see the same drift). Started alike, the two differ only
//! by the console.
use baton::model::RunState;
use baton::store::Store;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const STEPS: usize = 1_000;
const REPS: usize = 9;

pub(crate) struct Measured {
    pub headless: Duration,
    pub console: Duration,
}

/// 1,000 steps in ten layers of 100, each step needing one of the layer before: the
/// engine's bench shape, with steps that exit at once.
fn workflow(dir: &Path) -> std::path::PathBuf {
    let mut toml = String::from("name = \"thousand\"\n");
    for i in 0..STEPS {
        let _ = write!(toml, "\n[[step]]\nid = \"s{i}\"\nrun = \"true\"\n");
        if i >= 100 {
            let _ = writeln!(toml, "needs = [\"s{}\"]", i - 100);
        }
    }
    let path = dir.join("thousand.toml");
    std::fs::write(&path, toml).expect("write workflow");
    path
}

/// The store's newest run: its id, and whether it is a run of the workflow that
/// succeeded.
fn newest(db: &Path) -> Option<(String, bool)> {
    let s = Store::open_read_only(db).ok()?;
    let runs = s.newest_runs(1).ok()?;
    let r = runs.first()?;
    let done = r.workflow == "thousand" && r.state == RunState::Succeeded;
    Some((r.id.clone(), done))
}

/// Poll the store until a run newer than `before` (the newest run before the spawn)
/// has ended (120 s at most): runs start one at a time, so it is the one spawned.
fn until_ended(db: &Path, before: &Option<(String, bool)>) {
    let t0 = Instant::now();
    let before = before.as_ref().map(|(id, _)| id.as_str());
    while !newest(db).is_some_and(|(id, done)| done && Some(id.as_str()) != before) {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "the 1,000-step run never ended"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub(crate) fn measure(baton: &Path, db: &Path, dir: &Path) -> Measured {
    let wf = workflow(dir);
    let time = |mode: &str, flags: &str, i: usize| -> Duration {
        let socket = format!("baton-history-run-{}-{mode}-{i}", std::process::id());
        // The pane stays after a headless run ends, so its output is not cut.
        let command = format!(
            "BATON_DB='{}' USER=bench '{}' run '{}' {flags}; sleep 60",
            db.display(),
            baton.display(),
            wf.display()
        );
        let before = newest(db);
        let t0 = Instant::now();
        let st = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-s", "main", "-x", "160", "-y", "45", &command])
            .stdout(Stdio::null())
            .status()
            .expect("tmux must be installed");
        assert!(st.success(), "tmux new-session");
        until_ended(db, &before);
        let took = t0.elapsed();
        let _ = Command::new("tmux")
            .args(["-L", &socket, "kill-server"])
            .status();
        took
    };
    let (mut headless, mut console) = (Vec::new(), Vec::new());
    for i in 0..REPS {
        headless.push(time("headless", "--headless", i));
        console.push(time("console", "", i));
    }
    Measured {
        headless: median(headless),
        console: median(console),
    }
}
