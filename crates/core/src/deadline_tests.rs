//! Deadline alerts on a fake clock: reported once when missed, never stopping
//! anything, never for what was done in time, and once across a crash and resume.
use super::testkit::*;
use super::*;
use baton_model::EventKind;
use baton_model::deadline::TimeOfDay;
use baton_workflow::Deadline;

fn within(s: u64) -> Deadline {
    Deadline {
        at: None,
        within: Some(secs(s)),
        notify: Vec::new(),
    }
}

fn missed(sim: &Sim) -> Vec<(Option<String>, Timestamp, String)> {
    sim.events_named("deadline_missed")
        .into_iter()
        .filter_map(|e| match &e.kind {
            EventKind::DeadlineMissed { step, due, rule } => {
                Some((step.clone(), *due, rule.clone()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_run_past_its_deadline_is_reported_once_and_goes_on() {
    let p = plan()
        .step("slow")
        .plan_mut(|p| p.deadline = Some(within(2)))
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.started("slow");
    assert_eq!(sim.core.next_wakeup(), Some(Timestamp(T0 + 2_000)));
    assert!(missed(&sim).is_empty());
    let fx = sim.tick_at(2_000);
    assert_eq!(
        missed(&sim),
        [(None, Timestamp(T0 + 2_000), "within 2.0s".to_string())]
    );
    assert!(kills(&fx).is_empty(), "nothing is killed");
    assert_eq!(sim.state("slow"), StepState::Running);
    sim.tick_at(9_000);
    sim.exit("slow", 0);
    assert_eq!(sim.state("slow"), StepState::Succeeded);
    assert_eq!(sim.core.run_state(), RunState::Succeeded);
    assert_eq!(missed(&sim).len(), 1, "once");
    let v = sim.core.view(Timestamp(sim.now));
    assert_eq!(v.deadlines.len(), 1);
    assert_eq!(v.deadlines[0].missed, Some(Timestamp(T0 + 2_000)));
    assert!(!v.deadlines[0].met);
}

#[test]
fn a_run_done_in_time_never_reports() {
    let p = plan()
        .step("quick")
        .plan_mut(|p| p.deadline = Some(within(2)))
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.started("quick");
    sim.at(1_000);
    sim.exit("quick", 1);
    assert_eq!(
        sim.core.run_state(),
        RunState::Failed,
        "a failure is done too"
    );
    sim.tick_at(5_000);
    assert!(missed(&sim).is_empty());
    assert!(sim.core.view(Timestamp(sim.now)).deadlines[0].met);
}

#[test]
fn a_steps_within_counts_from_when_it_became_ready() {
    let p = plan()
        .step("first")
        .step_needs("second", &["first"])
        .with(|s| s.deadline = Some(Box::new(within(3))))
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.started("first");
    // `second` waits for `first`: its clock has not started.
    sim.tick_at(10_000);
    assert!(missed(&sim).is_empty());
    sim.exit("first", 0);
    assert_eq!(sim.state("second"), StepState::Running, "ready at 10 s");
    sim.started("second");
    sim.tick_at(12_999);
    assert!(missed(&sim).is_empty());
    sim.tick_at(13_000);
    let m = missed(&sim);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].0.as_deref(), Some("second"));
    assert_eq!(m[0].1, Timestamp(T0 + 13_000));
    assert_eq!(m[0].2, "within 3.0s of ready");
}

#[test]
fn the_earlier_of_at_and_within_wins_and_at_is_read_in_the_recorded_zone() {
    let start = Timestamp::parse_rfc3339("2026-11-26T04:00:00Z").unwrap();
    let p = plan()
        .step("s")
        .plan_mut(|p| {
            p.deadline = Some(Deadline {
                at: TimeOfDay::parse("06:00"),
                within: Some(secs(4 * 3600)),
                notify: Vec::new(),
            })
        })
        .build();
    let mut c = cfg();
    c.zone = Some("Europe/Paris".into());
    let mut core = Core::new(p, c);
    let fx = core.start(start);
    let zone = persisted(&fx).into_iter().find_map(|k| match k {
        EventKind::RunStarted { zone, .. } => zone,
        _ => None,
    });
    assert_eq!(zone.as_deref(), Some("Europe/Paris"), "on record");
    // 06:00 in Paris is 05:00 UTC, before the 4 hours are up.
    let due = Timestamp::parse_rfc3339("2026-11-26T05:00:00Z").unwrap();
    assert_eq!(core.next_wakeup(), Some(due));
    let fx = core.handle(Input::Tick, due);
    let rules: Vec<String> = persisted(&fx)
        .into_iter()
        .filter_map(|k| match k {
            EventKind::DeadlineMissed { rule, .. } => Some(rule),
            _ => None,
        })
        .collect();
    assert_eq!(rules, ["at 06:00 (Europe/Paris)"]);
}

/// An engine down at the deadline reports it when it resumes, and an engine that
/// resumes again after that does not report it twice.
#[test]
fn an_engine_down_at_the_deadline_reports_it_on_resume_once() {
    let p = plan()
        .step("slow")
        .plan_mut(|p| p.deadline = Some(within(2)))
        .build();
    let mut sim = Sim::new(p.clone(), cfg());
    sim.started("slow");
    sim.tick_at(1_000);
    // Killed before the deadline: no record of it.
    let mut core = Core::replay(p.clone(), cfg(), sim.core.events()).expect("replay");
    let fx = core.resume("olivia", Timestamp(T0 + 60_000));
    let reported: Vec<EventKind> = persisted(&fx)
        .into_iter()
        .filter(|k| k.name() == "deadline_missed")
        .collect();
    assert_eq!(reported.len(), 1, "reported on resume");
    let EventKind::DeadlineMissed { due, .. } = &reported[0] else {
        unreachable!()
    };
    assert_eq!(*due, Timestamp(T0 + 2_000), "the deadline, not the resume");
    // Its history now holds the record: the next engine says nothing more.
    let mut history: Vec<Event> = sim.core.events().to_vec();
    for e in persisted(&fx) {
        let seq = history.len() as u64 + 1;
        history.push(Event {
            seq,
            at: Timestamp(T0 + 60_000),
            kind: e,
        });
    }
    let mut again = Core::replay(p, cfg(), &history).expect("replay");
    let fx = again.resume("olivia", Timestamp(T0 + 120_000));
    assert!(
        persisted(&fx).iter().all(|k| k.name() != "deadline_missed"),
        "not twice"
    );
}
