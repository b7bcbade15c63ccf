//! issue 61 point 2: "nothing asked of a person is lost across crashes". docs/commands.md:
//! `baton inbox` lists "what waits on a person across every run: open gates, exhausted
//! budgets, steps to mark or to resume". The chaos campaign samples it against real
//! processes; here it is read at one simulated instant, nothing moving in between.
use crate::SimError;
use baton_model::{RunState, StepState, Timestamp};
use baton_store::Store;

/// Each open gate, and each interrupted step of a run no engine drives, that a run's
/// own reading (`session::inspect`, what `show` and the console read) gives is a row of
/// `baton inbox` (`session::read_inbox`) for `me`, read at the same instant. `runs`:
/// the runs to look at (a rewritten record, which every reader refuses, left out).
pub(crate) fn nothing_asked_of_a_person_lost(
    store: &Store,
    runs: &[&str],
    me: &str,
    now: Timestamp,
) -> Result<Option<String>, SimError> {
    let mut asked = Vec::new();
    for &run in runs {
        let state = store.run_liveness(run)?.state;
        if !matches!(state, RunState::Waiting | RunState::Interrupted) {
            continue;
        }
        let view = baton_session::inspect(store, run, now)?;
        for s in &view.steps {
            let waits = match s.state {
                StepState::WaitingApproval => true,
                StepState::Interrupted => view.state == RunState::Interrupted,
                _ => false,
            };
            if waits {
                asked.push((run, s.id.clone(), s.state));
            }
        }
    }
    if asked.is_empty() {
        return Ok(None);
    }
    let inbox = baton_session::read_inbox(store, me, now)?;
    let lost: Vec<String> = (asked.iter())
        .filter(|(run, step, _)| !inbox.iter().any(|w| w.run_id == *run && w.step == *step))
        .map(|(run, step, state)| format!("{run} {step} ({state:?})"))
        .collect();
    Ok((!lost.is_empty()).then(|| {
        format!(
            "waiting on a person by the run's own reading, but not in `baton inbox`: {}",
            lost.join(", ")
        )
    }))
}
