//! A group member's `baton cancel` of another member's parent run whose engine died
//! takes nothing over: it is recorded for the starter's engine, so no child of that
//! run is stopped or cancelled by them and none of the child's audit rows is theirs.
//! The starter's own `baton cancel` then takes the parent over and cancels its child
//! first (`session::child::cancel`), as the starter.
use super::group_members::{ALICE, BOB, Members, all};
use crate::helpers::*;
use serde_json::Value;

const PARENT: &str = r#"
name = "parent"
[[step]]
id = "pre"
run = "echo pre"
[[step]]
id = "sub"
needs = ["pre"]
workflow = "child.toml"
"#;

const CHILD: &str = r#"
name = "child"
[[step]]
id = "a"
run = "echo a"
[[step]]
id = "ship"
needs = ["a"]
run = "echo shipped"
gate = { prompt = "ship it?" }
"#;

/// The only run of workflow `name`, once there is one.
fn run_of(m: &Members, name: &str) -> String {
    wait_until(&format!("a run of {name}"), secs(30), || {
        let out = m.baton(ALICE, &["runs", "--json"]);
        let runs: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        runs.as_array()?.iter().find(|r| r["workflow"] == name)?["id"]
            .as_str()
            .map(str::to_string)
    })
}

/// `baton audit RUN` as alice: the run's rows.
fn audit(m: &Members, run: &str) -> String {
    let out = m.baton(ALICE, &["audit", run]);
    assert!(out.status.success(), "audit {run}: {}", all(&out));
    text(&out.stdout)
}

fn verifies(m: &Members, run: &str) {
    let out = m.baton(ALICE, &["audit", "verify", run]);
    assert_eq!(out.status.code(), Some(0), "verify {run}: {}", all(&out));
}

#[test]
fn a_members_cancel_of_anothers_parent_whose_engine_died_cancels_no_child() {
    let Some(m) = Members::new() else {
        return;
    };
    m.write(ALICE, "child.toml", CHILD);
    let wf = m.write(ALICE, "parent.toml", PARENT);
    let mut engine = m.spawn(ALICE, &["run", "--headless", "--", wf.to_str().unwrap()]);
    let parent = run_of(&m, "parent");
    let kid = run_of(&m, "child");
    m.wait_step(&kid, "ship", "waiting_approval");
    let child_engine = wait_until("the child's engine", secs(10), || {
        let held = m.show(&kid)["driven_by"].clone();
        (!held.is_null()).then_some(held)
    });
    // kill -9 of alice's parent engine: it records nothing; its child's engine lives on.
    engine.kill().expect("kill -9 the parent's engine");
    let _ = engine.wait();

    let out = m.baton(BOB, &["cancel", &parent, "--reason", "not yours"]);
    let said = all(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("recorded: command"), "{said}");
    assert!(
        said.contains(&format!("waits for `{ALICE}`'s engine")),
        "{said}"
    );
    assert!(!said.contains("cancelling child run"), "{said}");
    // Neither run was taken over: the parent is not cancelled, the child waits at its
    // gate under the same engine, and no row of the child's is bob's.
    let p = m.show(&parent);
    // As the dead engine left it: `show` names a run whose engine is gone interrupted.
    assert_eq!(p["state"], "interrupted", "{p:#}");
    assert_eq!(
        step_state(&p, "sub").as_deref(),
        Some("interrupted"),
        "{p:#}"
    );
    let c = m.show(&kid);
    assert_eq!(c["state"], "waiting", "{c:#}");
    assert_eq!(
        step_state(&c, "ship").as_deref(),
        Some("waiting_approval"),
        "{c:#}"
    );
    assert_eq!(c["driven_by"], child_engine, "{c:#}");
    let rows = audit(&m, &kid);
    assert!(!rows.contains(BOB), "a row of the child's is bob's: {rows}");
    verifies(&m, &kid);

    // Alice's cancel takes the parent over and cancels its child first, as her.
    let cancel = m.spawn(ALICE, &["cancel", &parent, "--reason", "its engine died"]);
    let out = wait_child(cancel, 60);
    let said = all(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("cancelling child run {kid} of run {parent} first")),
        "{said}"
    );
    assert_eq!(m.show(&parent)["state"], "cancelled");
    let c = m.show(&kid);
    assert_eq!(c["state"], "cancelled", "{c:#}");
    let rows = audit(&m, &kid);
    assert!(
        rows.lines()
            .any(|l| l.contains("cancel") && l.contains(ALICE)),
        "the child's cancel names {ALICE}: {rows}"
    );
    assert!(!rows.contains(BOB), "a row of the child's is bob's: {rows}");
    for run in [&parent, &kid] {
        verifies(&m, run);
    }
}
