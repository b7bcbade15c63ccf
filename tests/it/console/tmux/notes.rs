//! Issue 76 point 4 through the real binary: `n` writes a note on the Waiting tab's
//! item's run, on the Runs tab's highlighted run and on the DAG's selected step; each
//! is on record as the OS account (`baton show`, `show --json`), the lists mark the
//! runs noted (`✎`: the Runs and Waiting tabs, `baton runs`, `baton inbox`, `runs
//! --json`'s count),
//! and the Audit tab lists a run's notes.
use super::*;

const GATED: &str = "name = \"gated\"\n[[step]]\nid = \"deploy\"\nrun = \"true\"\n[step.gate]\nprompt = \"Ship it?\"\n";
const QUICK: &str = "name = \"quick\"\n[[step]]\nid = \"build\"\nrun = \"true\"\n";

/// The account this process runs as (what a note is recorded as).
fn os_account() -> String {
    let out = std::process::Command::new("id")
        .arg("-un")
        .output()
        .expect("id -un");
    text(&out.stdout).trim().to_string()
}

/// Whether `screen` says `before` then a prefix of `id` (the console's short id: 8
/// characters, more where another run's id starts alike) then `after`.
fn says(screen: &str, before: &str, id: &str, after: &str) -> bool {
    screen.match_indices(before).any(|(i, _)| {
        let rest = &screen[i + before.len()..];
        let short: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        short.len() >= 8 && id.starts_with(&short) && rest[short.len()..].starts_with(after)
    })
}

/// Type `note` in the open note dialog and record it (Enter, then Enter again).
fn write_note(tmux: &Tmux, note: &str) {
    tmux.literal(note);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the confirm", |s| s.contains("Enter again to"), 10);
    tmux.keys(&["Enter"]);
}

#[test]
fn n_notes_the_highlighted_run_and_step_as_the_os_account_and_the_lists_mark_them() {
    let env = Env::new();
    let me = os_account();
    let gated = env.workflow("gated.toml", GATED);
    let quick = env.workflow("quick.toml", QUICK);
    let engine = env.spawn(&["run", gated.to_str().unwrap(), "--headless"]);
    let gated_id = env.wait_run_id();
    env.wait_step(&gated_id, "deploy", "waiting_approval", 20);
    let out = env.run(&["run", quick.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let quick_id = (env.runs().as_array().into_iter().flatten())
        .find(|r| r["workflow"] == "quick")
        .and_then(|r| r["id"].as_str())
        .map(str::to_string)
        .expect("the quick run is listed");
    let tmux = Tmux::tui(&env, 120, 40);
    // The Waiting tab: the gate's run noted from its item.
    tmux.keys(&["6"]);
    tmux.wait_for("the gate waits", |s| s.contains("Ship it?"), 20);
    tmux.keys(&["n"]);
    tmux.wait_for(
        "the note dialog naming the gate's run",
        |s| says(s, "Note on run ", &gated_id, " (gated)"),
        10,
    );
    write_note(&tmux, "looked at: waits on the change board");
    tmux.wait_for(
        "the note recorded as the OS account",
        |s| says(s, "noted on run ", &gated_id, &format!(" as {me}")),
        20,
    );
    tmux.wait_for(
        "the Waiting row marked",
        |s| {
            s.lines()
                .any(|l| says(l, " ", &gated_id, " ") && l.contains("✎ gated"))
        },
        20,
    );
    // The Runs tab: the highlighted run noted, whichever run is on screen.
    tmux.keys(&["5", "/"]);
    tmux.literal("wf:quick");
    tmux.keys(&["Enter", "n"]);
    tmux.wait_for(
        "the note dialog naming the quick run",
        |s| says(s, "Note on run ", &quick_id, " (quick)"),
        10,
    );
    write_note(&tmux, "green, but slow");
    tmux.wait_for(
        "the Runs row marked",
        |s| {
            s.lines()
                .any(|l| says(l, " ", &quick_id, " ") && l.contains("✎ quick"))
        },
        20,
    );
    // The DAG: a note on the selected step of the run opened.
    tmux.keys(&["Enter"]);
    tmux.wait_for("the quick run's DAG", |s| s.contains("build"), 20);
    tmux.keys(&["n"]);
    tmux.wait_for(
        "the note dialog naming the step",
        |s| says(s, "Note on step build of run ", &quick_id, " (quick)"),
        10,
    );
    write_note(&tmux, "cache miss");
    tmux.wait_for(
        "the step's note recorded",
        |s| {
            says(
                s,
                "noted on step build of run ",
                &quick_id,
                &format!(" as {me}"),
            )
        },
        20,
    );
    tmux.keys(&["4"]);
    tmux.wait_for(
        "the Audit tab lists the run's notes",
        |s| s.contains("Notes · 2") && s.contains("cache miss") && s.contains("green, but slow"),
        20,
    );
    on_record(&env, &me, &quick_id, &gated_id);
    tmux.keys(&["q"]);
    tmux.wait_for("the console to exit", |s| s.contains("TUI-EXIT=0"), 20);
    let out = env.run(&["cancel", &gated_id, "--reason", "the test is over"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let _ = wait_child(engine, 30);
}

/// A run this console drives (its view comes from its engine, which knows no notes):
/// a note written on its running step shows in its Audit tab at once, and is on record.
#[test]
fn a_note_on_a_run_this_console_drives_shows_while_it_runs() {
    let env = Env::new();
    let wf = env.workflow(
        "driven.toml",
        "name = \"driven\"\n[[step]]\nid = \"wait\"\nrun = 'while [ ! -e end ]; do sleep 0.1; done'\n",
    );
    let tmux = Tmux::running(&env, &wf, 120, 40);
    tmux.wait_for("the step running", |s| s.contains("▶ running"), 30);
    tmux.keys(&["n"]);
    tmux.wait_for(
        "the note dialog naming the step",
        |s| s.contains("Note on step wait of run"),
        10,
    );
    write_note(&tmux, "watching it: slow disk");
    tmux.keys(&["4"]);
    tmux.wait_for(
        "the driven run's notes in its Audit tab",
        |s| s.contains("Notes · 1") && s.contains("watching it: slow disk"),
        20,
    );
    std::fs::write(env.path().join("end"), "").unwrap();
    tmux.wait_for("the run to end", |s| s.contains("succeeded"), 30);
    let id = env.wait_run_id();
    let notes = env.show(&id)["notes"].clone();
    assert_eq!(notes[0]["by"], os_account().as_str(), "{notes}");
    assert_eq!(notes[0]["step"], "wait", "{notes}");
}

/// What the console wrote is on record as the OS account, with the step where one was
/// named, and the CLI's lists mark the runs noted (`runs --json` counts their notes).
fn on_record(env: &Env, me: &str, quick_id: &str, gated_id: &str) {
    // On record as the OS account, with the step where one was named.
    let shown = text(&env.run(&["show", quick_id]).stdout);
    assert!(
        shown.contains("notes:")
            && shown.contains(&format!("{me}  (run)  green, but slow"))
            && shown.contains(&format!("{me}  build  cache miss")),
        "{shown}"
    );
    // `baton runs` marks the runs noted, `runs --json` counts their notes.
    let listed = text(&env.run(&["runs"]).stdout);
    assert!(
        listed.contains("✎ quick") && listed.contains("✎ gated"),
        "{listed}"
    );
    let inbox = text(&env.run(&["inbox"]).stdout);
    assert!(inbox.contains("✎ gated"), "{inbox}");
    let runs = env.runs();
    let count = |id: &str| {
        (runs.as_array().into_iter().flatten())
            .find(|r| r["id"] == id)
            .map(|r| r["notes"].clone())
    };
    assert_eq!(count(quick_id), Some(serde_json::json!(2)), "{runs}");
    assert_eq!(count(gated_id), Some(serde_json::json!(1)), "{runs}");
    let notes = env.show(gated_id)["notes"].clone();
    assert_eq!(notes[0]["by"], me, "{notes}");
    assert_eq!(notes[0]["text"], "looked at: waits on the change board");
    assert!(notes[0]["step"].is_null(), "{notes}");
}
