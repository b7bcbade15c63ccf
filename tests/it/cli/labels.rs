//! Issue 76 point 3 through the real binary: labels on runs, given at the start
//! (`baton run --label`), set by a step (`$BATON_LABELS`) or by hand (`baton label`,
//! on record under the OS account), each a `run_labelled` event; shown by `baton runs`
//! (or the params that tell runs of one workflow apart), filtered by `--label`, in
//! `show --json`; keys and values checked (exit 2, nothing recorded). A label a step
//! set survives a kill -9 of its engine and is not set twice by the resume. A second
//! file naming a workflow the store runs from another file is refused (exit 2).
use crate::helpers::*;

const TRAIN: &str = r#"name = "release-train"
[params]
ticket = { default = "none" }
token = { default = "", secret = true }
[[step]]
id = "a"
run = "true"
"#;

fn me() -> String {
    let out = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    text(&out.stdout).trim().to_string()
}

fn run_to_end(env: &Env, args: &[&str]) -> String {
    let out = env.run(args);
    ok(&out);
    run_id_of(&text(&out.stdout))
}

#[test]
fn labels_given_at_start_and_by_hand_are_listed_filtered_and_on_record() {
    let env = Env::new();
    let wf = env.workflow("train.toml", TRAIN);
    let w = wf.to_str().unwrap();
    let mut ids = Vec::new();
    for t in ["OPS-1", "OPS-2", "OPS-3"] {
        let p = format!("ticket={t}");
        ids.push(run_to_end(
            &env,
            &[
                "run",
                w,
                "--headless",
                "--param",
                &p,
                "--param",
                "token=hunter2",
            ],
        ));
    }
    // No labels: the params that differ tell the three runs apart; a secret never shows.
    let table = text(&env.run(&["runs"]).stdout);
    assert!(table.contains("LABELS"), "{table}");
    for t in ["ticket=OPS-1", "ticket=OPS-2", "ticket=OPS-3"] {
        assert_eq!(table.matches(t).count(), 1, "{table}");
    }
    assert!(!table.contains("token"), "{table}");

    let labelled = run_to_end(
        &env,
        &[
            "run",
            w,
            "--headless",
            "--label",
            "team=infra",
            "--label",
            "ticket=OPS-4",
        ],
    );
    let show = env.show(&labelled);
    assert_eq!(show["labels"]["team"], "infra", "{show:#}");
    assert_eq!(show["labels"]["ticket"], "OPS-4");
    let only = env.run(&["runs", "--json", "--label", "team=infra"]);
    let listed: serde_json::Value = serde_json::from_slice(&only.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed:#}");
    assert_eq!(listed[0]["id"], labelled.as_str());
    assert_eq!(listed[0]["labels"]["team"], "infra");

    // By hand, on a run that ended: set one, remove one, as the OS account.
    let plain = env.workflow(
        "plain.toml",
        "name = \"plain\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    let by_hand = run_to_end(&env, &["run", plain.to_str().unwrap(), "--headless"]);
    ok(&env.run(&["label", &by_hand, "team=payments", "ticket=OPS-9"]));
    ok(&env.run(&["label", &by_hand, "ticket-"]));
    let show = env.show(&by_hand);
    assert_eq!(
        show["labels"],
        serde_json::json!({"team": "payments"}),
        "{show:#}"
    );
    let rows = env.audit_rows(&by_hand, "labelled");
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert!(
        rows.iter().all(|r| r["actor"] == me().as_str()),
        "{rows:#?}"
    );
    let by_key = env.run(&["runs", "--label", "team"]);
    let t = text(&by_key.stdout);
    assert!(
        t.contains("team=payments") && t.contains("team=infra"),
        "{t}"
    );
    assert_eq!(t.lines().count(), 3, "{t}");
}

#[test]
fn a_bad_label_is_refused_with_exit_2_and_nothing_recorded() {
    let env = Env::new();
    let wf = env.workflow("train.toml", TRAIN);
    let w = wf.to_str().unwrap();
    for (label, says) in [
        ("bad key=1", "label key `bad key`"),
        ("-x=1", "starting with a letter or a digit"),
        ("k=a\u{1b}[2J", "U+001B"),
        ("noequals", "expected KEY=VALUE"),
    ] {
        let flag = format!("--label={label}");
        let out = env.run(&["run", w, "--headless", &flag]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{label:?}: {}",
            text(&out.stdout)
        );
        assert!(
            text(&out.stderr).contains(says),
            "{label:?}: {}",
            text(&out.stderr)
        );
    }
    let long = format!("k={}", "v".repeat(201));
    let out = env.run(&["run", w, "--headless", "--label", &long]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("over 200"),
        "{}",
        text(&out.stderr)
    );
    assert!(!env.db().exists(), "a refused start records nothing");

    let id = run_to_end(&env, &["run", w, "--headless"]);
    let out = env.run(&["label", &id, "k=\u{202e}x"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let out = env.run(&["label", &id, "bad/-/key-"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "`bad/-/key` is a key: {}",
        text(&out.stderr)
    );
    let out = env.run(&["label", &id, "@-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(env.show(&id)["labels"].is_null(), "{:#}", env.show(&id));
}

const STEP_LABELS: &str = r#"name = "tagged"
[[step]]
id = "a"
run = "printf 'ticket=OPS-137\nbad line\ncommit=abc123\n' >> \"$BATON_LABELS\""
[[step]]
id = "b"
needs = ["a"]
run = "test -f again || { touch again; sleep 1000; }"
"#;

#[test]
fn a_label_a_step_wrote_survives_a_kill_9_and_the_resume_sets_it_once() {
    let env = Env::new();
    let wf = env.workflow("tagged.toml", STEP_LABELS);
    let (mut engine, id) = env.spawn_until(&wf, "b", "running");
    let show = env.show(&id);
    assert_eq!(show["labels"]["ticket"], "OPS-137", "{show:#}");
    assert_eq!(show["labels"]["commit"], "abc123");
    let _ = engine.kill(); // SIGKILL: nothing more is recorded by this engine
    let _ = engine.wait();
    let after = env.show(&id);
    assert_eq!(after["labels"], show["labels"], "{after:#}");
    let resumed = env.spawn(&["resume", &id, "--headless"]);
    let out = wait_child(resumed, 60);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let done = env.show(&id);
    assert_eq!(done["state"], "succeeded", "{done:#}");
    assert_eq!(done["labels"], show["labels"]);
    let rows = env.audit_rows(&id, "labelled");
    assert_eq!(rows.len(), 1, "set once, by the step: {rows:#?}");
    assert_eq!(rows[0]["step"], "a");
    let listed = text(&env.run(&["runs", "--label", "ticket=OPS-137"]).stdout);
    assert!(listed.contains(&id), "{listed}");
    // The line the labels did not take is said (as an output line not taken is).
    let said = env.run(&["show", &id]);
    let all = format!(
        "{}{}",
        text(&said.stdout),
        serde_json::to_string(&done).unwrap()
    );
    assert!(all.contains("$BATON_LABELS line 2"), "{all}");
}

#[test]
fn a_second_file_naming_a_workflow_of_the_store_is_refused_naming_both() {
    let env = Env::new();
    for d in ["one", "two"] {
        std::fs::create_dir_all(env.path().join(d)).unwrap();
    }
    let wf = "name = \"same\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n";
    let first = env.workflow("one/w.toml", wf);
    let second = env.workflow("two/w.toml", wf);
    run_to_end(&env, &["run", first.to_str().unwrap(), "--headless"]);
    let out = env.run(&["run", second.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("one/w.toml") && err.contains("two/w.toml"),
        "{err}"
    );
    assert!(err.contains("another `name"), "{err}");
    assert_eq!(env.runs().as_array().map(Vec::len), Some(1));
    // The first file no longer names it: the name is free.
    env.workflow("one/w.toml", &wf.replace("\"same\"", "\"other\""));
    run_to_end(&env, &["run", second.to_str().unwrap(), "--headless"]);
}

const HELD: &str = r#"name = "held"
[params]
token = { default = "", secret = true }
[[step]]
id = "a"
run = "true"
[[step]]
id = "b"
needs = ["a"]
run = "test -f again || { touch again; sleep 1000; }"
"#;

/// A label change is a record, not driving: on a run that ended, or one whose engine
/// was killed, `baton label` records it without the run's secret params and without
/// taking the run over (the interrupted run stays interrupted, its step untouched);
/// the resume, given the secret, reads the label back and sets nothing twice.
#[test]
fn a_label_on_a_run_no_engine_drives_needs_no_secret_and_no_takeover() {
    let env = Env::new();
    let wf = env.workflow("train.toml", TRAIN);
    let ended = run_to_end(
        &env,
        &[
            "run",
            wf.to_str().unwrap(),
            "--headless",
            "--param",
            "token=hunter2",
        ],
    );
    let out = env.run(&["label", &ended, "team=infra"]);
    ok(&out);
    assert!(
        text(&out.stdout).contains("labels now: team=infra"),
        "{}",
        text(&out.stdout)
    );
    let show = env.show(&ended);
    assert_eq!(show["labels"]["team"], "infra", "{show:#}");
    assert_eq!(show["state"], "succeeded");
    let rows = env.audit_rows(&ended, "labelled");
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["actor"], me().as_str());
    // A refused change records nothing and says why (exit 2).
    let out = env.run(&["label", &ended, "x=1", "nokey-"]);
    ok(&out);
    let too_many: Vec<String> = (0..40).map(|i| format!("k{i}=v")).collect();
    let mut args = vec!["label", ended.as_str()];
    args.extend(too_many.iter().map(String::as_str));
    let out = env.run(&args);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("at most"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(env.audit_rows(&ended, "labelled").len(), 2);

    let env = Env::new();
    let held = env.workflow("held.toml", HELD);
    let mut engine = env.spawn(&[
        "run",
        held.to_str().unwrap(),
        "--headless",
        "--param",
        "token=hunter2",
    ]);
    let id = env.wait_run_id();
    env.wait_step(&id, "b", "running", 20);
    let _ = engine.kill();
    let _ = engine.wait();
    let out = env.run(&["label", &id, "ticket=OPS-9"]);
    ok(&out);
    let show = env.show(&id);
    assert_eq!(show["labels"]["ticket"], "OPS-9", "{show:#}");
    assert_eq!(show["state"], "interrupted", "not taken over: {show:#}");
    let b = show["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "b")
        .unwrap();
    assert_eq!(b["attempts"], 1, "{b:#}");
    let resumed = env.spawn(&["resume", &id, "--headless", "--param", "token=hunter2"]);
    let out = wait_child(resumed, 60);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let done = env.show(&id);
    assert_eq!(done["state"], "succeeded", "{done:#}");
    assert_eq!(done["labels"], serde_json::json!({"ticket": "OPS-9"}));
    assert_eq!(env.audit_rows(&id, "labelled").len(), 1);
}
