//! Child runs (`workflow = "deploy.toml"` on a step, docs/workflow/child-workflows.md).
//! The parent's step runs `baton run --parent RUN/STEP FILE` (`core::child::COMMAND`):
//! an engine of its own for the child, on the parent's store, so a child has all a run
//! has (its lease, gates on every desk, resume). This module is what that engine does
//! first: find the child its parent's step already made, on record, and resume or
//! report it, and make a new one only when there is none to go on with. So a parent
//! resumed after a crash, which runs its interrupted step again, never makes a second
//! child and never runs again a child step that finished.
use super::SessionError;
use super::prepare::{Loaded, Ready};
use baton_model::view::ParentLink;
use baton_model::{EventKind, RunState, Timestamp};
use baton_store::{ChildRun, Store};
use std::time::{Duration, Instant};

/// How long a child's engine waits for the engine of an earlier attempt to let go of
/// its run (the parent's resume stops it first: `host::stop_leftovers`).
const HANDOVER_WAIT: Duration = Duration::from_secs(30);

/// What a parent step's attempt does with its child run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildStart {
    /// No child to go on with: make one.
    Create,
    /// The child an earlier attempt made has not ended: drive it on.
    Resume(String),
    /// The child failed and this attempt is a retry of the step (its previous attempt's
    /// failure is on record): its failed steps run again (`retry --failed`), its
    /// succeeded ones are kept.
    RetryFailed(String),
    /// The child ended: its result is the step's, nothing runs again.
    Ended { run: String, state: RunState },
}

/// What is on record of a step's newest child, for [`decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub child: ChildRun,
    /// The child's state as readers say it (`interrupted` once its engine is gone).
    pub state: RunState,
    /// How the step's previous attempt ended on record (`None`: there is none, it has
    /// not ended, or it was interrupted: the engine went while it ran).
    pub previous_ended: Option<String>,
}

/// Pure: what an attempt of a parent step does, given its newest child. A child that
/// has not ended is driven on; one that succeeded is the step's success. One that
/// failed is the step's failure again, unless the step's previous attempt ended on
/// record (this attempt is a retry, by the step's `retry` or an operator's): then the
/// child's failed steps run again. A parent resumed after a crash runs its step again
/// as an attempt whose previous one was interrupted: it takes the child's result, and
/// nothing of the child runs again.
pub fn decide(found: Option<&Found>) -> ChildStart {
    let Some(f) = found else {
        return ChildStart::Create;
    };
    let run = f.child.run.clone();
    if !f.state.is_final() {
        return ChildStart::Resume(run);
    }
    if f.state != RunState::Succeeded && f.previous_ended.is_some() {
        return ChildStart::RetryFailed(run);
    }
    ChildStart::Ended {
        run,
        state: f.state,
    }
}

/// `RUN/STEP` of `--parent` (a run id has no `/`; a step id may be an instance's).
pub fn parse_parent(text: &str, attempt: u32) -> Result<ParentLink, SessionError> {
    match text.split_once('/') {
        Some((run, step)) if !run.is_empty() && !step.is_empty() => Ok(ParentLink {
            run: run.to_string(),
            step: step.to_string(),
            attempt,
        }),
        _ => Err(SessionError::Usage(format!(
            "--parent {text}: expected RUN/STEP, the parent run's id and the step that runs this workflow"
        ))),
    }
}

/// What the store holds of `parent`'s step's newest child.
pub fn find(store: &Store, parent: &ParentLink) -> Result<Option<Found>, SessionError> {
    let Some(child) = store.child_of(&parent.run, &parent.step)? else {
        return Ok(None);
    };
    let state = store.run_liveness(&child.run)?.state;
    let previous_ended = match parent.attempt.checked_sub(1).filter(|&a| a > 0) {
        Some(previous) => store
            .attempt_state(&parent.run, &parent.step, previous)?
            .filter(|s| !matches!(s.as_str(), "running" | "interrupted")),
        None => None,
    };
    Ok(Some(Found {
        child,
        state,
        previous_ended,
    }))
}

/// Take the child `run_id` over to drive it on, waiting (bounded) for an engine that
/// still holds it (an earlier attempt's, or an operator's that took it over to apply a
/// command) to let go. `None`: it ended meanwhile; its result is the step's.
pub fn take_over(
    store: &mut Store,
    run_id: &str,
    params: &[(String, String)],
    operator: &str,
    auto_approve: bool,
) -> Result<Option<Ready>, SessionError> {
    let deadline = Instant::now() + HANDOVER_WAIT;
    loop {
        if store.run_liveness(run_id)?.state.is_final() {
            return Ok(None);
        }
        let taken = super::command::take_over_with(
            store,
            run_id,
            params,
            operator,
            None,
            false,
            auto_approve,
        );
        match taken {
            Ok((ready, _)) => return Ok(Some(ready)),
            Err(SessionError::Driven { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Run the failed steps of the ended child `run_id` again (`baton retry --failed`),
/// taking it over to drive it. `None`: it has none to run again (it was cancelled
/// before it failed, or its compensations ran): the step makes a new child.
pub fn retry_failed(
    store: &mut Store,
    run_id: &str,
    params: &[(String, String)],
    operator: &str,
    auto_approve: bool,
) -> Result<Option<Ready>, SessionError> {
    let command = baton_model::Command::RetryFailed {
        operator: operator.to_string(),
    };
    let taken = super::command::take_over_with(
        store,
        run_id,
        params,
        operator,
        Some(command),
        true,
        auto_approve,
    );
    match taken {
        Ok((ready, _)) => Ok(Some(ready)),
        Err(SessionError::Refused { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Make the child run of `loaded` (its `spec.parent` set): recorded with its link.
pub fn create(store: &mut Store, loaded: Loaded) -> Result<Ready, SessionError> {
    let made = super::concurrency::create(store, loaded, &super::lease_holder(), None)?;
    if let Some(said) = made.said() {
        crate::stdio::errln!("{said}");
    }
    Ok(made.ready)
}

/// Whether the parent of a child run asked to cancel since `since` (the child's
/// start): its engine then stops this child's step, and the child is cancelled, not
/// interrupted.
pub(crate) fn parent_cancelling(store: &Store, parent: &ParentLink, since: Timestamp) -> bool {
    store.events(&parent.run).is_ok_and(|events| {
        events
            .iter()
            .any(|e| matches!(e.kind, EventKind::CancelRequested { .. }) && e.at >= since)
    })
}

/// What a child run's engine says last, on stderr (its parent's step records the tail):
/// the child and how it ended, naming its failed steps.
pub fn ending_line(store: &Store, run_id: &str) -> Option<String> {
    let view = super::inspect(store, run_id, Timestamp::now()).ok()?;
    let failed: Vec<&str> = view
        .steps
        .iter()
        .filter(|s| s.state.is_failure())
        .map(|s| s.id.as_str())
        .collect();
    Some(match (view.state, failed.as_slice()) {
        (RunState::Succeeded, _) => format!("child run {run_id} succeeded"),
        (state, []) => format!("child run {run_id} {state}"),
        (state, steps) => format!(
            "child run {run_id} {state}: step {} failed (`baton show {run_id}`)",
            steps.join(", ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(state: RunState, previous_ended: Option<&str>) -> Found {
        Found {
            child: ChildRun {
                run: "01child".into(),
                attempt: 1,
            },
            state,
            previous_ended: previous_ended.map(str::to_string),
        }
    }

    #[test]
    fn a_step_without_a_child_makes_one() {
        assert_eq!(decide(None), ChildStart::Create);
    }

    #[test]
    fn a_child_not_ended_is_driven_on_whatever_came_before() {
        for state in [RunState::Running, RunState::Waiting, RunState::Interrupted] {
            for previous in [None, Some("failed")] {
                let f = found(state, previous);
                assert_eq!(decide(Some(&f)), ChildStart::Resume("01child".into()));
            }
        }
    }

    #[test]
    fn a_finished_child_is_the_steps_result_after_a_crash() {
        let ok = found(RunState::Succeeded, Some("failed"));
        assert!(matches!(
            decide(Some(&ok)),
            ChildStart::Ended {
                state: RunState::Succeeded,
                ..
            }
        ));
        // The parent's engine died before it recorded the child's failure: the step
        // runs again after an interrupted attempt and takes that failure, nothing runs.
        let crashed = found(RunState::Failed, None);
        assert!(matches!(
            decide(Some(&crashed)),
            ChildStart::Ended {
                state: RunState::Failed,
                ..
            }
        ));
    }

    #[test]
    fn a_retry_of_a_failed_child_step_runs_the_childs_failed_steps_again() {
        let failed = found(RunState::Failed, Some("failed"));
        assert_eq!(
            decide(Some(&failed)),
            ChildStart::RetryFailed("01child".into())
        );
        let cancelled = found(RunState::Cancelled, Some("cancelled"));
        assert_eq!(
            decide(Some(&cancelled)),
            ChildStart::RetryFailed("01child".into())
        );
    }

    #[test]
    fn parent_is_run_slash_step() {
        let p = parse_parent("01run/deploy", 2).expect("parses");
        assert_eq!(
            (p.run.as_str(), p.step.as_str(), p.attempt),
            ("01run", "deploy", 2)
        );
        assert!(parse_parent("01run", 1).is_err());
        assert!(parse_parent("/deploy", 1).is_err());
    }
}
