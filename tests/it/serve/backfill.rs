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
    let w = Window::past_days();
    let listed = a_dry_run_lists_the_slots_and_records_nothing(&s, &w);
    each_slot_starts_once_oldest_first_never_two_at_once(&s, &w, &listed);
    asked_again_every_slot_is_decided_already(&s, &w);
    term(child);
    assert_eq!(ledger(&s).len(), 6);
    assert_eq!(runs_of(&s, 1).len(), 3);
    assert_eq!(backfilled(&s), 2);
    bad_dates_exit_2_saying_what_would_be_right(&s, &w);
    the_audit_lists_the_backfills(&s);
}

/// Four days ago to yesterday, as dates (midnight UTC, the schedule's zone), and the 3
/// slots at 02:00 that holds, oldest first (the --from day's own, and the two after
/// it; --to's midnight is before its 02:00).
struct Window {
    from: String,
    to: String,
    expected: Vec<String>,
}

impl Window {
    fn past_days() -> Window {
        let today = chrono::Utc::now().date_naive();
        let day = |n: u64| {
            (today - chrono::Days::new(n))
                .format("%Y-%m-%d")
                .to_string()
        };
        Window {
            from: day(4),
            to: day(1),
            expected: (2..=4)
                .rev()
                .map(|n| format!("{}T02:00:00Z", day(n)))
                .collect(),
        }
    }
}

/// `baton schedule backfill nightly` over the window, `--dry-run` if `dry`.
fn backfill(s: &Served, w: &Window, dry: bool) -> std::process::Output {
    let mut a = vec![
        "schedule",
        "backfill",
        "nightly",
        "--from",
        w.from.as_str(),
        "--to",
        w.to.as_str(),
        "--reason",
        "outage",
    ];
    if dry {
        a.push("--dry-run");
    }
    s.env.run(&a)
}

fn backfilled(s: &Served) -> i64 {
    s.db()
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE action = 'schedule_backfilled'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

/// A dry run lists the slots and records nothing; returns what it listed.
fn a_dry_run_lists_the_slots_and_records_nothing(s: &Served, w: &Window) -> String {
    let dry = backfill(s, w, true);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let listed = text(&dry.stdout);
    for slot in &w.expected {
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
    assert_eq!(backfilled(s), 0);
    assert!(runs_of(s, 1).is_empty());
    listed
}

/// For real: listed, then each started once, oldest first, never two at once.
fn each_slot_starts_once_oldest_first_never_two_at_once(s: &Served, w: &Window, listed: &str) {
    let out = backfill(s, w, false);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), listed);
    wait_until("three backfilled runs to end", secs(90), || {
        let l = ledger(s);
        if l.iter().filter(|x| x.starts_with("end ")).count() == 3 {
            Ok(())
        } else {
            Err(format!("{l:?}"))
        }
    });
    let l = ledger(s);
    let want: Vec<String> = w
        .expected
        .iter()
        .flat_map(|d| [format!("begin {d}"), format!("end {d}")])
        .collect();
    assert_eq!(l, want);
}

/// Asked again: every slot decided already, nothing starts.
fn asked_again_every_slot_is_decided_already(s: &Served, w: &Window) {
    let again = backfill(s, w, false);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let said = text(&again.stdout);
    assert_eq!(
        said.matches("decided already: started run").count(),
        3,
        "{said}"
    );
}

/// Bad input: exit 2, saying what would be right; the audit chain still verifies.
fn bad_dates_exit_2_saying_what_would_be_right(s: &Served, w: &Window) {
    let (from, to) = (w.from.as_str(), w.to.as_str());
    for (f, t, why) in [
        ("yesterday", to, "RFC 3339"),
        (to, from, "before --from"),
        (from, "2999-01-01", "in the future"),
    ] {
        let bad = s
            .env
            .run(&["schedule", "backfill", "nightly", "--from", f, "--to", t]);
        assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
        assert!(text(&bad.stderr).contains(why), "{}", text(&bad.stderr));
    }
    let verify = s.env.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify.stdout));
}

/// `baton audit` lists the decisions about the store, text and JSON.
fn the_audit_lists_the_backfills(s: &Served) {
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
