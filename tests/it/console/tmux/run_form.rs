//! Issue 58 point 6 on the real binary: `n` on a schedule in `baton tui` opens the form
//! of its workflow's params; a value against its pattern is refused under its field as
//! typed; fixed, Enter starts the run exactly as `baton run FILE --param` would, this
//! console drives it and shows it, and `baton audit` says the OS account started it.
//! The form's last field gives the run its labels (issue 76 point 3).
//! `:run FILE` of a file that does not load shows its load error. And point 8's key:
//! `D` on two runs in the Runs tab shows what changed between them.
use super::*;
use crate::serve::{Served, term, wait_log};

/// Served for its schedule (which fires once a year: every run here is the console's),
/// whose version the form starts from.
const DEPLOY: &str = r#"name = "deploy"

[[schedule]]
cron = "0 0 1 1 *"
params = { version = "1.0.0" }

[params.version]
type = "string"
required = true
pattern = '^\d+\.\d+\.\d+$'
description = "the release to ship"

[params.target]
type = "enum"
values = ["staging", "production"]
default = "staging"

[[step]]
id = "ship"
run = "echo shipping $VERSION to $TARGET"
env = { VERSION = "${{ params.version }}", TARGET = "${{ params.target }}" }
"#;

/// The OS account the tests run as: who the console acts as.
fn me() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_default()
}

/// `baton tui` on the served store, in tmux.
fn console(s: &Served) -> Tmux {
    Tmux::tui(&s.env, 120, 40)
}

#[test]
fn n_on_a_schedule_starts_a_run_from_its_form_on_record_as_mine() {
    let mut s = Served::new();
    let (serve, log) = s.start(&[]);
    wait_log(&log, "serve:", 30);
    wait_until("the store", secs(30), || s.env.db().exists());
    s.write("deploy.toml", DEPLOY);
    wait_until("the schedule served", secs(30), || {
        s.schedules().as_array().is_some_and(|a| !a.is_empty())
    });
    let tmux = console(&s);
    tmux.wait_for("the console", |sc| sc.contains("7 Schedules"), 20);
    tmux.keys(&["7"]);
    tmux.wait_for("the schedule", |sc| sc.contains("deploy#1"), 20);
    tmux.keys(&["n"]);
    tmux.wait_for(
        "the form, the schedule's version and the default target filled in",
        |sc| {
            sc.contains("New run of deploy") && sc.contains("[1.0.0") && sc.contains("‹ staging ›")
        },
        20,
    );
    // Against the pattern: said under the field as it is typed, in `baton run`'s words.
    tmux.keys(&["C-u"]);
    tmux.literal("v1.2");
    tmux.wait_for(
        "the error under the field",
        |sc| sc.contains(r#"parameter `version` is "v1.2", which does not match the"#),
        10,
    );
    tmux.keys(&["C-u"]);
    tmux.literal("1.2.3");
    tmux.wait_for(
        "the error gone",
        |sc| sc.contains("[1.2.3") && !sc.contains("does not match"),
        10,
    );
    // The last field: the run's labels, `KEY=VALUE` words.
    tmux.keys(&["Tab", "Right", "Tab"]);
    tmux.literal("ticket=OPS-7 team=infra");
    tmux.wait_for(
        "the labels typed",
        |sc| sc.contains("ticket=OPS-7 team=infra"),
        10,
    );
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for(
        "the new run open on its DAG",
        |sc| sc.contains("started run") && sc.contains("ship") && !sc.contains("New run of"),
        30,
    );
    let runs = s.env.runs();
    let run = runs[0]["id"].as_str().unwrap_or_default().to_string();
    assert!(screen.contains(&run[..8]), "{screen}");
    wait_until("the run to succeed", secs(30), || {
        s.env.show(&run)["state"] == "succeeded"
    });
    let logs = s.env.run(&["logs", &run, "ship"]);
    assert!(text(&logs.stdout).contains("shipping 1.2.3 to production"));
    // On record as the OS account's start.
    let audit = s.env.run(&["audit", &run, "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap_or_default();
    let started = rows
        .as_array()
        .and_then(|r| r.iter().find(|r| r["action"] == "run_started"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(started["actor"], me(), "{rows}");
    let params = &started["details"]["params"];
    assert_eq!(params["version"], "1.2.3", "{rows}");
    assert_eq!(params["target"], "production", "{rows}");
    // The labels typed are the run's, on record as given at its start.
    let show = s.env.show(&run);
    assert_eq!(
        show["labels"],
        serde_json::json!({"ticket": "OPS-7", "team": "infra"}),
        "{show:#}"
    );
    assert!(params.get("+ticket").is_none(), "{rows}");
    tmux.keys(&["q"]);
    tmux.wait_for("the console to end", |sc| sc.contains("TUI-EXIT=0"), 20);
    term(serve);
}

/// `:run FILE` of a file that does not load: its load error, held on screen; no run.
#[test]
fn run_file_that_does_not_load_shows_its_error() {
    let env = Env::new();
    let first = env.workflow(
        "ok.toml",
        "name = \"ok\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    let out = env.run(&["run", first.to_str().unwrap_or_default(), "--headless"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    env.workflow("bad.toml", "name = \"bad\"\n[[stpe]]\nid = \"a\"\n");
    let tmux = Tmux::tui(&env, 120, 40);
    tmux.wait_for("the console", |sc| sc.contains("5 Runs"), 20);
    tmux.keys(&[":"]);
    tmux.literal("run bad.toml");
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the load error",
        |sc| sc.contains("bad.toml does not load") && sc.contains("bad.toml:2:"),
        20,
    );
    tmux.keys(&["Escape"]);
    tmux.wait_for("the error closed", |sc| !sc.contains("does not load"), 10);
    assert_eq!(env.runs().as_array().map(Vec::len), Some(1));
    tmux.keys(&["q"]);
    tmux.wait_for("the console to end", |sc| sc.contains("TUI-EXIT=0"), 20);
}

/// Point 8: `D` on a run, `D` on another: what changed between their workflow texts and
/// params, as `baton diff` prints it, in an overlay.
#[test]
fn d_on_two_runs_shows_what_changed() {
    let env = Env::new();
    let wf = "name = \"nightly\"\n[params.rows]\ndefault = \"10\"\n[[step]]\nid = \"load\"\nrun = \"true\"\ntimeout = \"10m\"\n";
    let file = env.workflow("nightly.toml", wf);
    let path = file.to_str().unwrap_or_default();
    let out = env.run(&["run", path, "--headless"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    env.workflow("nightly.toml", &wf.replace("10m", "20m"));
    let out = env.run(&["run", path, "--headless", "--param", "rows=500"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let tmux = Tmux::tui(&env, 120, 40);
    tmux.wait_for("the console", |sc| sc.contains("5 Runs"), 20);
    tmux.keys(&["5"]);
    tmux.wait_for("the runs", |sc| sc.contains("Runs · 2 in the store"), 20);
    // Newest first: mark the older run, then D on the newer.
    tmux.keys(&["Down", "D"]);
    tmux.wait_for("the older run marked", |sc| sc.contains("◆"), 10);
    tmux.keys(&["Up", "D"]);
    let screen = tmux.wait_for(
        "the diff",
        |sc| sc.contains("What changed") && sc.contains("+rows=500"),
        20,
    );
    // Signed as `baton diff` prints it.
    for line in ["-timeout = \"10m\"", "+timeout = \"20m\"", "-rows=10"] {
        assert!(screen.contains(line), "{line} missing:\n{screen}");
    }
    tmux.keys(&["Escape"]);
    tmux.wait_for("the diff closed", |sc| !sc.contains("What changed"), 10);
    tmux.keys(&["q"]);
    tmux.wait_for("the console to end", |sc| sc.contains("TUI-EXIT=0"), 20);
}

/// QA point 6: a run its concurrency group skips, started from the form (`:run FILE`),
/// reads as skipped in the action log (`@`), never with a success's ✔.
#[test]
fn a_start_its_group_skips_reads_skipped_in_the_action_log() {
    let env = Env::new();
    let wf = env.workflow(
        "held.toml",
        "name = \"held\"\nconcurrency = { group = \"g\", on_conflict = \"skip\" }\n[[step]]\nid = \"work\"\nrun = 'while [ ! -e release ] && [ -e $PWD ]; do sleep 0.05; done'\n",
    );
    let holder_engine = env.spawn(&["run", wf.to_str().unwrap_or_default(), "--headless"]);
    wait_until("the store", secs(30), || env.db().exists());
    let holder = wait_until("the holder to be recorded", secs(30), || {
        let runs = env.runs();
        runs.as_array()
            .and_then(|a| a.first())
            .and_then(|r| r["id"].as_str())
            .map(str::to_string)
            .ok_or_else(|| format!("{runs:#}"))
    });
    env.wait_step(&holder, "work", "running", 30);
    let tmux = Tmux::tui(&env, 120, 40);
    tmux.wait_for("the console", |sc| sc.contains("5 Runs"), 20);
    tmux.keys(&[":"]);
    tmux.literal("run held.toml");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the form", |sc| sc.contains("New run of held"), 20);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the start answered", |sc| sc.contains("is skipped"), 30);
    tmux.keys(&["@"]);
    let screen = tmux.wait_for(
        "the action log",
        |sc| sc.contains("⤼ start a run of held"),
        10,
    );
    assert!(!screen.contains("✔ start a run"), "{screen}");
    tmux.keys(&["Escape"]);
    tmux.wait_for("the log closed", |sc| !sc.contains("Action log"), 10);
    tmux.keys(&["q"]);
    let screen = tmux.wait_for(
        "the console to end or ask",
        |sc| sc.contains("TUI-EXIT=") || sc.contains("stay"),
        20,
    );
    if !screen.contains("TUI-EXIT=") {
        tmux.keys(&["i"]);
    }
    tmux.wait_for("the console to end", |sc| sc.contains("TUI-EXIT=0"), 20);
    std::fs::write(env.path().join("release"), "").expect("write release");
    let out = wait_child(holder_engine, 60);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// QA points 1 and 2 on the real binary: an optional enum without a default is offered
/// unset and left so records `x=""`, as `baton run` does; the file changed while its
/// form was open (a required param added), Enter's refusal rebuilds the form from the
/// file as it is now, the new field there to type in.
#[test]
fn a_form_whose_file_changed_is_rebuilt_and_an_unset_enum_gives_no_value() {
    let env = Env::new();
    let wf = "name = \"en\"\n[params.x]\ntype = \"enum\"\nvalues = [\"a\", \"b\"]\n[[step]]\nid = \"s\"\nrun = \"true\"\n";
    env.workflow("en.toml", wf);
    // A store to open: a first run of another workflow.
    let first = env.workflow(
        "ok.toml",
        "name = \"ok\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    let out = env.run(&["run", first.to_str().unwrap_or_default(), "--headless"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let tmux = Tmux::tui(&env, 120, 40);
    tmux.wait_for("the console", |sc| sc.contains("5 Runs"), 20);
    tmux.keys(&[":"]);
    tmux.literal("run en.toml");
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the form, x unset",
        |sc| sc.contains("New run of en") && sc.contains("‹ (none) ›"),
        20,
    );
    let added = wf.replace(
        "[[step]]",
        "[params.must]\ntype = \"string\"\nrequired = true\n[[step]]",
    );
    env.workflow("en.toml", &added);
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the form rebuilt with the new field",
        |sc| {
            sc.contains("changed since the form opened")
                && sc.contains("must")
                && sc.contains("type a value")
        },
        20,
    );
    tmux.literal("yes");
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the run started",
        |sc| sc.contains("started run") && !sc.contains("New run of"),
        30,
    );
    let run = wait_until("the run of en", secs(30), || {
        let runs = env.runs();
        runs.as_array()
            .into_iter()
            .flatten()
            .find(|r| r["workflow"] == "en")
            .and_then(|r| r["id"].as_str())
            .map(str::to_string)
            .ok_or_else(|| format!("{runs:#}"))
    });
    let audit = env.run(&["audit", &run, "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap_or_default();
    let started = rows
        .as_array()
        .and_then(|r| r.iter().find(|r| r["action"] == "run_started"))
        .cloned()
        .unwrap_or_default();
    let params = &started["details"]["params"];
    assert_eq!(params["x"], "", "{rows}");
    assert_eq!(params["must"], "yes", "{rows}");
    tmux.keys(&["q"]);
    let screen = tmux.wait_for(
        "the console to end or ask",
        |sc| sc.contains("TUI-EXIT=") || sc.contains("stay"),
        20,
    );
    if !screen.contains("TUI-EXIT=") {
        tmux.keys(&["i"]);
    }
    tmux.wait_for("the console to end", |sc| sc.contains("TUI-EXIT=0"), 20);
}

/// Issue 75 point 7 on the real binary: `:run FILE` of a workflow whose name and file
/// hold a right-to-left override opens the form with the override dropped, as every
/// view drops it: nothing of it reaches the terminal.
#[test]
fn the_run_form_writes_no_bidi_control_to_the_terminal() {
    let env = Env::new();
    let first = env.workflow(
        "ok.toml",
        "name = \"ok\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    let out = env.run(&["run", first.to_str().unwrap_or_default(), "--headless"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    env.workflow(
        "re\u{202E}lmot.toml",
        "name = \"release\u{202E}exe.txt\"\n[params.v]\ntype = \"string\"\ndefault = \"1\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    let tmux = Tmux::tui(&env, 120, 40);
    tmux.wait_for("the console", |sc| sc.contains("5 Runs"), 20);
    tmux.keys(&[":"]);
    tmux.literal("run re\u{202E}lmot.toml");
    tmux.keys(&["Enter"]);
    let sc = tmux.wait_for(
        "the form, its title with the override dropped",
        |sc| sc.contains("New run of release\u{FFFD}exe.txt"),
        20,
    );
    assert!(!sc.contains('\u{202E}'), "{sc}");
    tmux.keys(&["Escape"]);
}
