//! Issue 55 point 1: one at a time under any burst. Twenty `baton run --headless`
//! processes submitted at once into one concurrency group (`on_conflict = "queue"`,
//! `max_pending` 1), round after round: the steps' own start and end stamps never
//! overlap, the group's line never holds more than `max_pending` waiting runs, and no
//! run that started its step is cancelled (only waiting runs are replaced); also with
//! half of each burst submitted by a second account of a group store. The same bursts
//! into a store-wide pool of capacity 1 and 2 never hold more than its capacity.
//!
//! Each round takes a few seconds on a loaded machine: [`ROUNDS_ENV`] raises the count
//! (the issue's campaign is 50 rounds).
use crate::helpers::*;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// How many rounds each burst test makes (default [`ROUNDS`]).
const ROUNDS_ENV: &str = "BATON_BURST_ROUNDS";
/// Enough to catch the races seen in the issue (3 of 13 trials of 8) in a test of
/// well under a minute.
const ROUNDS: usize = 3;
/// Runs submitted at once in a round.
const BURST: usize = 20;

fn rounds() -> usize {
    std::env::var(ROUNDS_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ROUNDS)
}

/// The step: its run id and `start`/`end` with the time, to `stamps`.
const STAMPED: &str = r#"run = 'echo "$BATON_RUN_ID start $(date +%s.%N)" >> stamps; sleep 0.2; echo "$BATON_RUN_ID end $(date +%s.%N)" >> stamps'"#;

fn group_workflow(env: &Env) -> std::path::PathBuf {
    let text = format!(
        "name = \"race\"\nconcurrency = {{ group = \"race\", on_conflict = \"queue\" }}\n\
         [[step]]\nid = \"deploy\"\n{STAMPED}\n"
    );
    env.workflow("race.toml", &text)
}

fn pool_workflow(env: &Env, capacity: usize) -> std::path::PathBuf {
    let text = format!(
        "name = \"pooled\"\n[pools.deploy]\ncapacity = {capacity}\nscope = \"store\"\n\
         [[step]]\nid = \"deploy\"\npool = \"deploy\"\n{STAMPED}\n"
    );
    env.workflow("pooled.toml", &text)
}

/// Each run's step life from its stamps: `(run, start, end)`; `end` is `None` for a
/// step that never wrote its end (killed).
fn stamps(env: &Env) -> Vec<(String, f64, Option<f64>)> {
    let text = std::fs::read_to_string(env.path().join("stamps")).unwrap_or_default();
    let mut lives: Vec<(String, f64, Option<f64>)> = Vec::new();
    for line in text.lines() {
        let mut parts = line.split(' ');
        let (Some(run), Some(what), Some(at)) = (parts.next(), parts.next(), parts.next()) else {
            panic!("a stamp line reads `RUN start|end TIME`: {line:?}");
        };
        let at: f64 = at.parse().unwrap_or_else(|_| panic!("a time: {line:?}"));
        match what {
            "start" => lives.push((run.to_string(), at, None)),
            "end" => {
                let life = lives.iter_mut().rev().find(|l| l.0 == run && l.2.is_none());
                life.unwrap_or_else(|| panic!("an end without its start: {text}"))
                    .2 = Some(at);
            }
            _ => panic!("a stamp line reads `RUN start|end TIME`: {line:?}"),
        }
    }
    lives
}

/// The most step lives that were open at one instant (an end at the very instant of a
/// start closes first).
fn most_at_once(lives: &[(String, f64, Option<f64>)]) -> usize {
    let mut edges: Vec<(f64, i32)> = Vec::new();
    for (run, start, end) in lives {
        let end = end.unwrap_or_else(|| panic!("run {run}'s step started and never ended"));
        edges.push((*start, 1));
        edges.push((end, -1));
    }
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut open, mut most) = (0i32, 0i32);
    for (_, d) in edges {
        open += d;
        most = most.max(open);
    }
    most as usize
}

/// Samples the group's line from the store itself while a burst runs: how many runs
/// recorded `queued` wait in it (not holding it) at most. Every engine of a burst is
/// alive, so each of them is a live waiting run.
struct LineWatch {
    stop: Arc<AtomicBool>,
    most: Arc<AtomicUsize>,
    thread: std::thread::JoinHandle<()>,
}

impl LineWatch {
    fn start(db: &Path, group: &str) -> LineWatch {
        let (stop, most) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicUsize::new(0)),
        );
        let (s, m, db, group) = (
            stop.clone(),
            most.clone(),
            db.to_path_buf(),
            group.to_string(),
        );
        let thread = std::thread::spawn(move || {
            let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
            let conn = rusqlite::Connection::open_with_flags(&db, flags).expect("open the store");
            conn.busy_timeout(std::time::Duration::from_secs(5))
                .unwrap();
            while !s.load(Ordering::SeqCst) {
                let waiting: i64 = conn
                    .query_row(
                        "SELECT count(*) FROM group_members g JOIN runs r ON r.id = g.run_id
                         WHERE g.grp = ?1 AND g.active = 0 AND r.state = 'queued'",
                        [&group],
                        |r| r.get(0),
                    )
                    .expect("read the group's line");
                m.fetch_max(waiting as usize, Ordering::SeqCst);
            }
        });
        LineWatch { stop, most, thread }
    }

    fn most(self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().expect("the line watch");
        self.most.load(Ordering::SeqCst)
    }
}

/// Who submits a burst's runs.
#[derive(Clone, Copy)]
enum Submitters {
    /// This account, every run.
    One,
    /// Every other run by `nobody`, a second account of the group store.
    Two,
}

/// The second account's own state directory (its seal key), in the env.
const NOBODY_STATE: &str = "nobody-state";

/// `BURST` engines of `wf` at once, to their ends; what each said.
fn burst(env: &Env, wf: &Path, by: Submitters) -> Vec<std::process::Output> {
    let args = ["run", wf.to_str().unwrap(), "--headless"];
    let children: Vec<_> = (0..BURST)
        .map(|i| match by {
            Submitters::Two if i % 2 == 1 => env
                .baton_as_nobody(&args)
                .env("XDG_STATE_HOME", env.path().join(NOBODY_STATE))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn baton as nobody"),
            _ => env.spawn(&args),
        })
        .collect();
    children.into_iter().map(|c| wait_child(c, 120)).collect()
}

/// Every run of the bursts, its state and its step's attempts (`runs --json`, `show
/// --json`).
fn outcomes(env: &Env) -> Vec<(String, String, Value)> {
    let runs = env.runs();
    let mut out = Vec::new();
    for r in runs.as_array().cloned().unwrap_or_default() {
        if r["workflow"] != "race" {
            continue;
        }
        let id = r["id"].as_str().unwrap_or_default().to_string();
        let shown = env.show(&id);
        let attempts = step_field(&shown, "deploy", "attempts");
        out.push((
            id,
            shown["state"].as_str().unwrap_or_default().into(),
            attempts,
        ));
    }
    out
}

/// Rounds of bursts into the group `race` (`max_pending` 1), each checked: no two
/// deploys overlap, at most one run waits in line, no run is cancelled after its step
/// started.
fn group_bursts(env: &Env, by: Submitters) {
    let wf = group_workflow(env);
    for round in 0..rounds() {
        let watch = LineWatch::start(&env.db(), "race");
        let said = burst(env, &wf, by);
        let waiting = watch.most();
        let lives = stamps(env);
        assert_eq!(
            most_at_once(&lives),
            1,
            "round {round}: two deploys overlapped: {lives:#?}"
        );
        assert!(
            waiting <= 1,
            "round {round}: {waiting} runs waited in the group's line at once (max_pending 1)"
        );
        let outcomes = outcomes(env);
        // Every submission made its run (both accounts'), whatever became of it.
        assert_eq!(
            outcomes.len(),
            BURST * (round + 1),
            "round {round}: {}",
            said.iter().map(|o| text(&o.stderr)).collect::<String>()
        );
        for (run, state, attempts) in outcomes {
            let ran = lives.iter().any(|l| l.0 == run);
            match state.as_str() {
                "succeeded" => {}
                // Only a run still waiting is replaced: its step never started.
                "cancelled" => assert!(
                    !ran && attempts.as_u64().unwrap_or(0) == 0,
                    "round {round}: run {run} was cancelled after its step started ({attempts})\n{}",
                    said.iter().map(|o| text(&o.stderr)).collect::<String>()
                ),
                other => panic!("round {round}: run {run} ended {other}"),
            }
        }
    }
}

#[test]
fn bursts_into_a_queue_group_run_one_at_a_time_and_never_cancel_a_started_run() {
    let env = Env::new();
    // The store exists before the first burst, as it would for an operator's runs.
    env.finished_run();
    group_bursts(&env, Submitters::One);
}

/// The same bursts, half of each submitted by a second account of a group store.
#[test]
fn bursts_from_two_accounts_of_a_group_store_run_one_at_a_time() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    env.share_with_nobody();
    // Both accounts' steps stamp the one file.
    let stamps = env.path().join("stamps");
    std::fs::write(&stamps, "").unwrap();
    std::fs::set_permissions(&stamps, std::fs::Permissions::from_mode(0o666)).unwrap();
    let own = env.path().join(NOBODY_STATE);
    std::fs::create_dir(&own).unwrap();
    let nobody = nix::unistd::Uid::from_raw(65534);
    nix::unistd::chown(&own, Some(nobody), None).expect("chown to nobody");
    group_bursts(&env, Submitters::Two);
}

fn pool_bursts(capacity: usize) {
    let env = Env::new();
    env.finished_run();
    let wf = pool_workflow(&env, capacity);
    for round in 0..rounds() {
        for out in burst(&env, &wf, Submitters::One) {
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        }
        let lives = stamps(&env);
        assert_eq!(lives.len(), BURST * (round + 1), "{lives:#?}");
        assert_eq!(
            most_at_once(&lives),
            capacity,
            "round {round}: the pool of capacity {capacity} held: {lives:#?}"
        );
    }
}

#[test]
fn bursts_into_a_store_pool_of_one_never_overlap() {
    pool_bursts(1);
}

#[test]
fn bursts_into_a_store_pool_of_two_never_hold_more_than_two() {
    pool_bursts(2);
}

/// A serve's per-second slots and bursts of `baton run` into the one group at once
/// (issue 55 point 1: "a serve's slot and a CLI run together"): the workflow `race`
/// with a schedule, in a served directory, and the same file run from the CLI. No two
/// deploys overlap, the line never holds more than `max_pending`, and no run that
/// started its step is cancelled, whichever starter made it.
#[test]
fn a_serves_slots_and_cli_bursts_into_one_group_run_one_at_a_time() {
    let mut s = crate::serve::Served::new();
    s.env.finished_run();
    let stamps_at = s.env.path().join("stamps");
    let step = STAMPED.replace(">> stamps", &format!(">> {}", stamps_at.display()));
    let wf = s.write(
        "race.toml",
        &format!(
            "name = \"race\"\nconcurrency = {{ group = \"race\", on_conflict = \"queue\" }}\n\
             [[schedule]]\ncron = \"* * * * * *\"\n\n[[step]]\nid = \"deploy\"\n{step}\n"
        ),
    );
    let (serve, _log) = s.start(&[]);
    let env = &s.env;
    wait_until("a first slot's run", secs(60), || {
        outcomes(env).iter().any(|(_, state, _)| state != "queued")
    });
    let mut said = Vec::new();
    for _ in 0..rounds() {
        let watch = LineWatch::start(&env.db(), "race");
        said.extend(burst(env, &wf, Submitters::One));
        let waiting = watch.most();
        assert!(
            waiting <= 1,
            "{waiting} runs waited in the group's line at once (max_pending 1)"
        );
    }
    // No more slots: the file leaves the directory, and what it started ends.
    std::fs::remove_file(&wf).unwrap();
    wait_until("every run of the group to end", secs(120), || {
        outcomes(env)
            .iter()
            .all(|(_, state, _)| !matches!(state.as_str(), "queued" | "running" | "pending"))
    });
    crate::serve::term(serve);
    let lives = stamps(env);
    assert_eq!(
        most_at_once(&lives),
        1,
        "two deploys overlapped: {lives:#?}"
    );
    let cli = said.len();
    let all = outcomes(env);
    assert!(all.len() > cli, "the serve's slots made runs too: {all:?}");
    for (run, state, attempts) in all {
        let ran = lives.iter().any(|l| l.0 == run);
        match state.as_str() {
            "succeeded" => assert!(ran, "run {run} succeeded without its step"),
            "cancelled" | "skipped" => assert!(
                !ran && attempts.as_u64().unwrap_or(0) == 0,
                "run {run} was {state} after its step started ({attempts})\n{}",
                said.iter().map(|o| text(&o.stderr)).collect::<String>()
            ),
            other => panic!("run {run} ended {other}"),
        }
    }
}
