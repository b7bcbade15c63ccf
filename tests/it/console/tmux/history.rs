//! Issue 76 point 6 in the console: `T` on a step of the DAG shows its history across
//! the runs of its workflow (read by the session from the store, as `baton history`
//! reads it): its p50 and p95, the failure rate and the slowest run, which `Enter`
//! opens.
use super::*;
use baton::model::time::human_duration;

/// `build` sleeps by the run: the third of four runs is the slow one.
const NIGHTLY: &str = r#"name = "nightly"
[[step]]
id = "fetch"
run = "true"
[[step]]
id = "build"
needs = ["fetch"]
run = "n=$(cat count 2>/dev/null || echo 0); echo $((n + 1)) > count; case $n in 2) sleep 1.6;; 1) sleep 0.5;; *) sleep 0.2;; esac"
[[step]]
id = "publish"
needs = ["build"]
run = "true"
"#;

#[test]
fn t_shows_a_steps_p50_p95_and_slowest_run_and_enter_opens_that_run() {
    let env = Env::new();
    let wf = env.workflow("nightly.toml", NIGHTLY);
    let ids: Vec<String> = (0..4)
        .map(|_| {
            let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
            run_id_of(&text(&out.stdout))
        })
        .collect();
    // The figures as `baton history` gives them, from the same store.
    let out = env.run(&["history", "nightly", "build", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = |k: &str| human_duration(std::time::Duration::from_millis(doc[k].as_u64().unwrap()));
    let figures = format!(
        "p50 {} · p95 {} · failed 0 of 4 ended",
        d("p50_ms"),
        d("p95_ms")
    );
    // Each run as the console names it: the start of its id no other run shares.
    let short = |id: &str| {
        let n = (8..id.len())
            .find(|&n| ids.iter().filter(|o| o[..n] == id[..n]).count() == 1)
            .unwrap_or(id.len());
        id[..n].to_lowercase()
    };
    let slow = short(&ids[2]);
    assert!(doc["p95_ms"].as_u64().unwrap() >= 1_600, "{doc}");

    let tmux = Tmux::tui(&env, 100, 30);
    // `baton tui` opens on the Runs tab, the newest run first: open it.
    tmux.wait_for("the runs", |s| s.contains(&short(&ids[3])), 20);
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the newest run's DAG",
        |s| s.contains("fetch") && s.contains("build"),
        20,
    );
    tmux.keys(&[":"]);
    tmux.literal("build");
    tmux.keys(&["Enter"]);
    tmux.keys(&["T"]);
    let s = tmux.wait_for(
        "the history of build",
        |s| s.contains("History of build"),
        15,
    );
    assert!(s.contains(&figures), "{figures}\n{s}");
    assert!(s.contains("every run with the step: 4"), "{s}");
    // The slowest run first, selected: the third run, 1.6 s or more.
    let first = s.lines().find(|l| l.contains("▶ ")).unwrap_or_default();
    assert!(
        first.contains(&slow) && first.contains(&d("p95_ms")),
        "{slow} first, {} long\n{s}",
        d("p95_ms")
    );
    assert!(s.contains("← on screen"), "the newest run is marked\n{s}");
    // Enter opens the slow run, its step `build` selected.
    tmux.keys(&["Enter"]);
    // Its step `build` selected, not the last one: the detail pane is build's.
    tmux.wait_for(
        "the slow run on screen, its step build selected",
        |s| {
            !s.contains("History of")
                && s.lines().next().unwrap_or_default().contains(&slow)
                && s.contains("╭ ✔ build ")
        },
        15,
    );
}
