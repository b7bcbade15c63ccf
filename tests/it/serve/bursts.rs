//! Issue 81 point 3: bursts on the user's terms. A trigger that coalesces and debounces
//! holds its events on record: a serve killed while they wait loses none, and the next
//! one makes one run naming each. A burst under a concurrency group makes runs that
//! wait their turn: never two at once.
use super::*;

/// A file written elsewhere, dated a minute ago (whole at once), renamed into `dir`.
fn land(s: &Served, dir: &Path, name: &str) -> PathBuf {
    let tmp = s.env.path().join(format!(".{name}.part"));
    std::fs::write(&tmp, "a,b\n").unwrap();
    let f = std::fs::File::options().write(true).open(&tmp).unwrap();
    f.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(60))
        .unwrap();
    drop(f);
    let p = dir.join(name);
    std::fs::rename(&tmp, &p).unwrap();
    p
}

/// `ingest`, started by the `*.csv` files that settle in `inbox`, with `trigger`'s
/// extra lines and `step`'s script.
fn ingest(inbox: &Path, trigger: &str, head: &str, step: &str) -> String {
    format!(
        "name = \"ingest\"\n{head}\n[[trigger]]\non = \"file\"\ndir = \"{}\"\nglob = \"*.csv\"\n{trigger}\n[[step]]\nid = \"load\"\nrun = '{step}'\n",
        inbox.display()
    )
}

/// Every recorded event: (key, fate, run).
fn events(s: &Served) -> Vec<(String, String, Option<String>)> {
    let c = s.db();
    let mut st = c
        .prepare("SELECT event_key, fate, run_id FROM trigger_events ORDER BY rowid")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn lines(s: &Served, name: &str) -> Vec<String> {
    std::fs::read_to_string(s.env.path().join(name))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_coalesced_burst_pending_through_a_kill_dash_nine_makes_one_run_naming_each_file() {
    let mut s = Served::new();
    let inbox = s.env.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let text = ingest(
        &inbox,
        "coalesce = true\ndebounce = \"2s\"\nmap = { inputs = \"file.path\" }",
        "[params.inputs]\ntype = \"list\"\nrequired = true",
        "echo \"$BATON_RUN_ID $BATON_PARAM_INPUTS\" >> ../ingested",
    );
    // Old enough that a serve starting later loads it at once.
    s.write_dated(
        "ingest.toml",
        &text,
        std::time::SystemTime::now() - std::time::Duration::from_secs(60),
    );
    let (mut child, log) = s.start(&[]);
    wait_log(&log, "loaded", 30);
    wait_until("the trigger served", secs(30), || {
        s.db()
            .query_row("SELECT count(*) FROM triggers", [], |r| r.get::<_, i64>(0))
            .unwrap_or(0)
            == 1
    });
    let paths: Vec<PathBuf> = ["a.csv", "b.csv", "c.csv"]
        .iter()
        .map(|n| land(&s, &inbox, n))
        .collect();
    wait_until("three events pending", secs(30), || {
        let ev = events(&s);
        ev.len() == 3 && ev.iter().all(|e| e.1 == "pending")
    });
    // Killed while they wait for quiet: nothing fired, nothing lost.
    kill9(&mut child);
    assert!(lines(&s, "ingested").is_empty());
    assert!(events(&s).iter().all(|e| e.1 == "pending" && e.2.is_none()));
    let (child, _log) = s.start(&[]);
    wait_until("the burst's run", secs(60), || {
        lines(&s, "ingested").len() == 1
    });
    let ev = events(&s);
    assert_eq!(ev.len(), 3, "{ev:?}");
    let run = ev[0].2.clone().expect("the burst made a run");
    assert!(
        ev.iter()
            .all(|e| e.1 == "started" && e.2.as_ref() == Some(&run)),
        "each event names the one run: {ev:?}"
    );
    let line = &lines(&s, "ingested")[0];
    assert!(line.starts_with(&run), "{line}");
    for p in &paths {
        assert!(line.contains(p.to_str().unwrap()), "{line}");
    }
    // `show --json` and `runs --json` name every event it took.
    let shown = s.env.run(&["show", &run, "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let took = shown["started_by"]["events"].as_array().unwrap();
    assert_eq!(took.len(), 3, "{shown}");
    let listed = s.env.run(&["runs", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["started_by"]["run"], run.as_str(), "{listed}");
    assert_eq!(listed[0]["started_by"]["trigger"], "ingest#1", "{listed}");
    term(child);
    assert_eq!(
        lines(&s, "ingested").len(),
        1,
        "a pending event fired twice"
    );
}

#[test]
fn a_burst_under_a_concurrency_group_makes_one_run_each_and_never_two_at_once() {
    let mut s = Served::new();
    let inbox = s.env.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let text = ingest(
        &inbox,
        "debounce = \"1s\"\nmap = { input = \"file.path\" }",
        "concurrency = { group = \"ingest\", on_conflict = \"queue\", max_pending = 5 }\n[params.input]\ntype = \"string\"\nrequired = true",
        "echo \"start $BATON_RUN_ID\" >> ../spans; sleep 0.2; echo \"end $BATON_RUN_ID\" >> ../spans",
    );
    s.write_dated(
        "ingest.toml",
        &text,
        std::time::SystemTime::now() - std::time::Duration::from_secs(60),
    );
    let (child, log) = s.start(&[]);
    wait_log(&log, "loaded", 30);
    wait_until("the trigger served", secs(30), || {
        s.db()
            .query_row("SELECT count(*) FROM triggers", [], |r| r.get::<_, i64>(0))
            .unwrap_or(0)
            == 1
    });
    for n in ["a.csv", "b.csv", "c.csv"] {
        land(&s, &inbox, n);
    }
    wait_until("three runs ended", secs(60), || {
        lines(&s, "spans")
            .iter()
            .filter(|l| l.starts_with("end"))
            .count()
            == 3
    });
    term(child);
    let ev = events(&s);
    let mut runs: Vec<String> = ev.iter().filter_map(|e| e.2.clone()).collect();
    runs.sort();
    runs.dedup();
    assert_eq!(runs.len(), 3, "one run per event: {ev:?}");
    // Each run's start follows the previous run's end.
    let spans = lines(&s, "spans");
    for pair in spans.chunks(2) {
        let (start, end) = (&pair[0], &pair[1]);
        assert_eq!(
            start.strip_prefix("start "),
            end.strip_prefix("end "),
            "two runs overlapped: {spans:?}"
        );
    }
}
