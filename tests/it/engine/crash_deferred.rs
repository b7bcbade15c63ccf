//! An engine's commits write a step's events at once and its `steps`/`attempts` rows a
//! few commits later (`store::commit::deferred`). An engine killed (`kill -9`) between
//! the two leaves rows behind its events, marked by the run's watermark: every reader
//! still answers as of the events (`show`, `events`, `runs`, `history`, `audit
//! verify`), and `resume` brings the rows up and finishes the run with no succeeded
//! step started again. A quick step's log (its path and last output) rides with its
//! events until its row is written: it reads the same before the kill and after the
//! resume, when its row holds it and no event row does. The run's summary's row waits
//! with them: `runs` reads the summary as of the last event before the kill and after.
use crate::helpers::*;
use std::fmt::Write as _;

/// The quick steps, one after the other while `long` runs.
const QUICK: [&str; 2] = ["q1", "q2"];

/// `long` blocks until the test writes `release` in the run's directory (60 s at
/// most; its command names the directory, so the test's sweep finds it).
fn workflow(dir: &std::path::Path) -> String {
    let mut w = String::from("name = \"deferred\"\nmax_parallel = 2\n");
    let release = dir.join("release");
    let _ = write!(
        w,
        "\n[[step]]\nid = \"long\"\nrun = 'echo \"$BATON_STEP_ID start\" >> ledger; \
         for i in $(seq 1 1200); do [ -e {} ] && exit 0; sleep 0.05; done; exit 1'\n",
        release.display()
    );
    for (i, q) in QUICK.iter().enumerate() {
        let _ = write!(
            w,
            "\n[[step]]\nid = \"{q}\"\nrun = 'echo \"$BATON_STEP_ID start\" >> ledger; \
             echo \"$BATON_STEP_ID says hi\"'\n"
        );
        if i > 0 {
            let _ = writeln!(w, "needs = [\"{}\"]", QUICK[i - 1]);
        }
    }
    w
}

/// The run's watermark (`None`: its rows hold every event) and each step's state as
/// its row holds it, read from the database as it lies.
fn rows(env: &Env, id: &str) -> (Option<i64>, Vec<(String, String)>) {
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    let mark = conn
        .query_row(
            "SELECT seq FROM steps_projected WHERE run_id = ?1",
            [id],
            |r| r.get(0),
        )
        .ok();
    let mut st = conn
        .prepare("SELECT step_id, state FROM steps WHERE run_id = ?1 ORDER BY step_id")
        .unwrap();
    let steps = st
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    (mark, steps)
}

/// How many steps the run's summary's row counts succeeded, as it lies, and the row's
/// JSON.
fn row_succeeded(env: &Env, id: &str) -> (i64, String) {
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    conn.query_row(
        "SELECT coalesce((SELECT value ->> 1 FROM json_each(s.json, '$.tallies.steps')
                          WHERE value ->> 0 = 'succeeded'), 0), s.json
         FROM run_summaries s WHERE s.run_id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

/// q2's attempt's row as it lies: (log_path, log_tail).
fn q2_log_row(env: &Env, id: &str) -> (Option<String>, Option<String>) {
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    conn.query_row(
        "SELECT log_path, log_tail FROM attempts
         WHERE run_id = ?1 AND step_id = 'q2' AND attempt = 1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap_or((None, None))
}

/// How many of the run's event rows carry a log with a tail (`events.logs`, entries
/// `[step, attempt, path, tail]`) as they lie: a carrier of paths alone (`long` prints
/// nothing) stays once the rows hold it.
fn carried(env: &Env, id: &str) -> i64 {
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    conn.query_row(
        "SELECT count(*) FROM events WHERE run_id = ?1 AND logs IS NOT NULL
         AND EXISTS (SELECT 1 FROM json_each(logs) WHERE value ->> 3 <> '')",
        [id],
        |r| r.get(0),
    )
    .unwrap()
}

/// q2's log reads the same whether its row holds it or not: its path in `show
/// --json` and the store's (what `baton logs` prints), its tail as the console reads
/// it. Returns the path.
fn q2_log_reads(env: &Env, id: &str, when: &str) -> String {
    let show = env.show(id);
    let path = step_field(&show, "q2", "log_path");
    let path = path.as_str().unwrap_or_else(|| panic!("{when}: {show:#}"));
    let store = baton::store::Store::open(&env.db()).unwrap();
    let files = store.attempt_logs(id, "q2").unwrap();
    assert_eq!(files, vec![(1, path.into())], "{when}");
    let tails = store.attempt_tails(id).unwrap();
    assert_eq!(
        tails.get("q2").map(String::as_str),
        Some("q2 says hi"),
        "{when}"
    );
    let logs = env.run(&["logs", id, "q2"]);
    assert!(logs.status.success(), "{when}: {}", text(&logs.stderr));
    assert_eq!(text(&logs.stdout), "q2 says hi\n", "{when}");
    path.to_string()
}

/// Every reader answers as of the events: the quick steps succeeded, `long` has not.
fn reads_agree(env: &Env, id: &str, when: &str) {
    let show = env.show(id);
    for q in QUICK {
        assert_eq!(
            step_state(&show, q).as_deref(),
            Some("succeeded"),
            "{when}: {show:#}"
        );
    }
    let events = env.run(&["events", id]);
    assert!(events.status.success(), "{when}: {}", text(&events.stderr));
    let printed = text(&events.stdout);
    assert!(printed.contains("q2"), "{when}: events of q2: {printed}");
    let runs = env.runs();
    assert_eq!(runs[0]["id"], id, "{when}: {runs:#}");
    // The run's summary as of its last event, whether its row waits or not.
    assert_eq!(
        (&runs[0]["steps_done"], &runs[0]["steps_total"]),
        (&serde_json::json!(2), &serde_json::json!(3)),
        "{when}: {runs:#}"
    );
    // `long` runs (none once its engine is gone), the quick steps' attempts ended.
    let running = i64::from(runs[0]["state"] != "interrupted");
    assert_eq!(runs[0]["signals"]["running"], running, "{when}: {runs:#}");
    let finished = runs[0]["signals"]["finished_per_sec"].as_f64();
    assert!(finished.is_some_and(|f| f > 0.0), "{when}: {runs:#}");
    let history = env.run(&["history", "deferred", "q2", "--json"]);
    assert!(
        history.status.success(),
        "{when}: {}",
        text(&history.stderr)
    );
    let h: serde_json::Value = serde_json::from_slice(&history.stdout).expect("history --json");
    assert_eq!(
        (&h["runs"][0]["state"], &h["runs"][0]["attempts"]),
        (&serde_json::json!("succeeded"), &serde_json::json!(1)),
        "{when}: q2's history reads its row as of the events: {h:#}"
    );
    let verify = env.run(&["audit", "verify", id]);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{when}: {}",
        text(&verify.stdout)
    );
}

#[test]
fn kill_dash_nine_between_the_events_and_their_rows_then_resume() {
    let env = Env::new();
    let wf = env.workflow("deferred.toml", &workflow(env.path()));
    let mut ledger = StartLedger::new(&env);
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "q2", "succeeded", 60);
    env.wait_step(&id, "long", "running", 60);
    // `long` has a process: the quick steps' rows wait for a later commit.
    let (mark, before) = rows(&env, &id);
    assert!(
        mark.is_some(),
        "the rows were written at once (the quick steps took over a second?): {before:?}"
    );
    assert!(
        before.iter().any(|(s, st)| s == "q2" && st != "succeeded"),
        "q2's row is behind its events: {before:?}"
    );
    // The summary's row waits with the steps' rows: the run's last event carries it.
    let (succeeded, row) = row_succeeded(&env, &id);
    assert!(
        succeeded < 2,
        "the summary's row was written at once: {row}"
    );
    reads_agree(&env, &id, "before the kill");
    // q2's log rides with its events: its row does not hold it yet.
    assert_eq!(q2_log_row(&env, &id), (None, None));
    assert!(carried(&env, &id) > 0, "q2's log rides on no event row");
    let path = q2_log_reads(&env, &id, "before the kill");
    let _ = engine.kill(); // SIGKILL
    let _ = engine.wait();
    assert_eq!(
        rows(&env, &id),
        (mark, before),
        "the kill left the rows as they were"
    );
    reads_agree(&env, &id, "after the kill");
    assert_eq!(q2_log_reads(&env, &id, "after the kill"), path);
    let show = env.show(&id);
    let now = ledger.check("after the kill");
    ledger.freeze(&show, &now);
    // The resume takes the run over: the rows come up to the events before it reads.
    let mut resume = env.spawn(&["resume", &id, "--headless"]);
    wait_until("the resume to bring the rows up", secs(60), || {
        let (_, steps) = rows(&env, &id);
        steps
            .iter()
            .any(|(s, st)| s == "q2" && st == "succeeded")
            .then_some(())
    });
    std::fs::write(env.path().join("release"), "").unwrap();
    wait_until("the resume to finish", secs(120), || {
        resume.try_wait().ok().flatten().is_some()
    });
    let show = env.show(&id);
    assert_eq!(show["state"], "succeeded", "{show:#}");
    let starts = ledger.check("after the resume");
    for q in QUICK {
        assert_eq!(starts.get(q), Some(&1), "{q} ran once: {starts:?}");
    }
    let (mark, steps) = rows(&env, &id);
    assert_eq!(mark, None);
    let (succeeded, row) = row_succeeded(&env, &id);
    assert_eq!(succeeded, 3, "{row}");
    assert!(steps.iter().all(|(_, st)| st == "succeeded"), "{steps:?}");
    assert_eq!(q2_log_reads(&env, &id, "after the resume"), path);
    let row = q2_log_row(&env, &id);
    assert_eq!(row, (Some(path), Some("q2 says hi".into())));
    // The rows hold the logs: no event row keeps a second copy of a tail.
    assert_eq!(carried(&env, &id), 0);
    let verify = env.run(&["audit", "verify", &id]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
}
