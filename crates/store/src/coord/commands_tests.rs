//! A command's verdict and its decision: one transaction ([`Store::commit_decided`]).
use super::*;
use crate::cut::CommitCut;
use crate::records::NewRun;
use baton_model::faults::{self, Faults, Point};
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
    faults::install(Some(std::rc::Rc::new(CutsInTransaction)));
    let cut = s.commit_decided(
        "R1",
        (std::slice::from_ref(&decided), &[]),
        &summary,
        &verdicts,
    );
    faults::install(None);
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

/// The recorded state of `run`, as written (no lease read).
fn recorded(s: &Store, run: &str) -> String {
    s.conn
        .query_row("SELECT state FROM runs WHERE id = ?1", [run], |r| r.get(0))
        .expect("the run's row")
}

fn state_event(seq: u64, state: RunState) -> Event {
    Event {
        seq,
        at: Timestamp(seq as i64),
        kind: EventKind::RunStateChanged {
            state,
            reason: None,
        },
    }
}

#[test]
fn a_takeovers_lease_reads_interrupted_until_it_settles_or_commits() {
    use baton_model::LEASE_STALE;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = store_with_run(&dir.path().join("b.db"));
    let summary = StateSummary::default();
    s.commit_decided(
        "R1",
        (&[state_event(1, RunState::Running)], &[]),
        &summary,
        &[],
    )
    .expect("running");
    assert_eq!(recorded(&s, "R1"), "running");
    let me = crate::holder::lease_holder_name();
    let take = |s: &mut Store| {
        let got = s.take_over_lease("R1", &me, Timestamp::now(), LEASE_STALE);
        assert_eq!(got.expect("take"), LeaseOutcome::Acquired);
    };
    take(&mut s);
    let l = s.run_liveness("R1").expect("liveness");
    assert_eq!(
        (l.state, l.driven_by.as_deref()),
        (RunState::Interrupted, Some(me.as_str())),
        "an unsettled takeover's run reads interrupted, driven by it"
    );
    assert_eq!(s.run("R1").expect("run").state, RunState::Interrupted);
    // No other taker meanwhile.
    let other = s.acquire_lease("R1", "pid 1 on elsewhere", Timestamp::now(), LEASE_STALE);
    assert!(
        matches!(other, Ok(LeaseOutcome::HeldBy { .. })),
        "{other:?}"
    );
    // Settled (its group held again, in no group here): as recorded.
    assert_eq!(s.settle_takeover("R1", &me, true).expect("settle"), Ok(()));
    assert_eq!(s.run_liveness("R1").expect("l").state, RunState::Running);
    // Let go, then taken again; a heartbeat does not settle it, the fenced commit (its
    // end) does.
    s.release_lease("R1", &me).expect("release");
    take(&mut s);
    s.fence("R1", &me, &[]);
    s.heartbeat("R1", &me, Timestamp::now()).expect("beat");
    assert_eq!(
        s.run_liveness("R1").expect("l").state,
        RunState::Interrupted
    );
    assert!(s.lease("R1").expect("lease").is_some_and(|l| l.taking_over));
    s.commit_decided(
        "R1",
        (&[state_event(2, RunState::Cancelled)], &[]),
        &summary,
        &[],
    )
    .expect("the end");
    assert!(
        s.lease("R1")
            .expect("lease")
            .is_some_and(|l| !l.taking_over)
    );
    assert_eq!(s.run_liveness("R1").expect("l").state, RunState::Cancelled);
    // A plain lease (a new engine's) is never marked, even over a marked one.
    s.release_lease("R1", &me).expect("release");
    take(&mut s);
    assert!(s.lease("R1").expect("lease").is_some_and(|l| l.taking_over));
    let plain = s.acquire_lease("R1", &me, Timestamp::now(), LEASE_STALE);
    assert_eq!(plain.expect("acquire"), LeaseOutcome::Acquired);
    assert!(
        s.lease("R1")
            .expect("lease")
            .is_some_and(|l| !l.taking_over)
    );
}

#[test]
fn a_process_never_takes_over_a_run_it_drives() {
    use baton_model::LEASE_STALE;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = store_with_run(&dir.path().join("b.db"));
    s.commit_decided(
        "R1",
        (&[state_event(1, RunState::Running)], &[]),
        &StateSummary::default(),
        &[],
    )
    .expect("running");
    let me = crate::holder::lease_holder_name();
    let take = |s: &mut Store| s.take_over_lease("R1", &me, Timestamp::now(), LEASE_STALE);
    let marked = |s: &Store| s.lease("R1").expect("lease").is_some_and(|l| l.taking_over);
    // Taken over and settled: this process drives it. Taken over again by the same
    // process, it is refused as driven, and the run reads as it did, driven here.
    assert_eq!(take(&mut s).expect("take"), LeaseOutcome::Acquired);
    assert_eq!(s.settle_takeover("R1", &me, true).expect("settle"), Ok(()));
    let again = take(&mut s).expect("take again");
    assert!(
        matches!(&again, LeaseOutcome::HeldBy { holder, .. } if *holder == me),
        "{again:?}"
    );
    assert!(!marked(&s), "a refused re-take marks nothing");
    let l = s.run_liveness("R1").expect("liveness");
    assert_eq!(
        (l.state, l.driven_by.as_deref()),
        (RunState::Running, Some(me.as_str()))
    );
    // Its own takeover not settled yet: a second one is refused too, the first's
    // mark left for it to settle.
    s.release_lease("R1", &me).expect("release");
    assert_eq!(take(&mut s).expect("take"), LeaseOutcome::Acquired);
    assert!(matches!(take(&mut s), Ok(LeaseOutcome::HeldBy { .. })));
    assert!(marked(&s));
    assert_eq!(s.settle_takeover("R1", &me, true).expect("settle"), Ok(()));
    assert_eq!(s.run("R1").expect("run").state, RunState::Running);
    // An engine still renews its own lease (`acquire_lease`).
    let renewed = s.acquire_lease("R1", &me, Timestamp::now(), LEASE_STALE);
    assert_eq!(renewed.expect("renew"), LeaseOutcome::Acquired);
    // Its own lease lapsed (a process stopped past it): taken over, marked.
    let old = Timestamp::now().0 - 60_000;
    s.conn
        .execute("UPDATE leases SET heartbeat_at = ?1", [old])
        .expect("age the lease");
    assert_eq!(take(&mut s).expect("take"), LeaseOutcome::Acquired);
    assert!(marked(&s), "a lapsed lease taken again is a takeover");
}

/// The files in the store's proofs directory.
fn proofs(db: &std::path::Path) -> usize {
    std::fs::read_dir(db.with_file_name("b.db.proofs")).map_or(0, |d| d.count())
}

/// Issue 75 point 7: a claim keeps the row's proof, so an engine killed before its
/// verdict leaves the row provable by the next; the proof goes with the verdict's
/// commit, and meanwhile a copy of the row (its text, proof and all) is refused.
#[test]
fn a_claim_keeps_the_proof_until_the_verdict_commits_and_a_copy_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("b.db");
    let mut s = store_with_run(&db);
    let operator = nix::unistd::User::from_uid(nix::unistd::getuid())
        .expect("the account")
        .expect("a name")
        .name;
    let cancel = Command::Cancel {
        operator,
        reason: None,
    };
    let id = s.submit_command("R1", &cancel, None).expect("submit");
    let claimed = s.claim_commands("R1").expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].unproven, None, "proved");
    assert_eq!(proofs(&db), 1, "kept past the claim");
    // Taken again (its engine died before its verdict): still proved.
    s.conn
        .execute("UPDATE commands SET status = 'pending' WHERE id = ?1", [id])
        .expect("left open");
    let again = s.claim_commands("R1").expect("claim again");
    assert_eq!(again[0].unproven, None, "proved by the next engine");
    // A copy of the row, made in the database meanwhile, proves nothing.
    s.conn
        .execute(
            "INSERT INTO commands (run_id, json, submitted_at) SELECT run_id, json, submitted_at FROM commands WHERE id = ?1",
            [id],
        )
        .expect("a copy");
    let copy = s.claim_commands("R1").expect("claim the copy");
    assert_eq!(copy.len(), 1);
    assert_ne!(copy[0].id, id);
    let why = format!("{:?}", copy[0].unproven);
    assert!(why.contains(&format!("a copy of command {id}")), "{why}");
    // The verdict committed: the proof is gone.
    let accepted = CommandOutcome::Accepted {
        message: "cancelled".into(),
    };
    s.commit_decided(
        "R1",
        (&[], &[]),
        &StateSummary::default(),
        &[(id, accepted)],
    )
    .expect("the verdict");
    assert_eq!(proofs(&db), 0, "removed with the verdict");
    // A row the engine masks (a secret in its reason) names no proof any more: its
    // proof goes as it is rewritten, never left behind.
    let id = s.submit_command("R1", &cancel, None).expect("submit");
    s.claim_commands("R1").expect("claim");
    assert_eq!(proofs(&db), 1);
    s.rewrite_command(id, &cancel).expect("masked");
    assert_eq!(proofs(&db), 0, "removed with the text that named it");
}

/// The fault door of an engine killed inside its commit's transaction.
struct CutsInTransaction;

impl Faults for CutsInTransaction {
    fn now(&self) -> Timestamp {
        faults::Wall.now()
    }
    fn dies_at(&self, at: Point<'_>) -> bool {
        at == Point::Commit(CommitCut::InTransaction)
    }
}

/// An engine that lost its run and took it again under the same holder name (the same
/// process: found by `baton-sim --mix remote`, seeds 272 and 281) claims again what its
/// earlier drive claimed and never decided; within one drive a row is claimed once.
#[test]
fn a_claim_left_by_an_earlier_drive_of_the_same_holder_is_taken_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("b.db");
    let mut s = store_with_run(&db);
    let me = crate::holder::lease_holder_name();
    let got = s.acquire_lease("R1", &me, Timestamp::now(), baton_model::LEASE_STALE);
    assert_eq!(got.expect("lease"), LeaseOutcome::Acquired);
    let cancel = Command::Cancel {
        operator: "ana".into(),
        reason: None,
    };
    let id = s.submit_command("R1", &cancel, None).expect("submit");
    s.fence("R1", &me, &[]);
    let first = s.claim_commands("R1").expect("claim");
    assert_eq!(first.iter().map(|c| c.id).collect::<Vec<_>>(), [id]);
    assert!(
        s.claim_commands("R1").expect("claim").is_empty(),
        "once a drive"
    );
    // The drive stops before its verdict; the same holder takes the run again.
    s.fence("R1", &me, &[]);
    let again = s.claim_commands("R1").expect("claim again");
    assert_eq!(again.iter().map(|c| c.id).collect::<Vec<_>>(), [id]);
    assert!(
        s.claim_commands("R1").expect("claim").is_empty(),
        "once a drive"
    );
}
