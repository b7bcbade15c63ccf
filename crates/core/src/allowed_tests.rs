//! The view's actions agree with what `handle` accepts: state by state, every step, every
//! gate and the run, each command tried on a fresh replay of the same events.
use super::testkit::*;
use super::*;
use baton_workflow::Budget;
use proptest::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Whether `core` (replayed, so the original is untouched) accepts `command` at `now`.
fn accepts(core: &Core, command: Command, now: Timestamp) -> bool {
    let mut copy =
        Core::replay(core.plan.clone(), core.cfg.clone(), core.events()).expect("replay");
    copy.handle(Input::Command { id: None, command }, now)
        .iter()
        .any(|e| matches!(e, Effect::CommandDone { outcome, .. } if outcome.is_accepted()))
}

/// A step's commands, each with whether its actions `a` offer it.
fn step_cases(a: baton_model::view::Actions, id: &str) -> [(&'static str, bool, Command); 5] {
    let op = || "vera".to_string();
    let step = || id.to_string();
    [
        (
            "approve",
            a.approve,
            Command::Approve {
                step: step(),
                operator: op(),
                reason: None,
                signature: None,
                inputs: Default::default(),
            },
        ),
        (
            "reject",
            a.reject,
            Command::Reject {
                step: step(),
                operator: op(),
                reason: "no".into(),
                signature: None,
            },
        ),
        (
            "retry",
            a.retry,
            Command::Retry {
                step: step(),
                operator: op(),
            },
        ),
        (
            "mark succeeded",
            a.mark_succeeded,
            Command::Mark {
                step: step(),
                state: StepState::Succeeded,
                operator: op(),
                reason: "done by hand".into(),
                outputs: Default::default(),
                artifacts: Vec::new(),
            },
        ),
        (
            "mark failed",
            a.mark_failed,
            Command::Mark {
                step: step(),
                state: StepState::Failed,
                operator: op(),
                reason: "broken".into(),
                outputs: Default::default(),
                artifacts: Vec::new(),
            },
        ),
    ]
}

/// Assert the view offers exactly the commands the core accepts; returns how many it offers.
fn assert_view_matches_core(core: &Core, now: Timestamp) -> usize {
    let view = core.view(now);
    let op = || "vera".to_string();
    let mut offered = 0;
    for s in &view.steps {
        let a = s.actions;
        for (name, says, command) in step_cases(a, &s.id) {
            offered += usize::from(says);
            assert_eq!(
                says,
                accepts(core, command, now),
                "{name} on `{}` ({}), run {}",
                s.id,
                s.state,
                view.state
            );
        }
        assert!(!a.cancel && !a.raise_budget, "run actions are not a step's");
    }
    let run = [
        (
            "cancel",
            view.actions.cancel,
            Command::Cancel {
                operator: op(),
                reason: None,
            },
        ),
        (
            "raise budget",
            view.actions.raise_budget,
            Command::RaiseBudget {
                operator: op(),
                reason: "worth it".into(),
                cost: Some(1.0),
                calls: Some(1),
                tokens: Some(1),
            },
        ),
    ];
    for (name, says, command) in run {
        offered += usize::from(says);
        assert_eq!(
            says,
            accepts(core, command, now),
            "{name}, run {}",
            view.state
        );
    }
    for g in &view.gates {
        let want = match g.step {
            Some(i) => (
                view.steps[i].actions.approve,
                view.steps[i].actions.reject,
                false,
            ),
            // The budget gate's reject is a rejection of the budget the core takes.
            None => (
                false,
                accepts(
                    core,
                    Command::RejectBudget {
                        operator: op(),
                        reason: "not worth it".into(),
                    },
                    now,
                ),
                view.actions.raise_budget,
            ),
        };
        assert_eq!(
            (g.actions.approve, g.actions.reject, g.actions.raise_budget),
            want,
            "gate `{}`",
            g.step_id
        );
    }
    offered
}

fn check(sim: &Sim) -> usize {
    assert_view_matches_core(&sim.core, Timestamp(sim.now))
}

#[test]
fn actions_match_the_core_through_gates_failure_retry_and_cancel() {
    let p = plan()
        .step("a")
        .with(|s| s.compensate = Some("undo a".into()))
        .step_needs("b", &["a"])
        .step_needs("g", &["a"])
        .gate(gate())
        .step_needs("c", &["b"])
        .build();
    let mut sim = Sim::new(p, cfg());
    check(&sim);
    sim.exit("a", 0);
    assert_eq!(sim.state("g"), StepState::WaitingApproval);
    let v = sim.core.view(Timestamp(sim.now));
    let g = v.step_index("g").unwrap();
    assert!(v.steps[g].actions.approve && v.gates[0].actions.approve);
    check(&sim);
    sim.exit("b", 1);
    assert_eq!(sim.state("b"), StepState::Failed);
    assert_eq!(sim.state("c"), StepState::UpstreamFailed);
    check(&sim);
    let v = sim.core.view(Timestamp(sim.now));
    let c = v.step_index("c").unwrap();
    assert!(
        !v.steps[c].actions.retry,
        "the core refuses retry for a skipped step"
    );
    sim.cmd(Command::Reject {
        step: "g".into(),
        operator: "vera".into(),
        reason: "no".into(),
        signature: None,
    });
    check(&sim);
    sim.cmd(Command::Retry {
        step: "b".into(),
        operator: "vera".into(),
    });
    check(&sim);
    sim.cmd(Command::Cancel {
        operator: "vera".into(),
        reason: None,
    });
    check(&sim);
    sim.finish("b", StepOutcome::Exited { exit_code: 1 }, vec![]);
    check(&sim);
    let v = sim.core.view(Timestamp(sim.now));
    let cancelled: Vec<_> = v
        .steps
        .iter()
        .filter(|s| {
            matches!(
                s.state,
                StepState::Cancelled | StepState::Skipped | StepState::UpstreamFailed
            )
        })
        .collect();
    assert!(!cancelled.is_empty(), "the re-armed `c` was stopped");
    assert!(
        cancelled.iter().all(|s| !s.actions.retry),
        "the core refuses retry for a cancelled or skipped step"
    );
}

#[test]
fn actions_match_the_core_at_the_budget_gate_and_when_interrupted() {
    let p = plan()
        .plan_mut(|p| {
            p.budget = Some(Budget {
                cost: None,
                calls: Some(1),
                tokens: None,
                ..Default::default()
            })
        })
        .step("a")
        .step_needs("b", &["a"])
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.exit("a", 0);
    let v = sim.core.view(Timestamp(sim.now));
    assert_eq!(
        v.budget.as_ref().map(|b| b.exhausted.clone()),
        Some(vec!["calls".to_string()])
    );
    assert!(v.gates[0].actions.raise_budget && v.actions.raise_budget);
    check(&sim);
    sim.input(Input::Shutdown {
        reason: "SIGTERM".into(),
    });
    assert_eq!(sim.core.run_state(), RunState::Interrupted);
    assert_eq!(check(&sim), 0, "an interrupted run accepts nothing");
}

#[test]
fn actions_match_the_core_after_success_and_past_the_run_timeout() {
    let p = plan()
        .plan_mut(|p| p.timeout = Some(secs(10)))
        .step("a")
        .step_needs("b", &["a"])
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.exit("a", 1);
    assert!(check(&sim) > 0, "failed `a` can be retried or marked");
    assert!(assert_new_suggestions_accepted(&sim.core, 0, Timestamp(sim.now)) > 0);
    sim.tick_at(20_000);
    check(&sim);
}

/// The commands a record made since `from` suggests, as the core takes them: each must
/// be accepted now. Not checked: what baton does first by itself (a record that says
/// baton retries the step) or what waits for the run to stop (a cancel under way);
/// `logs`, `run` and `resume` are not the core's to accept (`tests/it/cli/suggestions.rs`
/// runs those).
fn assert_new_suggestions_accepted(core: &Core, from: usize, now: Timestamp) -> usize {
    let op = || "vera".to_string();
    let mut checked = 0;
    for e in &core.errors[from..] {
        if e.suggestion.starts_with("baton retries it automatically")
            || (e.kind == baton_model::ErrorKind::Cancelled && !core.is_finished())
        {
            continue;
        }
        for c in baton_model::suggest::commands(&e.suggestion) {
            let w: Vec<&str> = c.split_whitespace().collect();
            let step = || w[3].to_string();
            let command = match w[1] {
                "retry" => Command::Retry {
                    step: step(),
                    operator: op(),
                },
                "mark" => Command::Mark {
                    step: step(),
                    state: StepState::parse(w[5]).expect("a state"),
                    operator: op(),
                    reason: "checked".into(),
                    outputs: Default::default(),
                    artifacts: Vec::new(),
                },
                "cancel" => Command::Cancel {
                    operator: op(),
                    reason: None,
                },
                "approve" if w.contains(&"--raise") => Command::RaiseBudget {
                    operator: op(),
                    reason: "more".into(),
                    cost: Some(5.0),
                    calls: None,
                    tokens: None,
                },
                _ => continue,
            };
            assert!(accepts(core, command, now), "`{c}` refused: {e:#?}");
            checked += 1;
        }
    }
    checked
}

/// A saga: a failure before anything to undo suggests a retry (the core takes it); a
/// failure once a step with `compensate` succeeded suggests a new run, never a retry
/// the core would refuse once the compensations ran.
#[test]
fn a_saga_suggests_a_retry_only_while_nothing_will_be_undone() {
    let p = plan()
        .step("build")
        .step_needs("deploy", &["build"])
        .with(|s| s.compensate = Some("undo".into()))
        .build();
    let mut sim = Sim::new(p.clone(), cfg());
    sim.exit("build", 1);
    // `build`'s own record and `deploy`'s (skipped: fix and retry `build`).
    assert_eq!(
        assert_new_suggestions_accepted(&sim.core, 0, Timestamp(sim.now)),
        2,
        "{:#?}",
        sim.core.errors
    );
    let p = plan()
        .step("deploy")
        .with(|s| s.compensate = Some("undo".into()))
        .step_needs("smoke", &["deploy"])
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.exit("deploy", 0);
    sim.exit("smoke", 1);
    let e = sim.core.errors.last().expect("a record");
    assert!(!e.suggestion.contains("baton retry"), "{}", e.suggestion);
    assert!(
        e.suggestion.contains("start a new run: `baton run "),
        "{}",
        e.suggestion
    );
    assert!(!accepts(
        &sim.core,
        Command::Retry {
            step: "smoke".into(),
            operator: "vera".into()
        },
        Timestamp(sim.now)
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random runs (failures, retries, gates decided at random): at every few inputs the
    /// view's actions equal the core's answers.
    #[test]
    fn random_runs_offer_exactly_what_the_core_accepts(seed in any::<u64>()) {
        let mut rng = SmallRng::seed_from_u64(seed);
        let n = rng.random_range(2..=8);
        let mut b = plan();
        for i in 0..n {
            let needs: Vec<String> = (0..i).filter(|_| rng.random_bool(0.4)).map(|j| format!("s{j}")).collect();
            let needs: Vec<&str> = needs.iter().map(String::as_str).collect();
            b = b.step_needs(&format!("s{i}"), &needs).retry(rng.random_range(1..=2), 0);
            if rng.random_bool(0.3) {
                b = b.gate(gate());
            }
            if rng.random_bool(0.25) {
                b = b.with(|s| s.compensate = Some("undo".into()));
            }
        }
        let mut sim = Sim::new(b.build(), cfg());
        for round in 0..40 {
            let from = sim.core.errors.len();
            if round % 3 == 0 {
                assert_view_matches_core(&sim.core, Timestamp(sim.now));
            }
            let t = sim.now - T0 + rng.random_range(1..1000);
            sim.at(t);
            let running: Vec<usize> = (0..n).filter(|&i| sim.core.steps[i].state == StepState::Running).collect();
            let gates: Vec<usize> = (0..n).filter(|&i| sim.core.steps[i].state == StepState::WaitingApproval).collect();
            let failed: Vec<usize> = (0..n).filter(|&i| sim.core.steps[i].state == StepState::Failed).collect();
            let id = |i: usize| format!("s{i}");
            match rng.random_range(0..10) {
                0..=5 if !running.is_empty() => {
                    let i = running[rng.random_range(0..running.len())];
                    sim.exit(&id(i), if rng.random_bool(0.7) { 0 } else { 1 });
                }
                6 | 7 if !gates.is_empty() => {
                    let i = gates[rng.random_range(0..gates.len())];
                    if rng.random_bool(0.6) {
                        sim.approve(&id(i), "vera");
                    } else {
                        sim.cmd(Command::Reject { step: id(i), operator: "vera".into(), reason: "no".into(), signature: None, });
                    }
                }
                8 if !failed.is_empty() => {
                    let i = failed[rng.random_range(0..failed.len())];
                    sim.cmd(Command::Retry { step: id(i), operator: "vera".into() });
                }
                9 if rng.random_bool(0.1) => {
                    sim.cmd(Command::Cancel { operator: "vera".into(), reason: None });
                }
                _ => {
                    sim.input(Input::Tick);
                }
            }
            assert_new_suggestions_accepted(&sim.core, from, Timestamp(sim.now));
        }
        assert_view_matches_core(&sim.core, Timestamp(sim.now));
    }
}
