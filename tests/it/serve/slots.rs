//! Each slot fires exactly once, across `kill -9` and a restart.
use super::*;

const TICK: &str = r#"name = "tick"

[[schedule]]
cron = "* * * * * *"
catch_up = "all"
max_catch_up = 100
overlap = "queue"

[[step]]
id = "mark"
run = 'echo "$BATON_RUN_ID" >> ../ledger'
"#;

/// (slot, fate, run) of every slot row of the schedule, by slot.
fn slots(s: &Served) -> Vec<(i64, String, Option<String>)> {
    let c = s.db();
    let mut st = c
        .prepare("SELECT slot_at, fate, run_id FROM schedule_slots WHERE idx = 1 ORDER BY slot_at")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_per_second_schedule_fires_each_slot_once_across_kill_dash_nine() {
    let mut s = Served::new();
    s.write("tick.toml", TICK);
    let (mut first, log) = s.start(&[]);
    wait_log(&log, "started run", 30);
    // A second serve on the same store is refused, naming the first.
    let out = s
        .env
        .run(&["serve", "--workflows", s.dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("pid {} on ", first.id())), "{err}");
    wait_until("three slots started", secs(30), || slots(&s).len() >= 3);
    kill9(&mut first);
    let before = slots(&s).len();
    // Down for a few seconds: those slots are missed, and `catch_up = "all"` runs them.
    let down_from = chrono::Utc::now().timestamp_millis();
    wait_until("three seconds of downtime", secs(10), || {
        chrono::Utc::now().timestamp_millis() - down_from >= 3000
    });
    let (second, log2) = s.start(&[]);
    wait_log(&log2, "started run", 30);
    wait_until("more slots after the restart", secs(30), || {
        slots(&s).len() >= before + 6
    });
    term(second);
    let rows = slots(&s);
    // One row per slot second, none twice, no gap: the downtime was caught up.
    let times: Vec<i64> = rows.iter().map(|r| r.0).collect();
    for w in times.windows(2) {
        assert_eq!(w[1] - w[0], 1000, "slots {times:?}");
    }
    // Every started slot has its own run, and every run that ran belongs to a slot.
    let ledger = std::fs::read_to_string(s.env.path().join("ledger")).unwrap();
    let marked: Vec<&str> = ledger.lines().collect();
    let started: Vec<&str> = rows
        .iter()
        .filter_map(|(_, _, run)| run.as_deref())
        .collect();
    let mut unique = started.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), started.len(), "a run for two slots: {rows:?}");
    for run in &marked {
        assert!(started.contains(run), "run {run} belongs to no slot");
    }
}
