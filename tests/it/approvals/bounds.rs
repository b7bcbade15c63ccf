//! Issue 42 point 7: every text an operator types is bounded (65,535 characters; an
//! approval input's value 1 MiB, what an output holds, issue 55 point 6): the command
//! line refuses one over it before anything is recorded, and the engine refuses on
//! record one that came another way, keeping only a cut copy of it.
use crate::helpers::*;
use baton::model::Command;
use baton::store::Store;

const GATED: &str = r#"
name = "gated"
[[step]]
id = "ship"
run = 'echo "$TAG" > shipped'
env = { TAG = "${{ steps.ship.inputs.tag }}" }
[step.gate]
[step.gate.inputs]
tag = { type = "string", required = true }
"#;

/// The longest text of each table a command's text could reach.
fn longest(env: &Env) -> Vec<(String, i64)> {
    let c = rusqlite::Connection::open(env.db()).unwrap();
    [
        ("commands", "SELECT max(length(json)) FROM commands"),
        ("events", "SELECT max(length(json)) FROM events"),
        (
            "approvals",
            "SELECT max(length(details) + ifnull(length(reason), 0)) FROM approvals",
        ),
        (
            "audit",
            "SELECT max(length(details) + ifnull(length(reason), 0)) FROM audit",
        ),
    ]
    .into_iter()
    .map(|(t, q)| {
        let n: Option<i64> = c.query_row(q, [], |r| r.get(0)).unwrap();
        (t.to_string(), n.unwrap_or(0))
    })
    .collect()
}

#[test]
fn a_text_over_the_bound_is_refused_by_the_cli_and_by_the_engine() {
    let env = Env::new();
    let wf = env.workflow("g.toml", GATED);
    let child = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    env.wait_step(&run, "ship", "waiting_approval", 30);

    // The command line: exit 2, nothing sent.
    std::fs::write(env.path().join("long"), "x".repeat((1 << 20) + 1)).unwrap();
    let out = env.run(&["approve", &run, "ship", "--input-file", "tag=long"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains(
            "--input-file tag=long: more than 1048576 bytes (1 MiB, what a step's output holds)"
        ),
        "{}",
        text(&out.stderr)
    );
    let long = format!("tag={}", "x".repeat(70_000));
    let out = env.run(&[
        "approve",
        &run,
        "ship",
        "--input",
        &long,
        "--reason",
        &"r".repeat(65_536),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("error: the reason is 65536 characters long; an operator's text is at most 65535 characters"),
        "{}",
        text(&out.stderr)
    );
    let reason = "r".repeat(65_536);
    let out = env.run(&["cancel", &run, "--reason", &reason]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("error: the reason is 65536 characters long"));
    let rows: i64 = rusqlite::Connection::open(env.db())
        .unwrap()
        .query_row("SELECT count(*) FROM commands", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0, "nothing recorded");

    // Another way in (a row written straight to the store): a 20 MB input.
    let mut store = Store::open_existing(&env.db()).unwrap();
    let big = Command::Approve {
        step: "ship".into(),
        operator: baton::session::os_account().unwrap(),
        reason: None,
        signature: None,
        inputs: [("tag".to_string(), "y".repeat(20 << 20))].into(),
    };
    let id = store.submit_command(&run, &big, None).unwrap();
    let outcome = wait_until("the engine's verdict", secs(60), || {
        store
            .command_outcome(id)
            .unwrap()
            .ok_or_else(|| "none yet".to_string())
    });
    let baton::model::CommandOutcome::Refused(refusal) = outcome else {
        panic!("accepted: {outcome:?}");
    };
    assert_eq!(refusal.code(), "too_long");
    let reason = refusal.to_string();
    assert!(
        reason.starts_with("input `tag` is 20971520 bytes long; an approval's input holds at most 1048576 bytes (1 MiB"),
        "{reason}"
    );
    for (table, n) in longest(&env) {
        assert!(n < 4096, "{table} keeps a text of {n} characters");
    }
    let show = env.show(&run);
    assert_eq!(
        step_state(&show, "ship").as_deref(),
        Some("waiting_approval")
    );
    let out = env.run(&["reject", &run, "ship", "--reason", "too big"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    wait_child(child, 60);
    for (table, n) in longest(&env) {
        assert!(n < 4096, "{table} keeps a text of {n} characters");
    }
}
