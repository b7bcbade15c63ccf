//! Issue 81: runs that start from events (`[[trigger]]`), each event once. A run of
//! `build` that ended starts `publish` with its output as a param; a file that settled
//! in a directory starts `ingest` with its path. Across a restart, an event that came
//! while no serve ran, `kill -9` at each point between the event's key and its run,
//! and serves started together, each event makes one run, and every recorded event
//! names its run.
use super::*;

const BUILD: &str = r#"name = "build"

[[step]]
id = "package"
run = 'echo "version=1.2.$BATON_PARAM_N" >> "$BATON_OUTPUT"'

[params.n]
type = "int"
default = "3"
"#;

const PUBLISH: &str = r#"name = "publish"

[params.version]
type = "string"
required = true
pattern = '1\.2\.[0-9]+'

[[trigger]]
on = "run_ended"
workflow = "build"
map = { version = "steps.package.outputs.version" }

[[step]]
id = "ship"
run = 'echo "$BATON_RUN_ID $BATON_PARAM_VERSION" >> ../published'
"#;

/// `ingest`, started by each `*.csv` that settles in `DIR`.
fn ingest(dir: &Path) -> String {
    format!(
        r#"name = "ingest"

[params.input]
type = "string"
required = true

[[trigger]]
on = "file"
dir = "{}"
glob = "*.csv"
map = {{ input = "file.path" }}

[[step]]
id = "load"
run = 'echo "$BATON_RUN_ID $BATON_PARAM_INPUT" >> ../ingested'
"#,
        dir.display()
    )
}

/// Every recorded event: (key, fate, run).
fn events(s: &Served) -> Vec<(String, String, Option<String>)> {
    let c = s.db();
    let mut st = c
        .prepare("SELECT event_key, fate, run_id FROM trigger_events ORDER BY recorded_at")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The lines a workflow's step appended to `name` under the env's directory.
fn lines(s: &Served, name: &str) -> Vec<String> {
    std::fs::read_to_string(s.env.path().join(name))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Every event made one run, no run is made for two events, no run but an event's
/// ran, and (`once`: no serve was killed while a step ran) each run's step ran once.
/// A serve killed while a step runs leaves the run interrupted: the next one resumes
/// it and runs the step again, as `baton resume` does, in the same run.
fn each_event_one_run(s: &Served, ledger: &str, once: bool) {
    let ev = events(s);
    let runs: Vec<&str> = ev.iter().filter_map(|e| e.2.as_deref()).collect();
    let mut unique = runs.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), runs.len(), "a run for two events: {ev:?}");
    let ran = lines(s, ledger);
    for run in &runs {
        let n = ran.iter().filter(|l| l.starts_with(run)).count();
        assert!(n >= 1, "run {run} never ran its step: {ran:?}");
        if once {
            assert_eq!(n, 1, "run {run} ran its step {n} times: {ran:?}");
        }
    }
    for line in &ran {
        let run = line.split(' ').next().unwrap_or_default();
        assert!(runs.contains(&run), "run {run} is no event's: {ev:?}");
    }
}

/// A file written elsewhere, dated a minute ago, renamed into `dir`: whole at once.
fn land(s: &Served, dir: &Path, name: &str) -> PathBuf {
    let tmp = s.env.path().join(format!(".{name}.part"));
    std::fs::write(&tmp, "a,b\n1,2\n").unwrap();
    let f = std::fs::File::options().write(true).open(&tmp).unwrap();
    f.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(60))
        .unwrap();
    drop(f);
    let p = dir.join(name);
    std::fs::rename(&tmp, &p).unwrap();
    p
}

/// A serve that kills itself at `point` of making an event's run (`BATON_TRIGGER_CRASH`).
fn start_crashing(s: &mut Served, point: &str) -> (Child, PathBuf) {
    s.starts += 1;
    let log = s.env.path().join(format!("serve.{}.log", s.starts));
    let err = std::fs::File::create(&log).unwrap();
    let child = s
        .env
        .cmd()
        .args(["serve", "--workflows", s.dir.to_str().unwrap()])
        .env("BATON_TRIGGER_CRASH", point)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(err))
        .spawn()
        .expect("spawn baton serve");
    s.pids.push(child.id());
    (child, log)
}

/// Wait until the serve says it loaded the file `name`.
fn wait_loaded(log: &Path, name: &str) {
    wait_until(&format!("{name} loaded"), secs(30), || {
        let t = std::fs::read_to_string(log).unwrap_or_default();
        t.lines()
            .any(|l| l.starts_with("serve: loaded") && l.ends_with(name))
    });
}

fn run_build(s: &Served, n: &str) {
    let build = s.dir.join("build.toml");
    let out = s.env.run(&[
        "run",
        build.to_str().unwrap(),
        "--headless",
        "--param",
        &format!("n={n}"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

fn show(s: &Served, run: &str) -> (String, serde_json::Value) {
    let out = s.env.run(&["show", run]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let j = s.env.run(&["show", run, "--json"]);
    assert!(j.status.success(), "{}", text(&j.stderr));
    (
        text(&out.stdout),
        serde_json::from_slice(&j.stdout).unwrap(),
    )
}

#[test]
fn a_run_that_ended_starts_the_triggered_workflow_once_with_its_output() {
    let mut s = Served::new();
    s.write("build.toml", BUILD);
    s.write("publish.toml", PUBLISH);
    let (child, log) = s.start(&[]);
    wait_loaded(&log, "build.toml");
    wait_loaded(&log, "publish.toml");
    run_build(&s, "7");
    wait_until("publish to run", secs(60), || {
        lines(&s, "published").len() == 1
    });
    let ev = events(&s);
    assert_eq!(ev.len(), 1, "{ev:?}");
    let (key, fate, run) = ev[0].clone();
    let source = key.strip_prefix("run:").unwrap().to_string();
    let run = run.unwrap();
    assert_eq!(fate, "started");
    assert_eq!(lines(&s, "published"), vec![format!("{run} 1.2.7")]);
    // Both ends of the chain, in `show` and `show --json`.
    let (said, json) = show(&s, &run);
    assert!(
        said.contains(&format!(
            "started by trigger publish#1: run {source} of build succeeded"
        )),
        "{said}"
    );
    assert_eq!(json["started_by"]["run"], run.as_str());
    assert_eq!(json["started_by"]["trigger"], "publish#1");
    let (said, json) = show(&s, &source);
    assert!(
        said.contains(&format!(
            "its end started run {run} (started) by trigger publish#1"
        )),
        "{said}"
    );
    assert_eq!(json["started"][0]["run"], run.as_str());
    // `baton triggers` lists the trigger, its event and what it started.
    let out = s.env.run(&["triggers"]);
    let listed = text(&out.stdout);
    assert!(
        listed.contains("publish#1  run_ended: a run of build ends succeeded"),
        "{listed}"
    );
    assert!(listed.contains(&format!("started run {run}")), "{listed}");
    // Restarted, the serve finds the event decided: no second run.
    term(child);
    let (child, log) = s.start(&[]);
    wait_log(&log, "loaded", 30);
    let beat = std::time::Instant::now();
    wait_until("two looks of the restarted serve", secs(10), || {
        beat.elapsed() >= std::time::Duration::from_secs(2)
    });
    term(child);
    assert_eq!(events(&s).len(), 1);
    each_event_one_run(&s, "published", true);
}

#[test]
fn a_run_that_ended_while_no_serve_ran_starts_its_run_at_the_next_start() {
    let mut s = Served::new();
    s.write("build.toml", BUILD);
    s.write("publish.toml", PUBLISH);
    let (child, log) = s.start(&[]);
    wait_loaded(&log, "publish.toml");
    term(child);
    run_build(&s, "4");
    // A value its `pattern` refuses: the event is recorded refused, with why.
    run_build(&s, "-1");
    let (child, _log) = s.start(&[]);
    wait_until("the two events decided", secs(60), || events(&s).len() == 2);
    wait_until("publish to run", secs(60), || {
        lines(&s, "published").len() == 1
    });
    term(child);
    assert_eq!(lines(&s, "published")[0].split(' ').nth(1), Some("1.2.4"));
    let fates: Vec<String> = events(&s).into_iter().map(|e| e.1).collect();
    assert_eq!(fates, ["started", "refused"]);
    let listed = text(&s.env.run(&["triggers"]).stdout);
    assert!(listed.contains("1.2.-1"), "{listed}");
    each_event_one_run(&s, "published", true);
}

#[test]
fn a_file_that_settled_starts_one_run_and_seen_again_none() {
    let mut s = Served::new();
    let inbox = s.env.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    // There before the trigger was first served: recorded `present`, no run.
    land(&s, &inbox, "old.csv");
    s.write("ingest.toml", &ingest(&inbox));
    let (child, log) = s.start(&[]);
    wait_log(&log, "loaded", 30);
    let a = land(&s, &inbox, "a.csv");
    std::fs::write(inbox.join("a.txt"), "not matched").unwrap();
    wait_until("ingest to run", secs(60), || {
        lines(&s, "ingested").len() == 1
    });
    assert!(lines(&s, "ingested")[0].ends_with(&a.display().to_string()));
    // a.csv's run ended before the serve stops: stopped while its step still ran (its
    // line written, its process not yet gone), the run would be left interrupted and
    // the next serve would resume it and run the step again, a second line of a.csv.
    let a_run = events(&s)[1].2.clone().unwrap();
    wait_until("a.csv's run to end", secs(60), || {
        let state = s.env.show(&a_run)["state"].as_str().map(str::to_string);
        if state.as_deref() == Some("succeeded") {
            Ok(())
        } else {
            Err(format!("{state:?}"))
        }
    });
    // Restarted: a.csv and old.csv are seen again, unchanged: no run. b.csv is new; it
    // may land before the restarted serve loaded the trigger.
    term(child);
    let (child, log2) = s.start(&[]);
    land(&s, &inbox, "b.csv");
    wait_until("b.csv ingested", secs(60), || {
        if lines(&s, "ingested").len() == 2 {
            return Ok(());
        }
        let said = |l: &Path| std::fs::read_to_string(l).unwrap_or_default();
        Err(format!(
            "ingested: {:?}\nfirst serve:\n{}\nrestarted:\n{}",
            lines(&s, "ingested"),
            said(&log),
            said(&log2)
        ))
    });
    term(child);
    let ev = events(&s);
    let fates: Vec<&str> = ev.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(fates, ["present", "started", "started"], "{ev:?}");
    assert!(ev[0].0.contains("old.csv"), "{ev:?}");
    each_event_one_run(&s, "ingested", true);
}

/// `kill -9` of the serve at each point of making an event's run (before it, inside
/// its transaction, after its commit and before the run is driven): the next serve
/// makes or drives the run, and the event has exactly one.
#[test]
fn kill_dash_nine_at_each_point_between_the_key_and_the_run_leaves_one_run() {
    for point in ["before", "in_transaction", "after_commit"] {
        let mut s = Served::new();
        let inbox = s.env.path().join("inbox");
        std::fs::create_dir_all(&inbox).unwrap();
        s.write("ingest.toml", &ingest(&inbox));
        let (mut crashing, log) = start_crashing(&mut s, point);
        wait_log(&log, "loaded", 30);
        land(&s, &inbox, "a.csv");
        let status = wait_until(&format!("the serve to die at {point}"), secs(60), || {
            crashing.try_wait().unwrap()
        });
        assert!(!status.success(), "{point}: {status:?}");
        let recorded = events(&s);
        match point {
            "after_commit" => assert_eq!(recorded.len(), 1, "{point}: {recorded:?}"),
            _ => assert!(recorded.is_empty(), "{point}: {recorded:?}"),
        }
        assert!(lines(&s, "ingested").is_empty(), "{point}");
        let (child, _log) = s.start(&[]);
        wait_until("the run to run once", secs(60), || {
            lines(&s, "ingested").len() == 1
        });
        term(child);
        assert_eq!(events(&s).len(), 1, "{point}");
        each_event_one_run(&s, "ingested", true);
    }
}

/// Serves started together on one store after the first was killed: one takes the
/// store, the others are refused; the events of the files that landed meanwhile make
/// one run each.
#[test]
fn serves_started_together_make_one_run_per_event() {
    let mut s = Served::new();
    let inbox = s.env.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    s.write("ingest.toml", &ingest(&inbox));
    let (mut first, log) = s.start(&[]);
    wait_log(&log, "loaded", 30);
    for i in 0..5 {
        land(&s, &inbox, &format!("f{i}.csv"));
    }
    wait_until("a first run", secs(60), || {
        !lines(&s, "ingested").is_empty()
    });
    kill9(&mut first);
    for i in 5..10 {
        land(&s, &inbox, &format!("f{i}.csv"));
    }
    let serves: Vec<_> = (0..3).map(|_| s.start(&[])).collect();
    wait_until("ten runs", secs(120), || lines(&s, "ingested").len() >= 10);
    let beat = std::time::Instant::now();
    wait_until("a few more looks", secs(10), || {
        beat.elapsed() >= std::time::Duration::from_secs(2)
    });
    for (c, _) in serves {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(c.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        wait_child(c, 60);
    }
    assert_eq!(events(&s).len(), 10, "{:?}", events(&s));
    each_event_one_run(&s, "ingested", false);
}

#[test]
fn a_cycle_of_triggers_is_refused_when_the_file_closing_it_loads() {
    let mut s = Served::new();
    let chain = |name: &str, on: &str| {
        format!(
            "name = \"{name}\"\n[[trigger]]\non = \"run_ended\"\nworkflow = \"{on}\"\n[[step]]\nid = \"s\"\nrun = \"true\"\n"
        )
    };
    s.write("a.toml", &chain("a", "b"));
    s.write("b.toml", &chain("b", "a"));
    let (child, log) = s.start(&[]);
    let said = wait_log(&log, "close a cycle", 30);
    assert!(
        said.contains("a → b → a") || said.contains("b → a → b"),
        "{said}"
    );
    term(child);
    let out = s.env.run(&["triggers", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed:#}");
}

#[test]
fn a_paused_trigger_records_its_events_refused_and_resumed_it_starts_runs() {
    let mut s = Served::new();
    s.write("build.toml", BUILD);
    s.write("publish.toml", PUBLISH);
    let (child, log) = s.start(&[]);
    wait_loaded(&log, "publish.toml");
    let out = s
        .env
        .run(&["trigger", "pause", "publish", "--reason", "registry down"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "publish#1 paused");
    run_build(&s, "1");
    wait_until("the event refused", secs(60), || {
        events(&s).iter().any(|e| e.1 == "refused")
    });
    let out = s
        .env
        .run(&["trigger", "resume", "publish", "--reason", "back"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    run_build(&s, "2");
    wait_until("publish to run", secs(60), || {
        lines(&s, "published").len() == 1
    });
    term(child);
    let listed = text(&s.env.run(&["triggers"]).stdout);
    assert!(
        listed.contains("refused: the trigger is paused"),
        "{listed}"
    );
    // Both decisions are on the audit chain, under the OS account.
    let actions: Vec<String> = s
        .db()
        .prepare("SELECT action FROM audit WHERE action LIKE 'trigger_%' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(actions, ["trigger_paused", "trigger_resumed"]);
    each_event_one_run(&s, "published", true);
}

/// A chain of `run_ended` triggers w1 ← w0, w2 ← w1, … w9 ← w8: each run made one
/// trigger deeper, up to `MAX_TRIGGER_DEPTH` (8); the ninth event is refused on record.
#[test]
fn a_chain_of_triggers_stops_past_the_depth_limit() {
    let mut s = Served::new();
    s.write(
        "w0.toml",
        "name = \"w0\"\n[[step]]\nid = \"s\"\nrun = \"true\"\n",
    );
    for i in 1..=9 {
        s.write(
            &format!("w{i}.toml"),
            &format!(
                "name = \"w{i}\"\n[[trigger]]\non = \"run_ended\"\nworkflow = \"w{}\"\n[[step]]\nid = \"s\"\nrun = 'echo \"$BATON_RUN_ID\" >> ../chain'\n",
                i - 1
            ),
        );
    }
    let (child, log) = s.start(&[]);
    for i in 0..=9 {
        wait_loaded(&log, &format!("w{i}.toml"));
    }
    let w0 = s.dir.join("w0.toml");
    let out = s.env.run(&["run", w0.to_str().unwrap(), "--headless"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    wait_until("nine events decided", secs(120), || events(&s).len() == 9);
    term(child);
    let ev = events(&s);
    let fates: Vec<&str> = ev.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(fates[..8], ["started"; 8], "{ev:?}");
    assert_eq!(fates[8], "refused", "{ev:?}");
    let why: String = s
        .db()
        .query_row(
            "SELECT why FROM trigger_events WHERE fate = 'refused'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        why.starts_with("9 triggers in a row led here, more than 8"),
        "{why}"
    );
    let depths: Vec<u32> = s
        .db()
        .prepare("SELECT depth FROM trigger_events ORDER BY recorded_at")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(depths, (1..=9).collect::<Vec<u32>>());
    assert_eq!(lines(&s, "chain").len(), 8);
    each_event_one_run(&s, "chain", true);
}

/// A symbolic link that lands in a file trigger's directory is no event (a file
/// elsewhere would become the run's input); a file whose name holds a newline is
/// named on one line of the serve's log, not as a second line it forged.
#[test]
fn a_symlink_is_no_file_event_and_a_files_name_forges_no_log_line() {
    let mut s = Served::new();
    let inbox = s.env.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    s.write("ingest.toml", &ingest(&inbox));
    let (child, log) = s.start(&[]);
    wait_log(&log, "loaded", 30);
    let secret = s.env.path().join("elsewhere.csv");
    std::fs::write(&secret, "not the writer's\n").unwrap();
    std::os::unix::fs::symlink(&secret, inbox.join("link.csv")).unwrap();
    let forged = "x\nserve: trigger forged.csv";
    land(&s, &inbox, forged);
    wait_until("the planted file decided", secs(60), || {
        !events(&s).is_empty()
    });
    // The symlink was there all along: a look after the file's still makes none.
    let beat = std::time::Instant::now();
    wait_until("two more looks", secs(10), || {
        beat.elapsed() >= std::time::Duration::from_secs(2)
    });
    let said = text(&term(child).stderr) + &std::fs::read_to_string(&log).unwrap();
    let ev = events(&s);
    assert_eq!(ev.len(), 1, "only the regular file is an event: {ev:?}");
    assert!(!ev[0].0.contains("link.csv"), "{ev:?}");
    let ran = lines(&s, "ingested");
    assert!(!ran.iter().any(|l| l.contains("elsewhere")), "{ran:?}");
    assert!(
        !said.lines().any(|l| l.starts_with("serve: trigger forged")),
        "a file's name forged a log line: {said}"
    );
    assert!(said.contains("forged.csv"), "{said}");
}
