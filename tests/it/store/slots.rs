//! `store::slots`, the store's side of concurrency groups: who holds a group, who waits
//! and in what order, and when a holder lets it go (its run ended, its lease lapsed).
use crate::helpers::*;
use baton::model::state_summary::{StateSummary, SummaryFold};
use baton::model::{EventKind, RunState, Timestamp};
use baton::store::slots::{Joining, Turn, Verdict, WhenBusy};
use baton::store::{Store, lease_holder_name};

fn joining(when_busy: WhenBusy) -> Joining {
    Joining {
        group: "deploy-prod".into(),
        when_busy,
        // A line long enough for these tests (`store::admission` bounds it).
        max_pending: 10,
    }
}

/// Record run `id` of the group, `queued` when the store says it is busy.
fn create(s: &mut Store, id: &str, when_busy: WhenBusy) -> Verdict {
    let mut script = Script::new(id);
    let (decision, _) = s
        .create_run_in_group(
            &new_run(id, 1),
            &lease_holder_name(),
            &joining(when_busy),
            |v| {
                let state = match (v, when_busy) {
                    (Verdict::Holds, _) => RunState::Running,
                    (Verdict::Busy { .. }, WhenBusy::Skip) => RunState::Skipped,
                    (Verdict::Busy { .. }, _) => RunState::Queued,
                };
                script.started().push(EventKind::RunStateChanged {
                    state,
                    reason: None,
                });
                let events = script.take();
                // The summary the run's core would hand over (no steps listed).
                let summary = SummaryFold::replay([], &events).summary();
                (events, summary)
            },
        )
        .expect("create");
    decision.verdict
}

fn finish(s: &mut Store, id: &str) {
    let mut script = Script::new(id);
    script.seq = 2;
    script.run_finished(RunState::Succeeded);
    s.commit(id, &script.take()).expect("commit");
}

fn busy(holder: &str) -> Verdict {
    Verdict::Busy {
        holder: holder.into(),
    }
}

#[test]
fn one_holder_a_line_oldest_first_and_a_holder_that_ended_lets_go() {
    let db = db();
    let mut s = Store::open(&db.path).unwrap();
    assert_eq!(create(&mut s, "R1", WhenBusy::Queue), Verdict::Holds);
    assert_eq!(create(&mut s, "R2", WhenBusy::Queue), busy("R1"));
    assert_eq!(create(&mut s, "R3", WhenBusy::Queue), busy("R1"));
    // A skipping run does not join the line.
    assert_eq!(create(&mut s, "R4", WhenBusy::Skip), busy("R1"));
    assert_eq!(s.admit_queued("R4").unwrap(), Turn::Waits);
    assert_eq!(
        s.admit_queued("R2").unwrap(),
        Turn::Waits,
        "R1 still holds it"
    );
    finish(&mut s, "R1");
    assert_eq!(s.admit_queued("R3").unwrap(), Turn::Waits, "R2 came first");
    assert_eq!(
        s.admit_queued("R2").unwrap(),
        Turn::Holds("deploy-prod".into())
    );
    assert_eq!(
        s.group_holder("deploy-prod").unwrap().as_deref(),
        Some("R2")
    );
    // A new run finds the group busy even though it was free a moment ago.
    assert_eq!(create(&mut s, "R5", WhenBusy::Queue), busy("R2"));
}

#[test]
fn a_lapsed_lease_frees_the_group_and_a_superseding_run_goes_first() {
    let db = db();
    let mut s = Store::open(&db.path).unwrap();
    assert_eq!(create(&mut s, "R1", WhenBusy::Queue), Verdict::Holds);
    assert_eq!(create(&mut s, "R2", WhenBusy::Queue), busy("R1"));
    assert_eq!(create(&mut s, "R3", WhenBusy::QueueFirst), busy("R1"));
    // R1's engine stops beating: its lease lapses and with it the group.
    raw(&db)
        .execute("UPDATE leases SET heartbeat_at = 0 WHERE run_id = 'R1'", [])
        .unwrap();
    assert_eq!(s.group_holder("deploy-prod").unwrap(), None);
    assert_eq!(s.admit_queued("R2").unwrap(), Turn::Waits, "R3 goes first");
    assert_eq!(
        s.admit_queued("R3").unwrap(),
        Turn::Holds("deploy-prod".into())
    );
    // R1, taken over again (its lease taken first), may not run beside R3.
    s.heartbeat("R1", &lease_holder_name(), Timestamp::now())
        .unwrap();
    assert_eq!(
        s.settle_takeover("R1", &lease_holder_name(), true).unwrap(),
        Err(("deploy-prod".to_string(), "R3".to_string()))
    );
    finish(&mut s, "R3");
    assert_eq!(
        s.settle_takeover("R1", &lease_holder_name(), true).unwrap(),
        Ok(())
    );
    assert_eq!(
        s.group_holder("deploy-prod").unwrap().as_deref(),
        Some("R1")
    );
    assert_eq!(
        s.settle_takeover("R9-in-no-group", &lease_holder_name(), true)
            .unwrap(),
        Ok(())
    );
}

/// The first events of a batch's run `id` for `verdict`, as `create` makes them.
/// A new run's opening events for the store's verdict, with the summary its core would
/// hand over (no steps listed).
fn opening(id: &str, v: &Verdict) -> (Vec<baton::model::Event>, StateSummary) {
    let mut script = Script::new(id);
    let state = match v {
        Verdict::Holds => RunState::Running,
        Verdict::Busy { .. } => RunState::Queued,
    };
    script.started().push(EventKind::RunStateChanged {
        state,
        reason: None,
    });
    let events = script.take();
    let summary = SummaryFold::replay([], &events).summary();
    (events, summary)
}

#[test]
fn a_batch_of_runs_is_admitted_as_one_after_the_other_and_recorded_all_or_none() {
    use baton::store::slots::Batched;
    let db = db();
    let mut s = Store::open(&db.path).unwrap();
    // B1 and B2 in one group (B2 waits for B1, made before it in the same
    // transaction), B3 in none.
    let mut batch: Vec<Batched> = [
        ("B1", Some(joining(WhenBusy::Queue))),
        ("B2", Some(joining(WhenBusy::Queue))),
        ("B3", None),
    ]
    .into_iter()
    .map(|(id, joining)| Batched {
        run: new_run(id, 1),
        joining,
    })
    .collect();
    let before = Timestamp::now();
    let made = s
        .create_runs_batch(&mut batch, &lease_holder_name(), |i, v| {
            opening(["B1", "B2", "B3"][i], v)
        })
        .expect("batch");
    let verdicts: Vec<Verdict> = made.into_iter().map(|(d, _)| d.verdict).collect();
    assert_eq!(verdicts, vec![Verdict::Holds, busy("B1"), Verdict::Holds]);
    assert_eq!(
        s.group_holder("deploy-prod").unwrap().as_deref(),
        Some("B1")
    );
    assert_eq!(s.group_line("deploy-prod").unwrap(), vec!["B2".to_string()]);
    for id in ["B1", "B2", "B3"] {
        let r = s.run(id).expect("recorded");
        // Stamped as its row was written, not as it was asked for.
        assert!(r.started_at >= before, "{id} started {:?}", r.started_at);
    }
    assert_eq!(s.run("B2").unwrap().state, RunState::Queued);
    // A batch with one run the store refuses (its id taken) records none of them.
    let mut again: Vec<Batched> = ["B4", "B1"]
        .into_iter()
        .map(|id| Batched {
            run: new_run(id, 1),
            joining: Some(joining(WhenBusy::Queue)),
        })
        .collect();
    let refused = s.create_runs_batch(&mut again, &lease_holder_name(), |i, v| {
        opening(["B4", "B1"][i], v)
    });
    assert!(refused.is_err(), "B1 exists already");
    assert!(s.run("B4").is_err(), "B4 rolled back with the batch");
    assert_eq!(s.group_line("deploy-prod").unwrap(), vec!["B2".to_string()]);
}

/// Issue 55 point 1: a waiting run replaced past `max_pending` leaves the line in the
/// transaction that queues its replacement, so it never takes the group after; the
/// holder is never replaced.
#[test]
fn a_replaced_run_leaves_the_line_at_once_and_never_takes_the_group() {
    let db = db();
    let mut s = Store::open(&db.path).unwrap();
    let one = Joining {
        max_pending: 1,
        ..joining(WhenBusy::Queue)
    };
    let make = |s: &mut Store, id: &str| {
        let (d, _) = s
            .create_run_in_group(&new_run(id, 1), &lease_holder_name(), &one, |v| {
                opening(id, v)
            })
            .expect("create");
        d
    };
    assert_eq!(make(&mut s, "R1").verdict, Verdict::Holds);
    let r2 = make(&mut s, "R2");
    assert_eq!((r2.verdict, r2.replaced), (busy("R1"), vec![]));
    let r3 = make(&mut s, "R3");
    assert_eq!(r3.verdict, busy("R1"));
    assert_eq!(
        r3.replaced,
        vec!["R2".to_string()],
        "R1 holds: never replaced"
    );
    assert_eq!(s.group_line("deploy-prod").unwrap(), vec!["R3".to_string()]);
    finish(&mut s, "R1");
    assert_eq!(
        s.admit_queued("R2").unwrap(),
        Turn::Replaced("deploy-prod".into()),
        "R2 was replaced: its engine ends it"
    );
    assert_eq!(
        s.admit_queued("R3").unwrap(),
        Turn::Holds("deploy-prod".into())
    );
    // Still a member, out of the line: reopened later (`retry`, `mark` take it over),
    // R2 must hold the group again, refused while R3 holds it (issue 61: found by
    // `baton-sim`, seed 1, where R2 ran beside the holder).
    assert_eq!(
        s.settle_takeover("R2", &lease_holder_name(), true).unwrap(),
        Err(("deploy-prod".to_string(), "R3".to_string()))
    );
    finish(&mut s, "R3");
    assert_eq!(
        s.settle_takeover("R2", &lease_holder_name(), true).unwrap(),
        Ok(())
    );
    assert_eq!(
        s.group_holder("deploy-prod").unwrap().as_deref(),
        Some("R2")
    );
}
