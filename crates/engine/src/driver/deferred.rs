//! Which of a wake-up's commits may wait to join the next one (group commit across
//! wake-ups, at most `COMMIT_WAIT` later), and why that never loosens write-ahead.
//!
//! Every process starts after the commit of the events that decided it (issue 62: a
//! step's start is on disk before its process exists; its exit before anything that
//! depends on it starts). A commit may wait only when no action waits for it and it
//! records nothing but the way of idempotent plain steps (not services, not gated)
//! towards success: their processes' ids and their successes, whose dependants are not
//! ready yet (a dependant's start is an action, so its needs' successes are committed
//! first). A crash in that window loses only what resume redoes: an idempotent step
//! recorded running is run again after whatever carries the run's `BATON_RUN_ID` is
//! stopped (`stop_leftovers`). Fewer commits is less of the driver's time on a machine
//! whose cores run the steps.
use baton_model::{Event, EventKind, StepOutcome};
use baton_workflow::Plan;
use std::collections::HashMap;

/// The plan's steps by id, to tell which events are plain steps' ways to success.
#[derive(Debug)]
pub(super) struct Durable {
    index: HashMap<String, usize>,
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
}
