//! Which processes may start before the commit of the wake-up that decided them (issue
//! 14): the commit then overlaps the process's start instead of delaying it. A crash
//! between the two may lose only what resume redoes anyway, so a step starts ahead of
//! its commit only when:
//! - it is idempotent: resume runs an unrecorded or interrupted idempotent step again,
//!   after stopping whatever carries the run's `BATON_RUN_ID` (`stop_leftovers`);
//! - every need's final state is already committed, and this batch does not touch it:
//!   a dependant never starts before its needs' results are durable;
//! - it is a plain local process (no gate: an approval goes first; no cache: consulted
//!   first; no batch job: a job outlives its engine and is re-attached by its recorded
//!   id) and its first attempt (a retry follows a failure that must be committed);
//! - the batch holds no decision (approvals, commands, cancels go first, with
//!   `synchronous = FULL`) and kills no stale group (those die before anything runs).
//!
//! The step's own events still reach the store, in the commit under way.
//!
//! The same reasoning lets a wake-up's commit wait a little (`Durable::may_wait`) to join
//! the next one, when nothing waits for it: what a crash could lose then is only the
//! start or success of idempotent steps, which resume runs again. Fewer commits is
//! less of the driver's time on a machine whose cores run the steps.
use baton_core::{SpawnAction, SpawnSpec};
use baton_model::{Event, EventKind, StepOutcome};
use baton_workflow::Plan;
use std::collections::HashMap;

/// Which steps' final states are committed, as far as this engine has seen.
#[derive(Debug)]
pub(super) struct Durable {
    index: HashMap<String, usize>,
    final_committed: Vec<bool>,
}

impl Durable {
    pub(super) fn new(plan: &Plan) -> Durable {
        Durable {
            index: plan
                .steps
                .iter()
                .enumerate()
                .map(|(i, s)| (s.id.clone(), i))
                .collect(),
            final_committed: vec![false; plan.steps.len()],
        }
    }

    /// `events` are committed (in order): the steps they leave final are durable.
    pub(super) fn record(&mut self, events: &[Event]) {
        for e in events {
            if let EventKind::StepStateChanged { step, state, .. } = &e.kind
                && let Some(&i) = self.index.get(step)
            {
                self.final_committed[i] = state.is_final();
            }
        }
    }

    /// Whether `batch` may wait for a later commit (bounded by the driver), given that
    /// no action waits for it: it records only the way of idempotent plain steps
    /// towards success (queued, running, its process, its success). Anything else (a
    /// decision, a failure, an error, a gate, a service, the run's own state) is
    /// committed at once.
    pub(super) fn may_wait(&self, plan: &Plan, batch: &[Event]) -> bool {
        let plain = |id: &str| {
            self.index
                .get(id)
                .and_then(|&i| plan.steps.get(i))
                .is_some_and(|s| s.idempotent && s.gate.is_none() && s.service.is_none())
        };
        batch.iter().all(|e| match &e.kind {
            EventKind::StepStateChanged { step, state, .. } => state.on_the_way() && plain(step),
            EventKind::StepProcess { step, .. } => plain(step),
            // A reading of a running step's usage: a crash loses the last few ms of
            // them, and the step's own end (or the lost attempt) settles its usage.
            EventKind::StepUsage { .. } => true,
            EventKind::StepFinished { step, outcome, .. } => {
                matches!(outcome, StepOutcome::Exited { exit_code: 0 }) && plain(step)
            }
            _ => false,
        })
    }

    /// Whether `spec` may start before `batch` (the events deciding it) is committed.
    /// `local`: the step's executor is a local process. `held`: earlier events still
    /// waiting for a commit (`may_wait`); a need they touch is not durable either.
    pub(super) fn may_start_early(
        &self,
        plan: &Plan,
        spec: &SpawnSpec,
        local: bool,
        held: &[Event],
        batch: &[Event],
    ) -> bool {
        let Some(step) = plan.steps.get(spec.step) else {
            return false;
        };
        // An instance's needs are its fanned-out step's, recorded in the same batch.
        let plain = local
            && step.instance.is_none()
            && step.idempotent
            && step.gate.is_none()
            && spec.cache.is_none()
            && spec.attempt == 1
            && matches!(spec.action, SpawnAction::Shell { .. });
        if !plain || baton_model::history::holds_decision(batch) {
            return false;
        }
        step.needs.iter().all(|&n| {
            self.final_committed.get(n).copied().unwrap_or(false)
                && !held
                    .iter()
                    .chain(batch)
                    .any(|e| touches(e, &plan.steps[n].id))
        })
    }
}

fn touches(e: &Event, id: &str) -> bool {
    e.kind.step().is_some_and(|s| s == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_model::{StepState, Timestamp};

    /// A test's workflow, loaded as a file would be.
    fn load(toml: &str) -> Plan {
        baton_workflow::load_str(toml, std::path::Path::new("/w/workflow.toml"))
            .expect("the test's workflow loads")
    }

    fn spec(plan: &Plan, step: &str, attempt: u32) -> SpawnSpec {
        let i = plan.step_index(step).unwrap();
        SpawnSpec {
            step: i,
            step_id: step.into(),
            attempt,
            action: SpawnAction::Shell {
                command: "true".into(),
            },
            dir: "/w".into(),
            env: Vec::new(),
            local_env: Vec::new(),
            timeout: None,
            secret_values: Vec::new(),
            cache: None,
            artifacts: Vec::new(),
        }
    }

    fn state(step: &str, state: StepState) -> Event {
        Event {
            seq: 1,
            at: Timestamp::now(),
            kind: EventKind::StepStateChanged {
                step: step.into(),
                state,
                attempt: 1,
                reason: None,
            },
        }
    }

    #[test]
    fn only_idempotent_first_attempts_of_plain_local_steps_whose_needs_are_committed() {
        let toml = r#"
name = "test"
[[step]]
id = "a"
run = "echo a"
[[step]]
id = "a2"
run = "echo a2"
[[step]]
id = "b"
needs = ["a"]
run = "echo b"
[[step]]
id = "c"
needs = ["a"]
run = "echo c"
idempotent = false
[[step]]
id = "d"
needs = ["a"]
run = "echo d"
gate = { prompt = "ship it?" }
[[step]]
id = "e"
needs = ["a", "a2"]
run = "echo e"
"#;
        let plan = load(toml);
        let mut d = Durable::new(&plan);
        let starts = |d: &Durable, step: &str, batch: &[Event]| {
            d.may_start_early(&plan, &spec(&plan, step, 1), true, &[], batch)
        };
        assert!(!starts(&d, "b", &[]), "a's success is not committed yet");
        d.record(&[state("a", StepState::Running)]);
        assert!(!starts(&d, "b", &[]), "running is not final");
        d.record(&[state("a", StepState::Succeeded)]);
        assert!(starts(&d, "b", &[state("b", StepState::Running)]));
        assert!(
            !starts(&d, "c", &[]),
            "not idempotent: its start is committed first"
        );
        assert!(
            !starts(&d, "d", &[]),
            "gated: its approval is committed first"
        );
        assert!(!starts(&d, "e", &[]), "a2's result is not committed");
        assert!(
            !d.may_start_early(&plan, &spec(&plan, "b", 2), true, &[], &[]),
            "a retry follows a failure that is committed first"
        );
        assert!(
            !d.may_start_early(&plan, &spec(&plan, "b", 1), false, &[], &[]),
            "a batch job is recorded before it is submitted"
        );
        let mut builtin = spec(&plan, "b", 1);
        builtin.action = SpawnAction::Builtin {
            builtin: baton_workflow::Builtin::Noop,
            with: Default::default(),
        };
        assert!(
            !d.may_start_early(&plan, &builtin, true, &[], &[]),
            "only processes"
        );
    }

    #[test]
    fn only_the_way_of_idempotent_plain_steps_to_success_may_wait_for_a_later_commit() {
        let plan = load(
            r#"
name = "test"
[[step]]
id = "a"
run = "echo a"
[[step]]
id = "strict"
run = "echo strict"
idempotent = false
[[step]]
id = "gated"
run = "echo gated"
gate = { prompt = "ship it?" }
"#,
        );
        let d = Durable::new(&plan);
        let ev = |kind| Event {
            seq: 1,
            at: Timestamp::now(),
            kind,
        };
        let finished = |step: &str, exit_code| {
            ev(EventKind::StepFinished {
                step: step.into(),
                attempt: 1,
                outcome: StepOutcome::Exited { exit_code },
                duration_ms: 1,
                outputs: Default::default(),
                usage: Default::default(),
            })
        };
        let waits = |batch: &[Event]| d.may_wait(&plan, batch);
        assert!(waits(&[]));
        assert!(waits(&[
            state("a", StepState::Queued),
            state("a", StepState::Running),
            ev(EventKind::StepProcess {
                step: "a".into(),
                attempt: 1,
                pgid: 42,
                output: None,
            }),
            finished("a", 0),
            state("a", StepState::Succeeded),
        ]));
        assert!(!waits(&[finished("a", 1)]), "a failure is recorded at once");
        assert!(!waits(&[state("a", StepState::Failed)]));
        assert!(
            !waits(&[
                state("a", StepState::Succeeded),
                state("strict", StepState::Succeeded)
            ]),
            "a step that is not idempotent: resume would not redo it"
        );
        assert!(!waits(&[state("gated", StepState::Running)]), "gated");
        assert!(
            !waits(&[state("nobody", StepState::Running)]),
            "unknown step"
        );
        assert!(
            !waits(&[ev(EventKind::CancelRequested {
                actor: "olivia".into(),
                reason: None,
            })]),
            "a decision goes first"
        );
        assert!(
            !waits(&[ev(EventKind::RunStateChanged {
                state: baton_model::RunState::Running,
                reason: None,
            })]),
            "the run's own state goes at once"
        );
    }

    #[test]
    fn a_batch_with_a_decision_or_touching_a_need_goes_first() {
        let plan = load(
            r#"
name = "test"
[[step]]
id = "a"
run = "echo a"
[[step]]
id = "b"
needs = ["a"]
run = "echo b"
"#,
        );
        let mut d = Durable::new(&plan);
        d.record(&[state("a", StepState::Succeeded)]);
        let b = spec(&plan, "b", 1);
        let cancel = Event {
            seq: 2,
            at: Timestamp::now(),
            kind: EventKind::CancelRequested {
                actor: "olivia".into(),
                reason: None,
            },
        };
        assert!(
            !d.may_start_early(&plan, &b, true, &[], &[cancel]),
            "a decision"
        );
        assert!(
            !d.may_start_early(&plan, &b, true, &[], &[state("a", StepState::Queued)]),
            "the need changes in this very batch"
        );
        d.record(&[state("a", StepState::Queued)]);
        assert!(
            !d.may_start_early(&plan, &b, true, &[], &[]),
            "no longer final"
        );
        d.record(&[state("a", StepState::Succeeded)]);
        assert!(
            !d.may_start_early(&plan, &b, true, &[state("a", StepState::Queued)], &[]),
            "the need changes in events still waiting for a commit"
        );
    }
}
