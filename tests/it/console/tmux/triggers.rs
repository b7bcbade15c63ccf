//! Issue 81 point 4 in the real console: a run a trigger started names its event in
//! its header and the Runs tab, and the run whose end it was names what it started.
use super::*;
use crate::serve::{Served, term};

const BUILD: &str = "name = \"build\"\n[[step]]\nid = \"package\"\nrun = 'true'\n";

const PUBLISH: &str = r#"name = "publish"

[[trigger]]
on = "run_ended"
workflow = "build"

[[step]]
id = "ship"
run = 'true'
"#;

/// The serve starts `publish` when a run of `build` succeeds; its id.
fn chained(s: &mut Served) -> (String, String) {
    s.write("build.toml", BUILD);
    s.write("publish.toml", PUBLISH);
    let (child, log) = s.start(&[]);
    for name in ["build.toml", "publish.toml"] {
        wait_until(&format!("{name} loaded"), secs(30), || {
            let t = std::fs::read_to_string(&log).unwrap_or_default();
            t.lines()
                .any(|l| l.starts_with("serve: loaded") && l.ends_with(name))
        });
    }
    let build = s.dir.join("build.toml");
    let out = s.env.run(&["run", build.to_str().unwrap(), "--headless"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let of = |wf: &str| {
        let runs = s.env.runs();
        let found = runs
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["workflow"] == wf && r["state"] == "succeeded");
        found.and_then(|r| r["id"].as_str()).map(str::to_string)
    };
    let publish = wait_until("publish to succeed", secs(60), || of("publish"));
    term(child);
    (of("build").unwrap(), publish)
}

#[test]
fn the_console_names_a_runs_trigger_event_and_what_its_end_started() {
    let mut s = Served::new();
    let (build, publish) = chained(&mut s);
    let tmux = Tmux::tui(&s.env, 200, 60);
    tmux.keys(&["5"]);
    // Newest first: publish's row, marked with its kind of event, its hint naming it.
    let screen = tmux.wait_for(
        "the Runs tab marking publish",
        |s| s.contains("⇢ run") && s.contains("started by publish#1"),
        60,
    );
    let (publish_shown, build_shown) = (shown_id(&screen, &publish), shown_id(&screen, &build));
    let row = screen
        .lines()
        .find(|l| l.starts_with("│") && l.contains(&format!(" {publish_shown} ")))
        .unwrap_or("");
    assert!(row.contains("⇢ run"), "{screen}");
    assert!(
        screen.contains(&format!(
            "started by publish#1: run {build_shown} of build succeeded"
        )),
        "{screen}"
    );
    // Opened, its header names the event; the build run's names what its end started.
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "publish's header",
        |s| {
            s.lines().next().is_some_and(|l| {
                l.contains("publish")
                    && l.contains(&format!("started by publish#1: run {}", &build[..8]))
            })
        },
        60,
    );
    tmux.keys(&["5", "Down", "Enter"]);
    tmux.wait_for(
        "build's header",
        |s| {
            s.lines().next().is_some_and(|l| {
                l.contains("build") && l.contains(&format!("started run {}", &publish[..8]))
            })
        },
        60,
    );
    tmux.keys(&["q"]);
}
