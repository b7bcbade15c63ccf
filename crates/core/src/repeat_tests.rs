//! `repeat` on the engine's clock (a fake one here): each execution on record, the
//! interval kept, the limit counted, the last execution's outputs kept, and a replay
//! going on from where the history left it.
use super::testkit::*;
use super::*;
use baton_model::EventKind;
use baton_workflow::{Repeat, RepeatMode};

fn repeating(r: Repeat) -> Arc<Plan> {
    plan()
        .step("poll")
        .with(move |s| s.repeat = Some(Box::new(r)))
        .step_needs("after", &["poll"])
        .build()
}

fn exit_codes(codes: &[i32], limit: Option<u32>, interval_s: u64) -> Repeat {
    Repeat {
        mode: RepeatMode::While,
        condition: None,
        exit_codes: codes.to_vec(),
        limit,
        interval: secs(interval_s),
    }
}

#[test]
fn a_listed_exit_code_runs_it_again_after_the_interval_until_the_limit() {
    let mut sim = Sim::new(repeating(exit_codes(&[75], Some(3), 10)), cfg());
    sim.exit("poll", 75);
    assert_eq!(sim.state("poll"), StepState::RetryWait);
    assert!(
        sim.open_errors("poll").is_empty(),
        "a listed code is no failure"
    );
    assert_eq!(sim.core.next_wakeup(), Some(Timestamp(T0 + 10_000)));
    assert!(spawned(&sim.tick_at(9_999)).is_empty());
    let fx = sim.tick_at(10_000);
    assert_eq!(spawn_of(&fx, "poll").map(|s| s.attempt), Some(2));
    sim.exit("poll", 75);
    assert_eq!(sim.core.next_wakeup(), Some(Timestamp(T0 + 20_000)));
    let fx = sim.tick_at(20_000);
    assert_eq!(spawn_of(&fx, "poll").map(|s| s.attempt), Some(3));
    // The third execution is the last the limit allows: its exit 75 fails it.
    sim.exit("poll", 75);
    assert_eq!(sim.state("poll"), StepState::Failed);
    let scheduled = sim.events_named("retry_scheduled");
    let reps: Vec<_> = scheduled
        .iter()
        .map(|e| match &e.kind {
            EventKind::RetryScheduled { repetition, .. } => *repetition,
            _ => None,
        })
        .collect();
    assert_eq!(reps, [Some(2), Some(3)]);
}

#[test]
fn until_a_condition_on_its_own_output_the_last_outputs_are_the_steps() {
    let until = Repeat {
        mode: RepeatMode::Until,
        condition: Some(
            baton_workflow::condition::parse("steps.poll.outputs.status == 'done'").unwrap(),
        ),
        exit_codes: Vec::new(),
        limit: None,
        interval: secs(5),
    };
    let mut p = (*repeating(until)).clone();
    if let Some(r) = p.steps[0]
        .repeat
        .as_mut()
        .and_then(|r| r.condition.as_mut())
    {
        r.resolve_steps(|_| 0);
    }
    let mut sim = Sim::new(Arc::new(p), cfg());
    sim.finish(
        "poll",
        StepOutcome::Exited { exit_code: 0 },
        vec![("status", "busy")],
    );
    assert_eq!(sim.state("poll"), StepState::RetryWait);
    assert_eq!(sim.state("after"), StepState::Pending);
    sim.tick_at(5_000);
    sim.finish(
        "poll",
        StepOutcome::Exited { exit_code: 0 },
        vec![("status", "done")],
    );
    assert_eq!(sim.state("poll"), StepState::Succeeded);
    let poll = sim.idx("poll");
    assert_eq!(sim.core.steps[poll].outputs["status"], "done");
    assert_eq!(sim.attempt("poll"), 2);
    assert_eq!(sim.state("after"), StepState::Running);
}

#[test]
fn a_failed_execution_is_retried_as_its_own_and_a_replay_keeps_the_count() {
    let p = plan()
        .step("poll")
        .with(|s| s.repeat = Some(Box::new(exit_codes(&[75], Some(2), 10))))
        .retry(2, 1)
        .build();
    let mut sim = Sim::new(p.clone(), cfg());
    sim.exit("poll", 75);
    sim.tick_at(10_000);
    // Execution 2 fails: it has its retry (counted from its own first attempt).
    sim.exit("poll", 1);
    assert_eq!(sim.state("poll"), StepState::RetryWait);
    let replayed = Core::replay(p, cfg(), sim.core.events()).expect("replay");
    let poll = replayed.plan.step_index("poll").unwrap();
    assert_eq!(replayed.steps[poll].execution, 2);
    assert_eq!(replayed.steps[poll].attempt_base, 1);
    assert_eq!(replayed.next_wakeup(), sim.core.next_wakeup());
    sim.tick_at(11_000);
    // Its retry exits 75, but execution 2 is the limit's last: no third.
    sim.exit("poll", 75);
    assert_eq!(sim.state("poll"), StepState::Failed);
    assert_eq!(sim.attempt("poll"), 3);
}
