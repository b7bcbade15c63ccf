//! Property tests over random DAGs driven by a simulated executor that completes
//! spawned attempts in random order.
use super::testkit::*;
use super::*;
use baton_workflow::{Action, Builtin, Trigger};
use proptest::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

struct Outcome {
    events: Vec<Event>,
    /// The core's summary after each input, with how many events it had emitted then.
    summaries: Vec<(usize, StateSummary)>,
    view: baton_model::RunView,
    now: Timestamp,
}

fn random_plan(rng: &mut SmallRng) -> Arc<Plan> {
    let n = rng.random_range(1..=30);
    let mut b = plan().max_parallel(rng.random_range(1..=5));
    let pools = rng.random_range(0..=2);
    for p in 0..pools {
        let rate = rng
            .random_bool(0.5)
            .then(|| (rng.random_range(1..=3), rng.random_range(100..=1000)));
        b = b.pool(
            &format!("p{p}"),
            rng.random_range(1..=3),
            rate,
            rng.random_range(1..=2),
        );
    }
    for i in 0..n {
        let needs: Vec<String> = (0..i)
            .filter(|_| rng.random_bool(0.25))
            .map(|j| format!("s{j}"))
            .collect();
        let needs: Vec<&str> = needs.iter().map(String::as_str).collect();
        b = b.step_needs(&format!("s{i}"), &needs);
        b = b.when(match rng.random_range(0..6) {
            0 => Trigger::AllDone,
            1 => Trigger::OneFailed,
            _ => Trigger::AllSuccess,
        });
        b = b.retry(rng.random_range(1..=3), rng.random_range(0..=2));
        if pools > 0 && rng.random_bool(0.5) {
            b = b.in_pool(&format!("p{}", rng.random_range(0..pools)));
        }
        if rng.random_bool(0.2) {
            b = b.with(|s| s.action = Action::Builtin(Builtin::Noop));
        }
        if rng.random_bool(0.15) {
            b = b.gate(gate());
        }
        if rng.random_bool(0.2) {
            b = b.with(|s| s.compensate = Some("undo".into()));
        }
        if rng.random_bool(0.2) {
            b = b.with(|s| s.allow_failure = true);
        }
    }
    b.build()
}

/// Run to the end, checking the scheduling invariants after every input.
fn drive(plan: Arc<Plan>, seed: u64) -> Result<Outcome, TestCaseError> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut c = cfg();
    c.auto_approve = true;
    let mut core = Core::new(plan.clone(), c);
    let mut now = Timestamp(T0);
    let mut running: Vec<(usize, u32)> = Vec::new();
    let mut compensating: Vec<usize> = Vec::new();
    let mut fx = core.start(now);
    let mut summaries = vec![(core.events().len(), core.state_summary())];
    for _ in 0..5000 {
        for e in &fx {
            match e {
                Effect::Spawn(s) => {
                    // `one_failed` fires on its first failed need; the others wait
                    // for every need.
                    let early = plan.steps[s.step].when == Trigger::OneFailed;
                    for &d in &plan.steps[s.step].needs {
                        prop_assert!(
                            early || settled(core.steps[d].state),
                            "{} started before need {} was final",
                            s.step_id,
                            d
                        );
                    }
                    running.push((s.step, s.attempt));
                }
                Effect::Compensate(s) => compensating.push(s.step),
                Effect::Kill { step, attempt } => {
                    prop_assert!(running.contains(&(*step, *attempt)));
                }
                _ => {}
            }
        }
        prop_assert!(
            running.len() <= core.max_parallel,
            "more than max_parallel running"
        );
        for (p, pool) in plan.pools.iter().enumerate() {
            let in_pool = running
                .iter()
                .filter(|(s, _)| plan.steps[*s].pool == Some(p))
                .count();
            prop_assert!(in_pool <= pool.capacity, "pool {} over capacity", pool.name);
        }
        if core.is_finished() {
            break;
        }
        now = Timestamp(now.0 + rng.random_range(0..50));
        fx = if !compensating.is_empty() {
            let step = compensating.remove(0);
            let code = if rng.random_bool(0.8) { 0 } else { 1 };
            core.handle(
                Input::CompensationExited {
                    step,
                    outcome: StepOutcome::Exited { exit_code: code },
                    duration_ms: 1,
                    stderr_tail: String::new(),
                },
                now,
            )
        } else if !running.is_empty() {
            let (step, attempt) = running.remove(rng.random_range(0..running.len()));
            let code = if rng.random_bool(0.75) { 0 } else { 1 };
            core.handle(
                Input::StepExited(StepExit {
                    step,
                    attempt,
                    outcome: StepOutcome::Exited { exit_code: code },
                    duration_ms: rng.random_range(1..100),
                    outputs: vec![],
                    usage: Usage::default(),
                    stderr_tail: String::new(),
                }),
                now,
            )
        } else {
            let Some(t) = core.next_wakeup() else {
                return Err(TestCaseError::fail(format!(
                    "stuck in {:?} with nothing to wait for",
                    core.run_state()
                )));
            };
            now = now.max(t);
            core.handle(Input::Tick, now)
        };
        // `runs` (the summary) and `show` (the view) score the run alike throughout.
        let summary = core.state_summary();
        prop_assert_eq!(summary.health(), core.view(now).health);
        summaries.push((core.events().len(), summary));
    }
    prop_assert!(core.is_finished(), "run did not finish");
    for (i, s) in core.steps.iter().enumerate() {
        prop_assert!(s.state.is_final(), "step {i} ended {}", s.state);
    }
    Ok(Outcome {
        events: core.events().to_vec(),
        summaries,
        view: core.view(now),
        now,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_dags_schedule_correctly_and_replay(seed in any::<u64>()) {
        let mut rng = SmallRng::seed_from_u64(seed);
        let plan = random_plan(&mut rng);
        let a = drive(plan.clone(), seed)?;
        let b = drive(plan.clone(), seed)?;
        prop_assert_eq!(&a.events, &b.events, "same inputs, same events");
        let mut c = cfg();
        c.auto_approve = true;
        let replayed = Core::replay(plan.clone(), c, &a.events).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(replayed.view(a.now), a.view);
        // The summary the core hands the store with each commit is, after every input,
        // a replay's of the events it emitted so far (issue 40 point 4), and a core
        // replayed from the history has it too.
        let mut fold = SummaryFold::new(plan.steps.iter().map(|s| s.id.as_str()));
        let mut folded = 0;
        for (n, summary) in &a.summaries {
            for ev in &a.events[folded..*n] {
                fold.apply(ev);
            }
            folded = *n;
            prop_assert_eq!(&fold.summary(), summary, "after {} events", n);
        }
        let last = &a.summaries.last().expect("the start's summary").1;
        prop_assert_eq!(last.count(|_| true), plan.steps.len());
        prop_assert_eq!(last.count(StepState::is_final), plan.steps.len());
        prop_assert_eq!(&replayed.state_summary(), last);
    }
}
