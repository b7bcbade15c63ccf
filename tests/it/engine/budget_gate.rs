//! Issue 43 point 3's last part with real processes: the budget gate rejected by an
//! operator (`baton reject RUN --budget`) or by its `timeout` (`on_timeout`): the step
//! the ceiling froze is killed, nothing else starts, the run fails, the rejection is on
//! the audit chain under the account that gave it (or `timeout`), `gate_decided`
//! notifiers hear it; and the timeout is the recorded opening's plus the timeout, also
//! after kill -9 of the engine and a resume.
use super::live_usage::{LOOP, frozen_at_the_ceiling, progress, tokens_used};
use crate::helpers::*;
use baton::model::time::Timestamp;
use serde_json::Value;

const NOTIFY: &str = r#"
[[notify]]
on = ["gate_opened", "gate_decided"]
run = 'echo "$BATON_EVENT $BATON_STEP_ID" >> notes'
"#;

fn with_budget(budget: &str) -> String {
    let line = "budget = { tokens = 1000 }";
    assert!(LOOP.contains(line), "LOOP's budget line");
    let wf = LOOP.replace(line, budget);
    format!("{wf}{NOTIFY}")
}

fn audit_rows(env: &Env, run: &str) -> Vec<Value> {
    let out = env.run(&["audit", run, "--json"]);
    ok(&out);
    serde_json::from_slice::<Value>(&out.stdout)
        .expect("audit --json")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn notes(env: &Env) -> String {
    std::fs::read_to_string(env.path().join("notes")).unwrap_or_default()
}

fn at(v: &Value) -> Timestamp {
    v.as_str()
        .and_then(Timestamp::parse_rfc3339)
        .unwrap_or_else(|| panic!("a time: {v}"))
}

/// The step that reached the ceiling is frozen; `reject --budget` kills its whole
/// group, `report` never starts, the run fails (exit 1), `budget.rejected` says who
/// (the OS account) and why, the audit chain holds the decision and verifies, and the
/// `gate_decided` notifier ran. A second rejection, or one with no gate open, is
/// refused in words saying what to do.
#[test]
fn a_rejection_kills_the_frozen_step_and_fails_the_run() {
    let env = Env::new();
    let wf = env.workflow("loop.toml", &with_budget("budget = { tokens = 1000 }"));
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    let (show, pids) = frozen_at_the_ceiling(&env, &run);
    let me = show["operator"].as_str().expect("the starter").to_string();
    let empty = env.run(&["reject", &run, "--budget", "--reason", " "]);
    assert_eq!(empty.status.code(), Some(2), "{}", text(&empty.stderr));
    let written = progress(env.path());
    ok(&env.run(&["reject", &run, "--budget", "--reason", "not worth more"]));
    let done = wait_child(engine, 60);
    assert_eq!(done.status.code(), Some(1), "{}", text(&done.stdout));
    wait_until("the frozen group to be killed", secs(30), || {
        pids.iter().all(|&p| !process_alive(p))
    });
    assert!(
        progress(env.path()) <= written + 1,
        "killed, not continued: {written} then {}",
        progress(env.path())
    );
    let show = env.show(&run);
    assert_eq!(show["state"], "failed", "{show:#}");
    assert_eq!(step_state(&show, "agent").as_deref(), Some("cancelled"));
    assert_eq!(step_state(&show, "report").as_deref(), Some("skipped"));
    assert!(!env.path().join("ledger").exists(), "report never ran");
    let r = &show["budget"]["rejected"];
    assert_eq!(r["by"], me.as_str(), "{show:#}");
    assert_eq!(r["reason"], "not worth more");
    assert_eq!(r["timed_out"], false);
    let record = show["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "gate_rejected")
        .cloned()
        .expect("the rejection's record");
    assert!(
        record["message"]
            .as_str()
            .unwrap()
            .contains(&format!("rejected by {me}: not worth more")),
        "{record:#}"
    );
    let rows = audit_rows(&env, &run);
    assert!(
        rows.iter().any(|r| r["action"] == "budget_rejected"
            && r["actor"] == me.as_str()
            && r["reason"] == "not worth more"),
        "{rows:#?}"
    );
    let verify = env.run(&["audit", "verify", &run]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
    assert!(
        notes(&env).contains("gate_decided agent"),
        "{}",
        notes(&env)
    );
    let again = env.run(&["reject", &run, "--budget", "--reason", "twice"]);
    assert_ne!(again.status.code(), Some(0));
    assert!(tokens_used(&show) >= 1000.0);
}

/// No gate open: refused, saying how the budget gate is rejected when it is.
#[test]
fn a_rejection_with_no_gate_open_is_refused() {
    let env = Env::new();
    let wf = env.workflow(
        "wait.toml",
        "name = \"w\"\nbudget = { tokens = 1000 }\n[[step]]\nid = \"a\"\nrun = \"while [ ! -f end ]; do sleep 0.05; done\"\n",
    );
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    env.wait_step(&run, "a", "running", 30);
    let out = env.run(&["reject", &run, "--budget", "--reason", "why", "--json"]);
    assert_ne!(out.status.code(), Some(0));
    let said = text(&out.stdout) + &text(&out.stderr);
    assert!(said.contains("no_budget_gate"), "{said}");
    std::fs::write(env.path().join("end"), "").unwrap();
    let done = wait_child(engine, 60);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stdout));
}

/// `timeout = "10s", on_timeout = "reject"`; kill -9 of the engine while the gate is
/// open, a resume before the deadline: the gate is rejected by `timeout` at the
/// recorded opening plus 10 s (not 10 s after the resume), the run fails, and the
/// notifier hears it.
#[test]
fn the_timeout_rejects_the_gate_at_its_recorded_time_across_kill_9() {
    let env = Env::new();
    let budget = r#"budget = { tokens = 1000, timeout = "10s", on_timeout = "reject" }"#;
    let wf = env.workflow("loop.toml", &with_budget(budget));
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    let (show, pids) = frozen_at_the_ceiling(&env, &run);
    let deadline = at(&show["budget"]["deadline"]);
    // A kill -9 before the anchor joins the group is the one the engine cannot carry
    // a freeze across (crates/exec/src/local/anchor.rs): the test is of the one after.
    crate::engine::hold::wait_anchored(&pids);
    engine.kill().expect("kill -9");
    let _ = engine.wait();
    // Resume half way to the deadline: a timeout counted from the resume would fire
    // 5 s or more after the recorded one.
    wait_until("half the budget gate's timeout", secs(30), || {
        Timestamp::now().millis() >= deadline.millis() - 5_000
    });
    let resumed_at = Timestamp::now();
    let resumed = env.spawn(&["resume", &run, "--headless"]);
    let show = wait_until("the resumed engine to hold agent again", secs(30), || {
        let v = env.show(&run);
        (step_state(&v, "agent").as_deref() == Some("held") || v["state"] == "failed").then_some(v)
    });
    if show["state"] != "failed" {
        assert_eq!(
            at(&show["budget"]["deadline"]),
            deadline,
            "the recorded deadline stands: {show:#}"
        );
    }
    let done = wait_child(resumed, 60);
    assert_eq!(done.status.code(), Some(1), "{}", text(&done.stdout));
    let show = env.show(&run);
    assert_eq!(show["state"], "failed", "{show:#}");
    let r = &show["budget"]["rejected"];
    assert_eq!(
        (r["by"].clone(), r["timed_out"].clone()),
        ("timeout".into(), true.into())
    );
    let fired = at(&r["at"]);
    assert!(fired >= deadline, "not before its time");
    assert!(
        fired.millis() < resumed_at.millis() + 10_000,
        "at the recorded deadline ({}), not a timeout after the resume ({})",
        deadline.to_rfc3339(),
        resumed_at.to_rfc3339()
    );
    assert_eq!(
        step_state(&show, "agent").as_deref(),
        Some("cancelled"),
        "the resumed engine adopted the frozen step, so the rejection kills it: {show:#}"
    );
    assert!(!env.path().join("ledger").exists(), "report never ran");
    let rows = audit_rows(&env, &run);
    assert!(
        rows.iter()
            .any(|r| r["action"] == "budget_rejected" && r["actor"] == "timeout"),
        "{rows:#?}"
    );
    wait_until("the gate_decided notifier", secs(30), || {
        notes(&env).contains("gate_decided agent")
    });
}
