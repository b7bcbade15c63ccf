//! Issue 76 point 3 through the real binary: two live runs of one workflow told apart
//! by their labels in the Runs tab, `/` with a label filtering to one, and `c` on the
//! highlighted row naming it by its labels (then cancelling that run, not the other).
use super::*;

#[test]
fn two_runs_of_one_workflow_are_told_apart_filtered_and_named_by_their_labels() {
    let env = Env::new();
    let wf = env.workflow(
        "train.toml",
        "name = \"release-train\"\n[[step]]\nid = \"ship\"\nrun = \"sleep 120\"\n",
    );
    let w = wf.to_str().unwrap();
    let mut engines = Vec::new();
    let mut ids = Vec::new();
    for ticket in ["ticket=OPS-1", "ticket=OPS-2"] {
        engines.push(env.spawn(&["run", w, "--headless", "--label", ticket]));
        let value = ticket.trim_start_matches("ticket=");
        let id = wait_until("the run to be listed", secs(20), || {
            // The engine creates the store's file before SQLite writes its header.
            let out = env.run(&["runs", "--json"]);
            let runs: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
            (runs.as_array().into_iter().flatten())
                .find(|r| r["labels"]["ticket"] == value)
                .and_then(|r| r["id"].as_str())
                .map(str::to_string)
        });
        env.wait_step(&id, "ship", "running", 20);
        ids.push(id);
    }
    let tmux = Tmux::tui(&env, 120, 40);
    tmux.keys(&["5"]);
    // Both rows show their labels: two rows of one workflow, told apart.
    tmux.wait_for(
        "both rows with their labels",
        |s| {
            let rows: Vec<&str> = s
                .lines()
                .filter(|l| {
                    l.starts_with('│') && l.contains("release-train") && l.contains("running")
                })
                .collect();
            rows.len() == 2
                && rows.iter().any(|r| r.contains("ticket=OPS-1 "))
                && rows.iter().any(|r| r.contains("ticket=OPS-2 "))
                && s.contains("labels")
        },
        20,
    );
    tmux.keys(&["/"]);
    tmux.literal("ticket=OPS-2");
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "only the run labelled OPS-2",
        |s| {
            let rows: Vec<&str> = s
                .lines()
                .filter(|l| {
                    l.starts_with('│') && l.contains("release-train") && l.contains("running")
                })
                .collect();
            s.contains("(1 match)") && rows.len() == 1 && rows[0].contains("ticket=OPS-2")
        },
        10,
    );
    tmux.keys(&["c"]);
    let screen = tmux.wait_for("the cancel dialog", |s| s.contains("Cancel the run?"), 10);
    let said = screen.replace('│', " ");
    let said = said.split_whitespace().collect::<Vec<_>>().join(" ");
    let short = &ids[1][..8];
    assert!(
        said.contains(&format!("Cancel run {short}"))
            && said.contains("(release-train, ticket=OPS-2, running"),
        "{screen}"
    );
    assert!(!said.contains("OPS-1"), "{screen}");
    tmux.keys(&["y"]);
    wait_until("the labelled run cancelled", secs(30), || {
        (env.show(&ids[1])["state"] == "cancelled").then_some(())
    });
    assert_eq!(
        env.show(&ids[0])["state"],
        "running",
        "the other run goes on"
    );
    tmux.keys(&["q"]);
    tmux.wait_for("the console to exit", |s| s.contains("TUI-EXIT=0"), 20);
    let out = env.run(&["cancel", &ids[0], "--reason", "the test is over"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for e in engines {
        let _ = wait_child(e, 30);
    }
}
