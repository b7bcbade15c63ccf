//! Issue 79: an attempt's log (its path and tail) rides on its batch's first event's
//! row (`events.logs`) until its row is written. A group member writes the database: a
//! forged value on an event past the watermark must stop a reader with a clear error or
//! read as a log the run could hold, never make a reader read outside the run's log
//! directory, nor read without bound.
use crate::helpers::*;
use baton::store::{Store, StoreError};
use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

/// The run's last event carries `logs`, past a watermark just before it: what a member
/// who writes the file leaves.
pub(crate) fn forge_pending_logs(env: &Env, run: &str, logs: &str) {
    let c = rusqlite::Connection::open(env.db()).unwrap();
    let last: i64 = c
        .query_row(
            "SELECT max(seq) FROM events WHERE run_id = ?1",
            [run],
            |r| r.get(0),
        )
        .unwrap();
    set_logs(&c, run, last, logs);
    c.execute(
        "INSERT OR REPLACE INTO steps_projected (run_id, seq) VALUES (?1, ?2)",
        rusqlite::params![run, last - 1],
    )
    .unwrap();
}

/// Write `logs` into event `seq`'s column as a group member can: a plain `UPDATE`,
/// the column being outside those the `events_no_update` trigger guards.
fn set_logs(c: &rusqlite::Connection, run: &str, seq: i64, logs: &str) {
    c.execute(
        "UPDATE events SET logs = ?1 WHERE run_id = ?2 AND seq = ?3",
        rusqlite::params![logs, run, seq],
    )
    .unwrap();
}

/// A one-step run (`a` prints `inside`) to its end; its id.
pub(crate) fn finished(env: &Env) -> String {
    let wf = env.workflow(
        "one.toml",
        "name = \"one\"\n[[step]]\nid = \"a\"\nrun = \"echo inside\"\n",
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    ok(&out);
    run_id_of(&text(&out.stdout))
}

/// `baton logs RUN a`'s stdout, at most `max` bytes of it read (the command is ended
/// once they are, or after 30 s), and its exit code (`None`: it did not end by itself).
fn logs_bounded(env: &Env, run: &str, max: u64) -> (Vec<u8>, Option<i32>) {
    let mut child = env
        .cmd()
        .args(["logs", run, "a"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.take(max).read_to_end(&mut buf);
        buf
    });
    let ended = poll(Duration::from_secs(30), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    if ended.is_err() {
        let _ = child.kill();
    }
    let status = child.wait().unwrap();
    let printed = reader.join().unwrap();
    (printed, ended.ok().and(status.code()))
}

#[test]
fn a_forged_log_path_makes_no_reader_read_outside_the_run_s_log_dir() {
    let env = Env::new();
    let run = finished(&env);
    let outside = env.path().join("outside.txt");
    std::fs::write(&outside, "FORGED-OUTSIDE-TEXT\n").unwrap();
    let mut read = Vec::new();
    // On a pending event's row, then on the attempt's row once caught up.
    for (target, on_row) in [
        ("/dev/zero", false),
        (outside.to_str().unwrap(), false),
        ("/dev/zero", true),
    ] {
        let logs = serde_json::json!([["a", 1, target, ""]]).to_string();
        forge_pending_logs(&env, &run, &logs);
        if on_row {
            Store::open_existing(&env.db())
                .unwrap()
                .catch_up(&run)
                .unwrap();
        }
        let (printed, code) = logs_bounded(&env, &run, 1 << 20);
        let printed = text(&printed);
        if code.is_none() || printed != "inside\n" {
            read.push(format!(
                "{target} (on the row: {on_row}): {} bytes printed, exit {code:?}: {:.40}",
                printed.len(),
                printed
            ));
        }
    }
    assert!(
        read.is_empty(),
        "`baton logs` read a file outside the run's log dir: {read:#?}"
    );
}

#[test]
fn forged_logs_stop_the_readers_and_the_catch_up_with_a_clear_error() {
    let env = Env::new();
    let run = finished(&env);
    let cases = [
        "{\"not\": \"a list\"}".to_string(),
        format!("[[\"a\",1,\"/l\",\"{}\"]]", "x".repeat(9000)),
        format!("[[\"a\",1,\"{}\",\"\"]]", "p".repeat(5000)),
        "[[\"a\",4294967296,\"/l\",\"\"]]".to_string(),
    ];
    for logs in &cases {
        forge_pending_logs(&env, &run, logs);
        let store = Store::open_existing(&env.db()).unwrap();
        for (what, err) in [
            ("attempt_tails", store.attempt_tails(&run).err()),
            ("attempt_logs", store.attempt_logs(&run, "a").err()),
            ("catch_up", store.catch_up(&run).err()),
        ] {
            assert!(
                matches!(err, Some(StoreError::Tampered { .. })),
                "{logs:.40}: {what}: {err:?}"
            );
        }
        let out = env.run(&["logs", &run, "a"]);
        assert!(!out.status.success(), "{logs:.40}: baton logs");
        assert!(
            text(&out.stderr).contains("does not check out"),
            "{logs:.40}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn a_log_on_an_event_before_the_watermark_changes_nothing_read() {
    let env = Env::new();
    let run = finished(&env);
    let store = Store::open_existing(&env.db()).unwrap();
    let (logs_before, tails_before) = (
        store.attempt_logs(&run, "a").unwrap(),
        store.attempt_tails(&run).unwrap(),
    );
    drop(store);
    let c = rusqlite::Connection::open(env.db()).unwrap();
    set_logs(&c, &run, 1, "[[\"a\",1,\"/etc/shadow\",\"forged\"]]");
    c.execute(
        "INSERT OR REPLACE INTO steps_projected (run_id, seq) VALUES (?1, 2)",
        [&run],
    )
    .unwrap();
    let store = Store::open_existing(&env.db()).unwrap();
    assert_eq!(store.attempt_logs(&run, "a").unwrap(), logs_before);
    assert_eq!(store.attempt_tails(&run).unwrap(), tails_before);
    let out = env.run(&["logs", &run, "a"]);
    ok(&out);
    assert_eq!(text(&out.stdout), "inside\n");
}

/// `long` blocks until the test writes `release` in the env's directory (60 s at
/// most); `q` prints and ends while it runs, so its rows and log wait for a later commit.
fn in_flight(env: &Env) -> (std::process::Child, String) {
    let release = env.path().join("release");
    let wf = env.workflow(
        "flight.toml",
        &format!(
            "name = \"flight\"\nmax_parallel = 2\n\
             [[step]]\nid = \"long\"\n\
             run = 'for i in $(seq 1 1200); do [ -e {} ] && exit 0; sleep 0.05; done; exit 1'\n\
             [[step]]\nid = \"q\"\nrun = 'echo q says hi'\n",
            release.display()
        ),
    );
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "q", "succeeded", 60);
    env.wait_step(&id, "long", "running", 60);
    (engine, id)
}

#[test]
fn a_run_taken_over_with_forged_pending_logs_is_refused_not_looped() {
    let env = Env::new();
    let (mut engine, id) = in_flight(&env);
    let _ = engine.kill(); // SIGKILL
    let _ = engine.wait();
    let c = rusqlite::Connection::open(env.db()).unwrap();
    let mark: Option<i64> = c
        .query_row(
            "SELECT seq FROM steps_projected WHERE run_id = ?1",
            [&id],
            |r| r.get(0),
        )
        .ok();
    let Some(mark) = mark else {
        std::fs::write(env.path().join("release"), "").unwrap();
        panic!("q's rows were written at once: nothing pending to forge");
    };
    let carrying: i64 = c
        .query_row(
            "SELECT seq FROM events WHERE run_id = ?1 AND seq > ?2 AND logs IS NOT NULL",
            rusqlite::params![id, mark],
            |r| r.get(0),
        )
        .unwrap();
    set_logs(&c, &id, carrying, "[[\"q\",1,\"/l\"");
    drop(c);
    let resume = env.spawn(&["resume", &id, "--headless"]);
    let out = wait_child(resume, 60);
    std::fs::write(env.path().join("release"), "").unwrap();
    let err = text(&out.stderr);
    assert!(!out.status.success(), "the resume went on: {err}");
    assert!(
        err.contains("does not check out") && !err.contains("panicked"),
        "{err}"
    );
}

#[test]
fn a_store_of_the_previous_schema_with_rows_behind_migrates_and_reads_its_logs() {
    let env = Env::new();
    let run = finished(&env);
    let store = Store::open_existing(&env.db()).unwrap();
    let (logs, tails) = (
        store.attempt_logs(&run, "a").unwrap(),
        store.attempt_tails(&run).unwrap(),
    );
    drop(store);
    assert_eq!(tails.get("a").map(String::as_str), Some("inside"));
    // A store of schema 42: no `events.logs` (nor migration 44's `events.summary`), the
    // logs on the attempts' rows, the rows behind the run's last event.
    let c = rusqlite::Connection::open(env.db()).unwrap();
    c.execute_batch(
        "ALTER TABLE events DROP COLUMN logs; ALTER TABLE events DROP COLUMN summary;
         PRAGMA user_version = 42; DELETE FROM migrations WHERE version IN (43, 44);",
    )
    .unwrap();
    c.execute(
        "INSERT INTO steps_projected (run_id, seq)
         SELECT ?1, max(seq) - 1 FROM events WHERE run_id = ?1",
        [&run],
    )
    .unwrap();
    drop(c);
    let store = Store::open_existing(&env.db()).unwrap();
    assert_eq!(store.attempt_logs(&run, "a").unwrap(), logs);
    assert_eq!(store.attempt_tails(&run).unwrap(), tails);
    store.catch_up(&run).unwrap();
    assert_eq!(store.attempt_logs(&run, "a").unwrap(), logs);
    assert_eq!(store.attempt_tails(&run).unwrap(), tails);
    let out = env.run(&["logs", &run, "a"]);
    ok(&out);
    assert_eq!(text(&out.stdout), "inside\n");
}

#[test]
fn a_group_store_keeps_no_log_text_on_its_events_rows() {
    let env = Env::new();
    env.share_with_nobody();
    // `q` printed and ended while `long` runs: its log rides on its events' rows.
    let (engine, id) = in_flight(&env);
    let c = rusqlite::Connection::open(env.db()).unwrap();
    let column = |sql: &str| -> Vec<String> {
        c.prepare(sql)
            .unwrap()
            .query_map([&id], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let on_events = column("SELECT logs FROM events WHERE run_id = ?1 AND logs IS NOT NULL");
    let on_rows =
        column("SELECT log_tail FROM attempts WHERE run_id = ?1 AND log_tail IS NOT NULL");
    std::fs::write(env.path().join("release"), "").unwrap();
    ok(&wait_child(engine, 60));
    assert!(!on_events.is_empty(), "q's log rode on no event");
    for kept in on_events.iter().chain(&on_rows) {
        assert!(!kept.contains("q says hi"), "{on_events:?} {on_rows:?}");
    }
}

#[test]
fn a_group_store_s_forged_tail_is_not_shown_for_the_starter_s_log() {
    let env = Env::new();
    env.share_with_nobody();
    let wf = env.workflow(
        "p.toml",
        "name = \"p\"\n[[step]]\nid = \"a\"\nrun = \"echo private-log-text\"\n",
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    ok(&out);
    let run = run_id_of(&text(&out.stdout));
    forge_pending_logs(&env, &run, "[[\"a\",1,\"\",\"forged by a member\"]]");
    let store = Store::open_existing(&env.db()).unwrap();
    let view = baton::session::inspect(&store, &run, baton::model::Timestamp::now()).unwrap();
    let step = view.steps.iter().find(|s| s.id == "a").unwrap();
    assert_eq!(
        step.log_tail,
        ["private-log-text"],
        "read from its log file"
    );
}

#[test]
fn a_logs_column_too_long_for_any_batch_is_refused_before_it_is_folded() {
    let env = Env::new();
    let run = finished(&env);
    // 1,000,000 well-formed logs (26 MB): more than any batch records.
    let mut logs = String::from("[");
    for i in 0..1_000_000u32 {
        if i > 0 {
            logs.push(',');
        }
        logs.push_str(&format!("[\"a\",{},\"/l\",\"\"]", i % 7 + 1));
    }
    logs.push(']');
    forge_pending_logs(&env, &run, &logs);
    let store = Store::open_existing(&env.db()).unwrap();
    let err = store.attempt_tails(&run).unwrap_err();
    assert!(
        matches!(err, StoreError::Tampered { .. }),
        "a 26 MB logs column is read whole and folded: {err}"
    );
}

#[test]
fn a_log_for_an_attempt_the_run_never_started_reads_as_no_attempt() {
    let env = Env::new();
    let run = finished(&env);
    let logs = serde_json::json!([["ghost", 3, "/l", "t"], ["a", 9, "/l", "t"]]).to_string();
    forge_pending_logs(&env, &run, &logs);
    let store = Store::open_existing(&env.db()).unwrap();
    let attempts: Vec<u32> = store
        .attempt_logs(&run, "a")
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let tails = store.attempt_tails(&run).unwrap();
    store.catch_up(&run).unwrap();
    let out = env.run(&["logs", &run, "a"]);
    ok(&out);
    assert_eq!(
        (attempts, tails.contains_key("ghost"), text(&out.stderr)),
        (vec![1], false, String::new()),
        "a forged log made an attempt up"
    );
}
