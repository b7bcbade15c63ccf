//! Issue 42 point 1, as a property: over random fanned-out workflows, random instance
//! outcomes, `fail_fast`, cancels, engine crashes (replay and resume) and operator
//! retries of any instance or step, no run is ever left with nothing to wait for and
//! not finished.
use super::testkit::*;
use super::*;
use proptest::prelude::*;
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use std::path::Path;

const RULES: [&str; 10] = [
    "all_success",
    "all_failed",
    "all_done",
    "all_skipped",
    "one_success",
    "one_failed",
    "one_done",
    "none_failed",
    "none_failed_min_one_success",
    "none_skipped",
];

/// A random workflow of 1 to 6 steps, about half of them matrices.
fn random_workflow(rng: &mut SmallRng) -> String {
    let mut src = format!("name = \"p\"\nmax_parallel = {}\n", rng.random_range(1..=4));
    let n = rng.random_range(1..=6);
    for i in 0..n {
        src += &format!("[[step]]\nid = \"s{i}\"\nrun = \"x\"\n");
        let needs: Vec<String> = (0..i)
            .filter(|_| rng.random_bool(0.5))
            .map(|j| format!("\"s{j}\""))
            .collect();
        if !needs.is_empty() {
            src += &format!("needs = [{}]\n", needs.join(", "));
            if rng.random_bool(0.5) {
                src += &format!("when = \"{}\"\n", RULES.choose(rng).expect("rules"));
            }
        }
        if rng.random_bool(0.6) {
            let values: Vec<String> = (1..=rng.random_range(1..=4))
                .map(|v| v.to_string())
                .collect();
            src += &format!("matrix = {{ n = [{}] }}\n", values.join(", "));
            if rng.random_bool(0.6) {
                src += "fail_fast = true\n";
            }
            if rng.random_bool(0.4) {
                src += &format!("max_parallel = {}\n", rng.random_range(1..=2));
            }
        }
        if rng.random_bool(0.2) {
            src += "retry = { attempts = 2, delay = \"1s\" }\n";
        }
    }
    src
}

/// What the simulated world holds: processes under way, compensations asked for.
#[derive(Default)]
struct World {
    running: Vec<(usize, u32)>,
    killed: Vec<(usize, u32)>,
    compensating: Vec<usize>,
}

impl World {
    fn take(&mut self, fx: &[Effect]) {
        for e in fx {
            match e {
                Effect::Spawn(s) => self.running.push((s.step, s.attempt)),
                Effect::Kill { step, attempt } => self.killed.push((*step, *attempt)),
                Effect::Compensate(s) => self.compensating.push(s.step),
                _ => {}
            }
        }
    }
}

/// A step an operator may retry now (what `can_retry` takes).
fn retryable(core: &Core) -> Vec<String> {
    (0..core.steps.len())
        .filter(|&i| core.steps[i].state.is_retryable())
        .map(|i| core.plan.steps[i].id.clone())
        .collect()
}

/// An operator's retry of `step`.
fn retry(step: String) -> Input {
    let command = Command::Retry {
        step,
        operator: "olivia".into(),
    };
    Input::Command { id: None, command }
}

/// What a run stuck with nothing to wait for looks like: its events, state and steps.
fn stuck(core: &Core) -> String {
    format!(
        "stuck in {:?} with nothing to wait for\n{:#?}\n{:#?}",
        core.events()
            .iter()
            .map(|e| format!("{:?}", e.kind))
            .collect::<Vec<_>>(),
        core.run_state(),
        (0..core.steps.len())
            .map(|i| (core.plan.steps[i].id.clone(), core.steps[i].state))
            .collect::<Vec<_>>()
    )
}

fn drive(src: &str, seed: u64) -> Result<(), TestCaseError> {
    let plan = match baton_workflow::load_str(src, Path::new("/w/wf.toml")) {
        Ok(p) => Arc::new(p),
        Err(d) => return Err(TestCaseError::fail(format!("{d}\n{src}"))),
    };
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut core = Core::new(plan.clone(), cfg());
    let mut now = Timestamp(T0);
    let mut world = World::default();
    world.take(&core.start(now));
    let (mut retries, mut crashes, mut cancels) = (0, 0, 0);
    for _ in 0..3000 {
        now = Timestamp(now.0 + rng.random_range(0..50));
        let idle = world.running.is_empty() && world.compensating.is_empty();
        let fx = if core.is_finished() || (idle && core.next_wakeup().is_none()) {
            prop_assert!(core.is_finished(), "{}\n{src}", stuck(&core));
            let can = retryable(&core);
            if retries >= 6 || can.is_empty() {
                return Ok(());
            }
            retries += 1;
            let step = can.choose(&mut rng).expect("one").clone();
            core.handle(retry(step), now)
        } else if crashes < 2 && rng.random_bool(0.02) {
            // The engine dies: its processes with it; a new one replays and resumes.
            crashes += 1;
            core.handle(
                Input::Shutdown {
                    reason: "SIGKILL".into(),
                },
                now,
            );
            world = World::default();
            core = Core::replay(plan.clone(), cfg(), core.events())
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            core.resume("olivia", now)
        } else if cancels < 1 && rng.random_bool(0.01) {
            cancels += 1;
            core.handle(
                Input::Command {
                    id: None,
                    command: Command::Cancel {
                        operator: "olivia".into(),
                        reason: None,
                    },
                },
                now,
            )
        } else if retries < 6 && rng.random_bool(0.05) && !retryable(&core).is_empty() {
            // A retry while the run still goes (an instance that failed early).
            retries += 1;
            let step = retryable(&core).choose(&mut rng).expect("one").clone();
            core.handle(retry(step), now)
        } else if !world.compensating.is_empty() {
            let step = world.compensating.remove(0);
            core.handle(
                Input::CompensationExited {
                    step,
                    outcome: StepOutcome::Exited { exit_code: 0 },
                    duration_ms: 1,
                    stderr_tail: String::new(),
                },
                now,
            )
        } else if !world.running.is_empty() {
            let (step, attempt) = world
                .running
                .remove(rng.random_range(0..world.running.len()));
            let outcome = if world.killed.contains(&(step, attempt)) {
                StepOutcome::Signalled { signal: 15 }
            } else {
                StepOutcome::Exited {
                    exit_code: i32::from(rng.random_bool(0.4)),
                }
            };
            core.handle(
                Input::StepExited(StepExit {
                    step,
                    attempt,
                    outcome,
                    duration_ms: 1,
                    outputs: vec![],
                    usage: Usage::default(),
                    stderr_tail: String::new(),
                }),
                now,
            )
        } else {
            let t = core.next_wakeup().expect("checked above");
            now = now.max(t);
            core.handle(Input::Tick, now)
        };
        world.take(&fx);
    }
    prop_assert!(core.is_finished(), "run did not finish\n{src}");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_run_with_retried_instances_is_left_unfinished(seed in any::<u64>()) {
        let mut rng = SmallRng::seed_from_u64(seed);
        let src = random_workflow(&mut rng);
        drive(&src, seed)?;
    }
}
