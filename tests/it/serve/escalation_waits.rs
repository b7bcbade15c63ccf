//! Every wait a person decides and `gate_opened` tells of escalates as an approval
//! gate does: a budget gate (the run's budget stopped a step) and a step's ask
//! (`baton ask`), each once per step of the list, on record, with no page link (the
//! page shows approval gates only) and a key of its own.
use super::escalation::{NTFY, rows, serve, served, start_run};
use super::receiver::Receiver;
use super::*;

/// The run waits on `kind` (as `baton inbox --json` names it): its item.
fn waits_on(s: &Served, kind: &str) -> serde_json::Value {
    wait_until(&format!("a {kind} wait in the inbox"), secs(30), || {
        let out = s.env.run(&["inbox", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        v.as_array()?.iter().find(|w| w["kind"] == kind).cloned()
    })
}

/// The escalation of the one wait of `steps` (of `kind`), sent once to ntfy and on
/// record: the post, the wait's item and the run's id.
fn escalated(steps: &str, kind: &str) -> (receiver::Got, serde_json::Value, String) {
    let rx = Receiver::start();
    let mut s = served(&rx, steps, NTFY);
    let (child, _log) = serve(&mut s);
    let (run, mut engine) = start_run(&s);
    let item = waits_on(&s, kind);
    let got = rx.wait_for("/alice-topic");
    let key = got.header("idempotency-key").unwrap().to_string();
    let r = wait_until("the send on record", secs(10), || {
        let r = rows(&s, &run);
        (r.len() == 2).then_some(r)
    });
    assert_eq!(
        r,
        [
            ("escalation_due".to_string(), key.clone()),
            ("escalation_sent".to_string(), key)
        ]
    );
    term(child);
    assert_eq!(rx.to("/alice-topic").len(), 1, "told once");
    let out = s.env.run(&["audit", "verify"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    kill9(&mut engine);
    (got, item, run)
}

/// A budget gate: the step that went past the budget is frozen, the run waits for a
/// raise; the next block is told what the budget stops, keyed by the budget's wait.
#[test]
fn a_budget_gate_escalates_once_on_record() {
    let steps = r#"budget = { tokens = 100 }

[[step]]
id = "agent"
timeout = "5m"
run = 'echo tokens=500 >> "$BATON_USAGE"; sleep 120'
"#;
    let (got, item, run) = escalated(steps, "budget");
    assert_eq!(item["step"], "budget", "{item}");
    let key = got.header("idempotency-key").unwrap();
    assert!(key.starts_with(&format!("{run}/budget/")), "{key}");
    assert!(
        got.body
            .starts_with("Budget exceeded: tokens 500 used of 100"),
        "{got:?}"
    );
    assert_eq!(got.header("click"), None, "the page shows no budget gate");
}

/// A step's ask: the next block is told its prompt, keyed by the ask's id.
#[test]
fn a_step_s_ask_escalates_once_on_record() {
    let steps = format!(
        "[[step]]\nid = \"migrate\"\nrun = \"'{}' ask --prompt 'apply the migration?'\"\n",
        env!("CARGO_BIN_EXE_baton")
    );
    let (got, item, run) = escalated(&steps, "ask");
    let ask = item["ask"].as_str().unwrap();
    let key = got.header("idempotency-key").unwrap();
    assert!(key.starts_with(&format!("{run}/{ask}/")), "{key}");
    assert_eq!(got.body, "apply the migration?");
    assert_eq!(got.header("click"), None, "the page shows no ask");
}

/// The look keeps a run's waits until its events change: a gate decided is escalated no
/// more and the gate its decision opens next is escalated, each once, on record.
#[test]
fn a_gate_opened_after_another_was_decided_escalates_in_its_turn() {
    let steps = r#"[[step]]
id = "build"
run = "true"
gate = { prompt = "Build?" }

[[step]]
id = "deploy"
needs = ["build"]
run = "true"
gate = { prompt = "Ship 1.2?" }
"#;
    let rx = Receiver::start();
    let mut s = served(&rx, steps, NTFY);
    let (child, _log) = serve(&mut s);
    let (run, mut engine) = start_run(&s);
    let first = rx.wait_for("/alice-topic");
    assert_eq!(first.body, "Build?");
    let out = s.env.run(&["approve", &run, "build", "--reason", "go"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let second = wait_until("the next gate escalated", secs(30), || {
        rx.to("/alice-topic").get(1).cloned()
    });
    assert_eq!(second.body, "Ship 1.2?");
    let keys: Vec<String> = [&first, &second]
        .iter()
        .map(|g| g.header("idempotency-key").unwrap().to_string())
        .collect();
    assert!(keys[0].starts_with(&format!("{run}/build/")), "{keys:?}");
    assert!(keys[1].starts_with(&format!("{run}/deploy/")), "{keys:?}");
    wait_until("both sends on record", secs(10), || {
        (rows(&s, &run).len() == 4).then_some(())
    });
    term(child);
    assert_eq!(rx.to("/alice-topic").len(), 2, "each gate told once");
    kill9(&mut engine);
}
