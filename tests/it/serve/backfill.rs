//! The slot reaches the run (issue 41 point 6): `${{ run.slot }}` and `$BATON_SLOT` of a
//! scheduled run (kept across a `kill -9` and a resume), a trigger's time for a triggered
//! run, and `baton schedule backfill` starting each slot of a range once, in order.
use super::*;

const EVERY_SECOND: &str = r#"name = "ticks"

[[schedule]]
cron = "* * * * * *"
overlap = "skip"

[env]
SLOT = "${{ run.slot }}"

[[step]]
id = "wait"
run = 'if [ ! -e ../resumed ]; then sleep 30; fi'

[[step]]
id = "mark"
needs = ["wait"]
run = 'echo "$BATON_RUN_ID $BATON_SLOT $SLOT" >> ../ledger'
"#;

/// (run, slot as RFC 3339) of every slot row that made a run, schedule `idx`.
fn runs_of(s: &Served, idx: u32) -> Vec<(String, String)> {
    let c = s.db();
    let mut st = c
        .prepare(
            "SELECT run_id, slot_at FROM schedule_slots WHERE idx = ?1 AND run_id IS NOT NULL ORDER BY slot_at",
        )
        .unwrap();
    st.query_map([idx], |r| {
        let at: i64 = r.get(1)?;
        Ok((r.get(0)?, slot_text(at)))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn slot_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn ledger(s: &Served) -> Vec<String> {
    std::fs::read_to_string(s.env.path().join("ledger"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_scheduled_run_knows_its_slot_across_kill_dash_nine_and_a_trigger_its_time() {
    let mut s = Served::new();
    s.write("ticks.toml", EVERY_SECOND);
    let (mut first, log) = s.start(&[]);
    wait_log(&log, "started run", 30);
    // Its first step waits: the serve dies under it; the next serve resumes the run.
    let (run, slot) = runs_of(&s, 1).remove(0);
    kill9(&mut first);
    std::fs::write(s.env.path().join("resumed"), "").unwrap();
    let (second, log2) = s.start(&[]);
    wait_log(&log2, &format!("resuming run {run}"), 30);
    let out = s
        .env
        .run(&["schedule", "trigger", "ticks", "--reason", "by hand"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    wait_until(
        "the resumed and the triggered run to mark",
        secs(60),
        || {
            let l = ledger(&s);
            let triggered = runs_of(&s, 0);
            let done = l.iter().any(|x| x.starts_with(&run))
                && triggered
                    .first()
                    .is_some_and(|(t, _)| l.iter().any(|x| x.starts_with(t.as_str())));
            if done { Ok(()) } else { Err(format!("{l:?}")) }
        },
    );
    term(second);
    // Each run says the slot it was recorded for, the same in $BATON_SLOT and in the
    // template: the resumed one too (its slot is on its record, not the serve's memory).
    let l = ledger(&s);
    let line = |id: &str| l.iter().find(|x| x.starts_with(id)).cloned().unwrap();
    assert_eq!(line(&run), format!("{run} {slot} {slot}"));
    assert!(!slot.contains('.'), "a slot is whole seconds: {slot}");
    let (trig, at) = runs_of(&s, 0).remove(0);
    assert_eq!(line(&trig), format!("{trig} {at} {at}"));
    // And every scheduled run that marked, its own slot.
    for (id, slot) in runs_of(&s, 1) {
        if let Some(x) = l.iter().find(|x| x.starts_with(&id)) {
            assert_eq!(x, &format!("{id} {slot} {slot}"));
        }
    }
    // The slot is on the run's record: its first event, on the audit chain.
    let shown = s.env.run(&["audit", &run, "--json"]);
    assert!(
        text(&shown.stdout).contains(&slot),
        "{}",
        text(&shown.stdout)
    );
}

const DAILY: &str = r#"name = "nightly"

[[schedule]]
cron = "0 2 * * *"

[[step]]
id = "load"
env = { DAY = "${{ run.slot }}" }
run = 'echo "begin $DAY" >> ../ledger; sleep 1; echo "end $BATON_SLOT" >> ../ledger'
"#;

#[test]
fn backfill_lists_first_then_starts_each_slot_once_one_after_the_other() {
    let mut s = Served::new();
    s.write("nightly.toml", DAILY);
    let (child, log) = s.start(&[]);
    wait_log(&log, "loaded", 30);
    // Four days ago to yesterday, as dates (midnight UTC, the schedule's zone): 3 slots
    // at 02:00 (the --from day's own, and the two after it; --to's midnight is before
    // its 02:00).
    let today = chrono::Utc::now().date_naive();
    let day = |n: u64| {
        (today - chrono::Days::new(n))
            .format("%Y-%m-%d")
            .to_string()
    };
    let (from, to) = (day(4), day(1));
    let expected: Vec<String> = (2..=4)
        .rev()
        .map(|n| format!("{}T02:00:00Z", day(n)))
        .collect();
    let args = |dry: bool| {
        let mut a = vec![
            "schedule",
            "backfill",
            "nightly",
            "--from",
            from.as_str(),
            "--to",
            to.as_str(),
            "--reason",
            "outage",
        ];
        if dry {
            a.push("--dry-run");
        }
        a.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let run = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        s.env.run(&refs)
    };

    // A dry run lists the slots and records nothing.
    let dry = run(args(true));
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let listed = text(&dry.stdout);
    for slot in &expected {
        assert!(
            listed.contains(&format!("nightly#1 {slot} starts")),
            "{listed}"
        );
    }
    assert_eq!(listed.lines().count(), 3, "{listed}");
    assert!(
        text(&dry.stderr).contains("nothing recorded"),
        "{}",
        text(&dry.stderr)
    );
    let backfilled = |s: &Served| -> i64 {
        s.db()
            .query_row(
                "SELECT COUNT(*) FROM audit WHERE action = 'schedule_backfilled'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(backfilled(&s), 0);
    assert!(runs_of(&s, 1).is_empty());

    // For real: listed, then each started once, oldest first, never two at once.
    let out = run(args(false));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), listed);
    wait_until("three backfilled runs to end", secs(90), || {
        let l = ledger(&s);
        if l.iter().filter(|x| x.starts_with("end ")).count() == 3 {
            Ok(())
        } else {
            Err(format!("{l:?}"))
        }
    });
    let l = ledger(&s);
    let want: Vec<String> = expected
        .iter()
        .flat_map(|d| [format!("begin {d}"), format!("end {d}")])
        .collect();
    assert_eq!(l, want);
    // Asked again: every slot decided already, nothing starts.
    let again = run(args(false));
    assert!(again.status.success(), "{}", text(&again.stderr));
    let said = text(&again.stdout);
    assert_eq!(
        said.matches("decided already: started run").count(),
        3,
        "{said}"
    );
    term(child);
    assert_eq!(ledger(&s).len(), 6);
    assert_eq!(runs_of(&s, 1).len(), 3);
    assert_eq!(backfilled(&s), 2);

    // Bad input: exit 2, saying what would be right.
    for (f, t, why) in [
        ("yesterday", to.as_str(), "RFC 3339"),
        (to.as_str(), from.as_str(), "before --from"),
        (from.as_str(), "2999-01-01", "in the future"),
    ] {
        let bad = s
            .env
            .run(&["schedule", "backfill", "nightly", "--from", f, "--to", t]);
        assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
        assert!(text(&bad.stderr).contains(why), "{}", text(&bad.stderr));
    }
    let verify = s.env.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify.stdout));
    // `baton audit` lists the decisions about the store, text and JSON.
    let listed = text(&s.env.run(&["audit"]).stdout);
    assert_eq!(listed.matches("schedule_backfilled").count(), 2, "{listed}");
    assert!(
        listed.contains("nightly#1") && listed.contains("outage"),
        "{listed}"
    );
    let json = s.env.run(&["audit", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let first = &rows.as_array().unwrap()[0];
    assert_eq!(first["action"], "schedule_backfilled");
    assert_eq!(first["details"]["slots"].as_array().map(Vec::len), Some(3));
}
