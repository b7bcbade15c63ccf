//! A decision over `baton link` on a run another account started, in a group store
//! through the real binary: `gmbob`'s link names a step `gmalice`'s run does not have,
//! or one without a gate. No engine drives the run, so a decision goes to the starter's
//! engine as a `commands` row; one that names no gate of the run is refused at once, on
//! record, and never queued.
use super::group_members::{ALICE, BOB, Members, all, interrupted_at_gate};
use crate::fleet::never_both::Link;
use crate::helpers::*;
use baton::model::{Command as Cmd, CommandOutcome, Refusal};
use serde_json::Value;

fn approve(step: &str) -> Cmd {
    Cmd::Approve {
        step: step.into(),
        operator: "whoever".into(),
        reason: Some("ship".into()),
        signature: None,
        inputs: Default::default(),
    }
}

/// The `commands` rows of `run`, as the store holds them: (json, status).
fn queued(m: &Members, run: &str) -> Vec<(String, String)> {
    let conn =
        rusqlite::Connection::open_with_flags(m.db(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut st = conn
        .prepare("SELECT json, status FROM commands WHERE run_id = ?1 ORDER BY id")
        .unwrap();
    st.query_map([run], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The refusals on record under `run`, as alice's `baton audit --json` lists them.
fn refusals(m: &Members, run: &str) -> Vec<Value> {
    json_rows(&m.baton(ALICE, &["audit", run, "--json"]))
        .into_iter()
        .filter(|r| r["action"] == "command_refused")
        .collect()
}

#[test]
fn a_link_decision_naming_no_gate_of_anothers_run_is_refused_on_record_not_queued() {
    let Some(m) = Members::new() else {
        return;
    };
    let (id, _wf) = interrupted_at_gate(&m);
    let mut link = Link::over(m.cmd(BOB, &["link"]));
    // A step the run does not have, and one it has without a gate.
    link.decide(1, &id, approve("prod-deploy"), "req-no-step");
    let got = link.outcome(1);
    assert!(
        matches!(&got, CommandOutcome::Refused(Refusal::NoSuchStep { step }) if step == "prod-deploy"),
        "{got:?}"
    );
    let reject = Cmd::Reject {
        step: "build".into(),
        operator: "whoever".into(),
        reason: "no".into(),
        signature: None,
    };
    link.decide(2, &id, reject, "req-no-gate");
    let got = link.outcome(2);
    assert!(
        matches!(&got, CommandOutcome::Refused(Refusal::NoGate { step }) if step == "build"),
        "{got:?}"
    );
    assert_eq!(
        queued(&m, &id),
        Vec::new(),
        "nothing queued for alice's engine"
    );
    let rows = refusals(&m, &id);
    assert_eq!(rows.len(), 2, "{rows:#?}");
    for (row, (code, decision, step)) in rows.iter().zip([
        ("no_such_step", "approve", "prod-deploy"),
        ("no_gate", "reject", "build"),
    ]) {
        assert_eq!(
            row["actor"], BOB,
            "the link's account, whatever was sent: {row:#}"
        );
        assert_eq!(row["refused"]["code"], code, "{row:#}");
        assert_eq!(row["refused"]["decision"], decision, "{row:#}");
        assert_eq!(row["step"], step, "{row:#}");
    }
    // The run's own gate: recorded for alice's engine, as before.
    link.decide(3, &id, approve("deploy"), "req-deploy");
    let got = link.outcome(3);
    assert!(
        matches!(&got, CommandOutcome::Accepted { message } if message.contains(ALICE)),
        "{got:?}"
    );
    let rows = queued(&m, &id);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].0.contains("\"deploy\""), "{rows:?}");
    assert_eq!(link.end(), Some(0));
    // The CLI's way to the same table (`--no-drive`) is refused alike.
    let out = m.baton(BOB, &["approve", &id, "nope", "--no-drive"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(all(&out).contains("nope"), "{}", all(&out));
    assert_eq!(queued(&m, &id).len(), 1, "{:?}", queued(&m, &id));
    assert_eq!(refusals(&m, &id).len(), 3);
}
