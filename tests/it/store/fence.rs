//! `store::fence`: an engine's commits and heartbeats to a run it drives check, in
//! their own transaction, that the run still holds its lease and its concurrency
//! group. The chaos campaign's finding (docs/simulator.md): an engine stopped past
//! its lease lost the group to the next run and, continued, started its step beside
//! that run's.
use crate::helpers::*;
use baton::model::state_summary::{StateSummary, SummaryFold};
use baton::model::{EventKind, LEASE_STALE, RunState, Timestamp};
use baton::store::slots::{Joining, Turn, Verdict, WhenBusy};
use baton::store::{LeaseOutcome, Store, StoreError};

/// Engines on hosts of their own: only their heartbeats say whether they live.
const A: &str = "pid 1 on engine-a";
const B: &str = "pid 2 on engine-b";

fn joining() -> Joining {
    Joining {
        group: "deploy-prod".into(),
        when_busy: WhenBusy::Queue,
        max_pending: 1,
    }
}

fn create(s: &mut Store, id: &str, holder: &str) -> Verdict {
    let (d, _) = s
        .create_run_in_group(&new_run(id, 1), holder, &joining(), |v| {
            let state = match v {
                Verdict::Holds => RunState::Running,
                Verdict::Busy { .. } => RunState::Queued,
            };
            let mut script = Script::new(id);
            script.started().push(EventKind::RunStateChanged {
                state,
                reason: None,
            });
            let events = script.take();
            let summary: StateSummary = SummaryFold::replay([], &events).summary();
            (events, summary)
        })
        .expect("create");
    d.verdict
}

/// Run `id`'s engine has not beaten for longer than a lease lives (it was stopped).
fn lapse(db: &Db, id: &str) {
    beat_at(
        db,
        id,
        Timestamp::now().0 - LEASE_STALE.as_millis() as i64 - 1_000,
    );
}

/// Run `id`'s lease as last beaten at `ms` (milliseconds since the epoch).
fn beat_at(db: &Db, id: &str, ms: i64) {
    rusqlite::Connection::open(&db.path)
        .unwrap()
        .execute(
            "UPDATE leases SET heartbeat_at = ?1 WHERE run_id = ?2",
            rusqlite::params![ms, id],
        )
        .unwrap();
}

#[test]
fn a_fenced_commit_writes_the_lease_again_only_once_its_heartbeat_is_a_second_old() {
    let db = db();
    let mut s = Store::open(&db.path).unwrap();
    assert_eq!(create(&mut s, "R1", A), Verdict::Holds);
    let mut a = Store::open(&db.path).unwrap();
    a.fence("R1", A, &[]);
    // On a fault door of this thread's (as the simulator's), its clock still, so that
    // a loaded machine's pause between the statements below is not read as the
    // heartbeat's age.
    let t = Timestamp::now();
    baton::model::faults::install(Some(std::rc::Rc::new(Still(t))));
    // Beaten a moment ago (a commit of the step before): the lease's page stays as it is.
    let lately = t.0 - 200;
    beat_at(&db, "R1", lately);
    a.commit("R1", &next_event("R1")).unwrap();
    let beat = s.lease("R1").unwrap().unwrap().heartbeat_at;
    assert_eq!(beat.0, lately, "a fresh heartbeat is not written again");
    // Beaten longer ago than `RENEW_AFTER` (1 s), not lapsed: written again.
    let before = Timestamp::now();
    beat_at(&db, "R1", before.0 - 3_000);
    let mut next = next_event("R1");
    next[0].seq = last_seq(&s, "R1") + 1;
    a.commit("R1", &next).unwrap();
    let beat = s.lease("R1").unwrap().unwrap().heartbeat_at;
    assert!(beat.0 >= before.0, "renewed: {beat:?} against {before:?}");
    // Another holder's fresh lease (written by hand: no takeover waits this little):
    // the commit is refused all the same, and writes nothing.
    rusqlite::Connection::open(&db.path)
        .unwrap()
        .execute(
            "UPDATE leases SET holder = 'pid 3 on engine-c', heartbeat_at = ?1",
            [Timestamp::now().0],
        )
        .unwrap();
    let before = s.events("R1").unwrap().len();
    next[0].seq = last_seq(&s, "R1") + 1;
    assert!(matches!(
        a.commit("R1", &next),
        Err(StoreError::LeaseLost { .. })
    ));
    assert_eq!(s.events("R1").unwrap().len(), before);
    baton::model::faults::install(None);
}

/// A fault door whose clock stands still at its time, and no fault.
struct Still(Timestamp);

impl baton::model::faults::Faults for Still {
    fn now(&self) -> Timestamp {
        self.0
    }
    fn dies_at(&self, _at: baton::model::faults::Point<'_>) -> bool {
        false
    }
}

/// The sequence number of run `id`'s last event.
fn last_seq(s: &Store, id: &str) -> u64 {
    s.events(id).unwrap().last().map_or(0, |e| e.seq)
}

/// The next event of run `id` (its third: started, state, then this one).
fn next_event(id: &str) -> Vec<baton::model::Event> {
    let mut script = Script::new(id);
    script.seq = 2;
    script.push(EventKind::RunStateChanged {
        state: RunState::Running,
        reason: Some("a step starts".into()),
    });
    script.take()
}

#[test]
fn an_engine_continued_after_its_group_went_on_commits_nothing_more() {
    let db = db();
    let mut s = Store::open(&db.path).unwrap();
    assert_eq!(create(&mut s, "R1", A), Verdict::Holds);
    assert!(matches!(create(&mut s, "R2", B), Verdict::Busy { .. }));
    lapse(&db, "R1");
    // R2's engine polls: R1's lease lapsed and nothing of it runs, so R2 takes it.
    assert_eq!(
        s.admit_queued("R2").unwrap(),
        Turn::Holds("deploy-prod".into())
    );
    // R1's engine is continued: what it commits next would start its step.
    let mut a = Store::open(&db.path).unwrap();
    a.fence("R1", A, &[]);
    let before = s.events("R1").unwrap().len();
    match a.commit("R1", &next_event("R1")) {
        Err(StoreError::GroupLost { group, holder, .. }) => {
            assert_eq!((group.as_str(), holder.as_str()), ("deploy-prod", "R2"))
        }
        other => panic!("a commit after the group went to R2: {other:?}"),
    }
    assert_eq!(
        s.events("R1").unwrap().len(),
        before,
        "nothing of it written"
    );
    assert!(matches!(
        a.heartbeat("R1", A, Timestamp::now()),
        Err(StoreError::GroupLost { .. })
    ));
    assert!(matches!(
        a.check_fence("R1"),
        Err(StoreError::GroupLost { .. })
    ));
    assert_eq!(
        s.group_holder("deploy-prod").unwrap().as_deref(),
        Some("R2")
    );
    // Unfenced (as every engine was before), the same commit went through.
    let mut unfenced = Store::open(&db.path).unwrap();
    unfenced.commit("R1", &next_event("R1")).unwrap();
}

#[test]
fn a_group_no_one_took_meanwhile_is_taken_back_and_the_lease_renewed() {
    let db = db();
    let mut s = Store::open(&db.path).unwrap();
    assert_eq!(create(&mut s, "R1", A), Verdict::Holds);
    lapse(&db, "R1");
    // Someone looked while R1's lease had lapsed: its row let the group go.
    assert_eq!(s.group_holder("deploy-prod").unwrap(), None);
    let mut a = Store::open(&db.path).unwrap();
    a.fence("R1", A, &[]);
    a.commit("R1", &next_event("R1")).unwrap();
    assert_eq!(
        s.group_holder("deploy-prod").unwrap().as_deref(),
        Some("R1"),
        "taken back: no one else started meanwhile"
    );
    let beat = s.lease("R1").unwrap().unwrap().heartbeat_at;
    assert!(
        Timestamp::now().since(beat) < LEASE_STALE,
        "the commit renewed the lease"
    );
    // A run that came after it now waits for it.
    assert!(matches!(create(&mut s, "R2", B), Verdict::Busy { .. }));
}

#[test]
fn a_lease_taken_over_meanwhile_is_lost_to_a_fenced_commit() {
    let db = db();
    let mut s = Store::open(&db.path).unwrap();
    assert_eq!(create(&mut s, "R1", A), Verdict::Holds);
    lapse(&db, "R1");
    // `baton resume` took the lapsed lease over.
    let taken = s
        .acquire_lease("R1", "pid 3 on engine-c", Timestamp::now(), LEASE_STALE)
        .unwrap();
    assert_eq!(taken, LeaseOutcome::Acquired);
    let mut a = Store::open(&db.path).unwrap();
    a.fence("R1", A, &[]);
    match a.commit("R1", &next_event("R1")) {
        Err(StoreError::LeaseLost { holder, .. }) => {
            assert_eq!(holder.as_deref(), Some("pid 3 on engine-c"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_queued_run_s_engine_commits_while_it_waits_in_line() {
    let db = db();
    let mut s = Store::open(&db.path).unwrap();
    assert_eq!(create(&mut s, "R1", A), Verdict::Holds);
    assert!(matches!(create(&mut s, "R2", B), Verdict::Busy { .. }));
    let mut b = Store::open(&db.path).unwrap();
    b.fence("R2", B, &[]);
    let mut script = Script::new("R2");
    script.seq = 2;
    script.run_finished(RunState::Cancelled);
    b.commit("R2", &script.take()).unwrap();
    b.heartbeat("R2", B, Timestamp::now()).unwrap();
}

#[test]
fn a_queued_run_whose_lease_lapsed_while_a_later_run_joined_the_line_loses_its_place() {
    let db = db();
    let mut s = Store::open(&db.path).unwrap();
    assert_eq!(create(&mut s, "R1", A), Verdict::Holds);
    assert!(matches!(create(&mut s, "R2", B), Verdict::Busy { .. }));
    lapse(&db, "R2");
    // R3 joins while R2 reads gone: counted against max_pending = 1 without it.
    assert!(matches!(
        create(&mut s, "R3", "pid 3 on engine-c"),
        Verdict::Busy { .. }
    ));
    assert_eq!(s.group_line("deploy-prod").unwrap(), vec!["R3".to_string()]);
    let mut b = Store::open(&db.path).unwrap();
    b.fence("R2", B, &[]);
    assert!(matches!(
        b.heartbeat("R2", B, Timestamp::now()),
        Err(StoreError::LineLost { .. })
    ));
    assert_eq!(
        s.group_line("deploy-prod").unwrap(),
        vec!["R3".to_string()],
        "R2 stays out of the line: max_pending holds"
    );
}

/// The chaos campaign's seed 105: a waiting run replaced (max_pending) while its
/// engine was stopped past its lease has no place in line to lose; continued, its
/// engine learns it was replaced and may record the run's end (nothing else starts:
/// it never holds the group).
#[test]
fn a_replaced_run_whose_lease_lapsed_may_still_record_its_end() {
    let db = db();
    let mut s = Store::open(&db.path).unwrap();
    assert_eq!(create(&mut s, "R1", A), Verdict::Holds);
    assert!(matches!(create(&mut s, "R2", B), Verdict::Busy { .. }));
    assert!(matches!(
        create(&mut s, "R3", "pid 3 on engine-c"),
        Verdict::Busy { .. }
    ));
    lapse(&db, "R2");
    let mut b = Store::open(&db.path).unwrap();
    b.fence("R2", B, &[]);
    b.heartbeat("R2", B, Timestamp::now())
        .expect("a replaced run keeps its lease: it has no place to lose");
    assert_eq!(
        b.admit_queued("R2").unwrap(),
        Turn::Replaced("deploy-prod".into())
    );
    let mut script = Script::new("R2");
    script.seq = 2;
    script.run_finished(RunState::Cancelled);
    b.commit("R2", &script.take()).expect("its end is recorded");
    assert_eq!(s.group_line("deploy-prod").unwrap(), vec!["R3".to_string()]);
}

/// Run `id` (driven by engine A, on another host) starts `ship` on an SSH host:
/// its start, its launch, and (`job`) the job the launch made.
fn ship_started(s: &mut Store, id: &str, job: Option<&str>) {
    let mut script = Script::new(id);
    script.seq = 2;
    script.push(EventKind::StepStateChanged {
        step: "ship".into(),
        state: baton::model::StepState::Running,
        attempt: 1,
        reason: None,
    });
    script.push(EventKind::StepLaunching {
        step: "ship".into(),
        attempt: 1,
        executor: "box".into(),
    });
    if let Some(job_id) = job {
        script.push(EventKind::StepJob {
            step: "ship".into(),
            attempt: 1,
            executor: "box".into(),
            job_id: job_id.into(),
        });
    }
    s.commit(id, &script.take()).expect("commit");
}

/// Found by the simulator (`--mix remote`; docs/simulator.md): the engine of the
/// group's holder, on another host, dies while its step runs on an SSH host. Its
/// processes cannot be looked at from here, but its job is on record, and before it
/// ends, or a takeover re-attaches to it, the group is not handed over. So is a
/// launch whose job never reached the record: only a takeover, asking the host, can
/// say whether it made one.
#[test]
fn a_dead_holder_s_remote_job_or_launch_on_record_keeps_its_group_wherever_its_engine_was() {
    for (job, what) in [(Some("4242"), "job"), (None, "launching")] {
        let db = db();
        let mut s = Store::open(&db.path).unwrap();
        assert_eq!(create(&mut s, "R1", A), Verdict::Holds);
        ship_started(&mut s, "R1", job);
        assert!(matches!(create(&mut s, "R2", B), Verdict::Busy { .. }));
        lapse(&db, "R1");
        assert_eq!(s.admit_queued("R2").unwrap(), Turn::Waits, "{what}");
        let left = s.left_running("R1").unwrap();
        assert_eq!(left.len(), 1, "{what}: {left:?}");
        assert_eq!(left[0].step(), "ship");
        let json = serde_json::to_value(&left[0]).unwrap();
        assert_eq!(json["kind"], what, "{json}");
        let why = s.group_wait("R2").unwrap().unwrap_or_default();
        assert!(
            why.contains("engine is gone") && why.contains("ship"),
            "{why}"
        );
        // Once the step's attempt ended on record, the group goes on.
        let mut script = Script::new("R1");
        script.seq = if job.is_some() { 5 } else { 4 };
        script.push(EventKind::StepStateChanged {
            step: "ship".into(),
            state: baton::model::StepState::Interrupted,
            attempt: 1,
            reason: Some("its host said it never started".into()),
        });
        s.commit("R1", &script.take()).expect("commit");
        lapse(&db, "R1");
        assert_eq!(
            s.admit_queued("R2").unwrap(),
            Turn::Holds("deploy-prod".into()),
            "{what}"
        );
    }
}

/// Found in review: an engine stopped past its lease and continued after a takeover
/// claimed a command under the new holder's name (`claimed_by` was whoever held the
/// lease), its commit then refused; the new holder never took the row again, so it
/// stayed `claimed` with no verdict for good. The stale engine now claims nothing and
/// the new holder takes the command.
#[test]
fn an_engine_that_lost_its_lease_claims_no_command_and_the_new_holder_takes_it() {
    let db = db();
    let mut s = Store::open(&db.path).unwrap();
    assert_eq!(create(&mut s, "R1", A), Verdict::Holds);
    let mut a = Store::open(&db.path).unwrap();
    a.fence("R1", A, &[]);
    // Taken over while A was stopped.
    rusqlite::Connection::open(&db.path)
        .unwrap()
        .execute(
            "UPDATE leases SET holder = ?1, heartbeat_at = ?2 WHERE run_id = 'R1'",
            rusqlite::params![B, Timestamp::now().0],
        )
        .unwrap();
    let cmd = baton::model::Command::Cancel {
        operator: "alice".into(),
        reason: Some("stop".into()),
    };
    let id = s.submit_command("R1", &cmd, None).unwrap();
    assert!(a.claim_commands("R1").unwrap().is_empty(), "A claimed");
    let status: String = rusqlite::Connection::open(&db.path)
        .unwrap()
        .query_row("SELECT status FROM commands WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(status, "pending", "the row is left for the lease's holder");
    let mut b = Store::open(&db.path).unwrap();
    b.fence("R1", B, &[]);
    let claimed = b.claim_commands("R1").unwrap();
    assert_eq!(claimed.iter().map(|c| c.id).collect::<Vec<_>>(), [id]);
}
