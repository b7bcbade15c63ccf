//! A command's verdict and its decision: one transaction ([`Store::commit_decided`]).
use super::*;
use crate::cut::CommitCut;
use crate::records::NewRun;
use baton_model::state_summary::StateSummary;
use baton_model::{EventKind, RunState};

fn store_with_run(db: &std::path::Path) -> Store {
    let mut s = Store::open(db).expect("store");
    s.create_run(&NewRun::bare("R1")).expect("a run");
    s
}

#[test]
fn a_commands_verdict_is_committed_with_its_decision_or_not_at_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("b.db");
    let mut s = store_with_run(&db);
    let cancel = Command::Cancel {
        operator: "ana".into(),
        reason: None,
    };
    let id = s.submit_command("R1", &cancel, None).expect("submit");
    assert_eq!(s.claim_commands("R1").expect("claim").len(), 1);
    let decided = Event {
        seq: 1,
        at: Timestamp(2),
        kind: EventKind::RunStateChanged {
            state: RunState::Running,
            reason: None,
        },
    };
    let accepted = CommandOutcome::Accepted {
        message: "cancelled".into(),
    };
    let verdicts = [(id, accepted.clone())];
    let summary = StateSummary::default();
    // The engine dies inside the commit: neither the decision nor the verdict.
    s.cut_next_commit(CommitCut::InTransaction);
    let cut = s.commit_decided(
        "R1",
        (std::slice::from_ref(&decided), &[]),
        &summary,
        &verdicts,
    );
    assert!(matches!(cut, Err(StoreError::Cut { .. })), "{cut:?}");
    drop(s);
    let mut s = Store::open(&db).expect("store");
    assert_eq!(s.command_outcome(id).expect("read"), None);
    // Committed: both at once.
    s.commit_decided("R1", (&[decided], &[]), &summary, &verdicts)
        .expect("commit");
    assert_eq!(s.command_outcome(id).expect("read"), Some(accepted));
    // Decided without an event (a refusal the core records nowhere else): alone.
    let id = s.submit_command("R1", &cancel, None).expect("submit");
    let refused = CommandOutcome::Refused(Refusal::NotStarted);
    s.commit_decided("R1", (&[], &[]), &summary, &[(id, refused.clone())])
        .expect("the verdict alone");
    assert_eq!(s.command_outcome(id).expect("read"), Some(refused));
}
