//! `overlap = "queue"` and `overlap = "cancel_running"` end to end: the next slot of a
//! schedule whose run is slow waits for it, or cancels it with the reason
//! `superseded by RUN`; a paused schedule stays paused across a restart.
use super::*;

/// A per-second schedule whose run takes two seconds, with `overlap` set.
fn slow(overlap: &str, sleep: u32) -> String {
    format!(
        r#"name = "slow"

[[schedule]]
cron = "* * * * * *"
overlap = "{overlap}"

[[step]]
id = "work"
run = 'echo "start $BATON_RUN_ID" >> ../ledger; sleep {sleep}; echo "end $BATON_RUN_ID" >> ../ledger'
"#
    )
}

fn ledger(s: &Served) -> Vec<(String, String)> {
    std::fs::read_to_string(s.env.path().join("ledger"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// (fate, run) of the schedule's slots, oldest first.
fn slots(s: &Served) -> Vec<(String, Option<String>)> {
    let c = s.db();
    let mut st = c
        .prepare("SELECT fate, run_id FROM schedule_slots WHERE idx = 1 ORDER BY slot_at")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn state(s: &Served, run: &str) -> String {
    s.env.show(run)["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn pause(s: &Served, why: &str) {
    let out = s.env.run(&["schedule", "pause", "slow", "--reason", why]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// The slots that come while a run goes are queued, and each starts once the run
/// before it ended: never two at once.
#[test]
fn overlap_queue_starts_the_next_slot_once_the_slow_run_ended() {
    let mut s = Served::new();
    s.write("slow.toml", &slow("queue", 2));
    let (child, log) = s.start(&[]);
    wait_log(&log, "started run", 30);
    let queued = wait_until("a slot queued behind the slow run", secs(30), || {
        slots(&s)
            .into_iter()
            .find(|(fate, run)| fate == "queued" && run.is_some())
            .and_then(|(_, run)| run)
    });
    // At most one slot's run waits: a newer slot's replaces it, cancelled on record
    // (issue 41 point 4); the one left waiting starts once the slow run ended.
    let ran = wait_until("a queued run to start and succeed", secs(60), || {
        slots(&s)
            .into_iter()
            .filter(|(fate, _)| fate == "queued")
            .filter_map(|(_, run)| run)
            .find(|run| state(&s, run) == "succeeded")
    });
    pause(&s, "enough");
    let first = state(&s, &queued);
    assert!(
        first == "succeeded" || first == "cancelled",
        "{queued}: {first}"
    );
    let queued = ran;
    term(child);
    // One run at a time: each start is followed by its own end before the next start.
    let l = ledger(&s);
    for pair in l.chunks(2) {
        if let [(a, ra), (b, rb)] = pair {
            assert_eq!((a.as_str(), b.as_str(), ra), ("start", "end", rb), "{l:?}");
        }
    }
    assert!(l.iter().any(|(_, r)| *r == queued), "{l:?}");
}

/// The next slot cancels the run still going, recorded as `superseded by RUN` under the
/// serve's account, and then runs.
#[test]
fn overlap_cancel_running_cancels_the_slow_run_superseded_by_the_next() {
    let mut s = Served::new();
    s.write("slow.toml", &slow("cancel_running", 60));
    let (child, log) = s.start(&[]);
    wait_log(&log, "started run", 30);
    let (first, next) = wait_until("a slot superseding the first run", secs(30), || {
        let rows = slots(&s);
        let first = rows
            .iter()
            .find_map(|(f, r)| (f == "started").then(|| r.clone()))??;
        let next = rows
            .iter()
            .find_map(|(f, r)| (f == "superseding").then(|| r.clone()))??;
        Some((first, next))
    });
    wait_until("the first run to read cancelled", secs(30), || {
        state(&s, &first) == "cancelled"
    });
    let reason: String = wait_until("the cancel on the audit chain", secs(10), || {
        s.db()
            .query_row(
                "SELECT reason FROM audit WHERE run_id = ?1 AND action = 'cancel'",
                [&first],
                |r| r.get(0),
            )
            .ok()
    });
    assert!(reason.starts_with("superseded by "), "{reason}");
    let by = reason.trim_start_matches("superseded by ");
    assert!(
        slots(&s).iter().any(|(_, r)| r.as_deref() == Some(by)),
        "{by} is no slot's run"
    );
    // The superseding run starts its step once the first ended.
    wait_until("the superseding run to start its step", secs(30), || {
        ledger(&s).contains(&("start".to_string(), next.clone()))
    });
    pause(&s, "enough");
    term(child);
}

/// A schedule paused while nothing serves starts nothing at the next serve: its slots
/// are recorded `paused`, and `baton schedules` still says who paused it and why.
#[test]
fn a_paused_schedule_stays_paused_across_a_serve_restart() {
    let mut s = Served::new();
    s.write("slow.toml", &slow("skip", 0));
    let (child, log) = s.start(&[]);
    wait_log(&log, "started run", 30);
    pause(&s, "maintenance window");
    term(child);
    let runs = |s: &Served| -> i64 {
        s.db()
            .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
            .unwrap()
    };
    let before = runs(&s);
    let restarted = chrono::Utc::now().timestamp_millis();
    let (child, log) = s.start(&[]);
    wait_log(&log, "loaded", 30);
    wait_until("paused slots recorded by the new serve", secs(30), || {
        s.db()
            .query_row(
                "SELECT count(*) FROM schedule_slots WHERE idx = 1 AND fate = 'paused' AND slot_at > ?1",
                [restarted],
                |r| r.get::<_, i64>(0),
            )
            .unwrap_or(0)
            >= 2
    });
    let listed = s.schedules();
    assert_eq!(listed[0]["paused"]["reason"], "maintenance window");
    term(child);
    assert_eq!(runs(&s), before, "a paused schedule started a run");
}

/// The serve's descriptors open on the store's files (database, WAL, shared memory).
fn store_fds(pid: u32, db: &Path) -> usize {
    let db = db.to_string_lossy().into_owned();
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .filter(|t| t.to_string_lossy().starts_with(&db))
                .count()
        })
        .unwrap_or(0)
}

/// Queued runs hold no connection while they wait (issue 41 point 4): five runs
/// waiting for one group cost the serve what one does (one connection watches them
/// all); each still starts in turn, and the serve's stop leaves them to the next one.
#[test]
fn queued_runs_hold_no_connection_of_their_own_while_they_wait() {
    let mut s = Served::new();
    s.write(
        "pile.toml",
        r#"name = "pile"
concurrency = { group = "pile", on_conflict = "queue", max_pending = 5 }

[[schedule]]
cron = "* * * * * *"

[[step]]
id = "work"
run = 'echo "start $BATON_RUN_ID" >> ../ledger; while [ ! -e ../go ]; do sleep 0.1; done; echo "end $BATON_RUN_ID" >> ../ledger'
"#,
    );
    let (child, log) = s.start(&[]);
    let pid = child.id();
    wait_log(&log, "started run", 30);
    let queued = |s: &Served| -> Vec<String> {
        slots(s)
            .into_iter()
            .filter(|(fate, _)| fate == "queued")
            .filter_map(|(_, run)| run)
            .filter(|run| state(s, run) == "queued")
            .collect()
    };
    let one = wait_until("one run queued", secs(30), || {
        (queued(&s).len() == 1).then(|| store_fds(pid, &s.env.db()))
    });
    wait_until("five runs queued", secs(30), || queued(&s).len() >= 5);
    let out = s
        .env
        .run(&["schedule", "pause", "pile", "--reason", "enough"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Before: each queued run held its own connection (database, WAL, shared memory: 3
    // descriptors), 12 more for four. Now less than one connection more (a connection
    // opens its WAL's files at its first read; a run being made opens one for a moment:
    // the count settles once none is).
    wait_until(
        "as many descriptors as with one run queued",
        secs(10),
        || {
            let five = store_fds(pid, &s.env.db());
            if five < one + 3 {
                Ok(())
            } else {
                Err(format!(
                    "descriptors on the store: {one} with one run queued, {five} with five"
                ))
            }
        },
    );
    assert!(one > 0, "the serve holds no descriptor on its store?");
    // The waiting runs start in turn, one at a time, once the running one can end.
    std::fs::write(s.env.path().join("go"), "").unwrap();
    wait_until("the queued runs to start and end", secs(60), || {
        let l = ledger(&s);
        let ends = l.iter().filter(|(a, _)| a == "end").count();
        if ends >= 6 {
            Ok(())
        } else {
            Err(format!("{l:?}"))
        }
    });
    term(child);
    let l = ledger(&s);
    for pair in l.chunks(2) {
        if let [(a, ra), (b, rb)] = pair {
            assert_eq!((a.as_str(), b.as_str(), ra), ("start", "end", rb), "{l:?}");
        }
    }
}
