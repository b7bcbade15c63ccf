//! Issue 75 point 1, in a group store through the real binary: a child-run step takes
//! only a child its own engine made. `gmbob` writes rows into `run_parents` naming a
//! succeeded run as the child of `gmalice`'s step (his own run; hers, not a child; his
//! own real `baton run --parent` child of her step), with a higher attempt than her
//! step's or in the place of the one it is about to make. Her step ignores them
//! (saying so in its log), makes its own child, and that child's gated `ship` waits
//! for its approval: nothing after it runs until then.
use super::group_members::{ALICE, BOB, Members, all, sql_text};
use crate::helpers::*;
use serde_json::Value;
use std::time::Duration;

const PARENT: &str = r#"
name = "parent"
[[step]]
id = "deploy"
workflow = "child.toml"
gate = { prompt = "deploy?" }
[[step]]
id = "after"
needs = ["deploy"]
run = "echo after"
"#;

const CHILD: &str = r#"
name = "child"
[[step]]
id = "ship"
run = "echo shipped"
gate = { prompt = "ship it?" }
"#;

/// A workflow that ends `succeeded` at once.
const SOLO: &str = r#"
name = "solo"
[[step]]
id = "a"
run = "true"
"#;

/// The runs of workflow `name` (as alice lists them), newest first.
fn runs_of(m: &Members, name: &str) -> Vec<String> {
    let out = m.baton(ALICE, &["runs", "--json"]);
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    runs.as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["workflow"] == name)
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect()
}

/// `user` runs `body` (as `file` in their home) to its end; the run's id.
fn finished(m: &Members, user: &str, file: &str, body: &str, extra: &[&str]) -> String {
    let wf = m.write(user, file, body);
    let mut args = vec!["run", "--headless"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", wf.to_str().unwrap()]);
    let out = m.baton(user, &args);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    let id = text(&out.stdout)
        .lines()
        .find_map(|l| {
            l.strip_prefix("run ")?
                .split_whitespace()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| panic!("no run id: {}", all(&out)));
    assert_eq!(m.show(&id)["state"], "succeeded");
    id
}

/// Bob's row: `child` is the child of alice's `parent` step `deploy`, attempt `attempt`.
fn forge(m: &Members, child: &str, parent: &str, attempt: u32) {
    m.sql(
        BOB,
        &format!(
            "INSERT INTO run_parents (run_id, parent_run, parent_step, parent_attempt)
             VALUES ({c}, {p}, 'deploy', {attempt});",
            c = sql_text(child),
            p = sql_text(parent),
        ),
    );
}

#[test]
fn a_forged_child_link_does_not_make_a_members_child_run_step_succeed() {
    let Some(m) = Members::new() else {
        return;
    };
    m.write(ALICE, "child.toml", CHILD);
    let wf = m.write(ALICE, "parent.toml", PARENT);
    let engine = m.spawn(ALICE, &["run", "--headless", "--", wf.to_str().unwrap()]);
    let parent = wait_until("alice's run", Duration::from_secs(20), || {
        runs_of(&m, "parent").pop().ok_or_else(String::new)
    });
    m.wait_step(&parent, "deploy", "waiting_approval");
    // Three succeeded runs, each put forward as the step's child by bob.
    let bobs = finished(&m, BOB, "solo.toml", SOLO, &[]);
    let hers = finished(&m, ALICE, "solo.toml", SOLO, &[]);
    // A real child run of her step, made and sealed by bob's engine, as attempt 7 (his
    // engine's environment says which attempt it is).
    let bob_child_wf = m.write(BOB, "child.toml", SOLO);
    let parent_arg = format!("{parent}/deploy");
    let args = [
        "run",
        "--headless",
        "--parent",
        &parent_arg,
        "--",
        bob_child_wf.to_str().unwrap(),
    ];
    let out = m
        .cmd(BOB, &args)
        .env("BATON_ATTEMPT", "7")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    let bob_child = runs_of(&m, "solo")
        .into_iter()
        .find(|r| *r != bobs && *r != hers)
        .expect("bob's child run");
    assert_eq!(m.show(&bob_child)["parent"]["attempt"], 7);
    forge(&m, &bobs, &parent, 9);
    // Hers in the place of the attempt alice's step is about to make: it yields.
    forge(&m, &hers, &parent, 1);
    // A forged row makes no run a child to its readers either.
    for run in [&bobs, &hers] {
        let shown = m.show(run);
        assert!(shown["parent"].is_null(), "{shown:#}");
    }
    let out = m.baton(ALICE, &["approve", &parent, "deploy", "--reason", "go"]);
    assert!(out.status.success(), "{}", all(&out));
    // Her step makes its own child, which waits at its gate: nothing was skipped.
    let kid = wait_until("alice's child run", Duration::from_secs(30), || {
        runs_of(&m, "child").pop().ok_or_else(String::new)
    });
    m.wait_step(&kid, "ship", "waiting_approval");
    let p = m.show(&parent);
    assert_eq!(
        step_state(&p, "deploy").as_deref(),
        Some("running"),
        "{p:#}"
    );
    assert_eq!(step_state(&p, "after").as_deref(), Some("pending"), "{p:#}");
    assert_eq!(m.show(&kid)["parent"]["run"], parent.as_str());
    // Each forged link is named in the step's log, and why.
    let log = wait_until("the ignored links in the step's log", secs(10), || {
        let out = m.baton(ALICE, &["logs", &parent, "deploy"]);
        let log = all(&out);
        let named = [&bobs, &hers, &bob_child]
            .iter()
            .all(|r| log.contains(&format!("ignoring the link that names run {r}")));
        if named { Ok(log) } else { Err(log) }
    });
    assert!(log.contains("names no parent"), "{log}");
    assert!(
        log.contains("not what the starter's engine recorded"),
        "{log}"
    );
    // Approved, the child ships and the parent goes on with its own child's result.
    let out = m.baton(ALICE, &["approve", &kid, "ship", "--reason", "ok"]);
    assert!(out.status.success(), "{}", all(&out));
    let done = wait_child(engine, 60);
    assert_eq!(done.status.code(), Some(0), "{}", all(&done));
    let p = m.show(&parent);
    assert_eq!(p["state"], "succeeded", "{p:#}");
    assert_eq!(
        step_field(&p, "deploy", "outputs")["child_run"],
        kid.as_str(),
        "{p:#}"
    );
    assert_eq!(m.show(&kid)["state"], "succeeded");
}
