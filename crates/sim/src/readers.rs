//! issue 61 point 2: "a run's record is the same whether read by `show`, the console
//! or metrics". `baton show` and the console read a run through `session::inspect`
//! (the console's view is the same function's, refreshed); `baton runs` through
//! `Store::run_liveness`'s rule; `baton metrics` through `Store::metrics`, which for a
//! run that ended reads the totals kept when it ended, not its steps. Each reading's
//! run state and steps by state must agree.
use crate::SimError;
use baton_model::metrics::Metrics;
use baton_model::{RunState, RunView, Timestamp};
use baton_store::Store;
use std::collections::BTreeMap;

/// Steps by state, as a reading counts them (zeros left out).
type ByState = BTreeMap<&'static str, u64>;

/// What `show` (and the console) reads of one run.
pub(crate) struct Shown {
    pub workflow: String,
    pub state: RunState,
    pub steps: ByState,
}

/// `baton show RUN`'s reading, kept for the store-wide comparison.
pub(crate) fn shown(store: &Store, run: &str, now: Timestamp) -> Result<Shown, SimError> {
    let view: RunView = baton_session::inspect(store, run, now)?;
    let mut steps = ByState::new();
    for s in &view.steps {
        *steps.entry(s.state.as_str()).or_default() += 1;
    }
    Ok(Shown {
        workflow: view.workflow,
        state: view.state,
        steps,
    })
}

/// The steps of `workflow` by state in `m`, zeros left out.
fn steps_of(m: &Metrics, workflow: &str) -> ByState {
    m.steps
        .iter()
        .filter(|((wf, _), n)| wf == workflow && **n > 0)
        .map(|((_, s), n)| (*s, *n))
        .collect()
}

/// The runs of `workflow` by state in `m`, zeros left out.
fn runs_of(m: &Metrics, workflow: &str) -> BTreeMap<&'static str, u64> {
    m.runs
        .iter()
        .filter(|((wf, _), n)| wf == workflow && **n > 0)
        .map(|((_, s), n)| (*s, *n))
        .collect()
}

/// docs/architecture.md, "the history is the truth; a summary saved with each commit":
/// one run read by `show` (and the console), by `baton runs` and by `baton metrics
/// --run` says the same state and the same steps in each state.
pub(crate) fn one_run_one_record(
    store: &Store,
    run: &str,
    now: Timestamp,
) -> Result<Option<String>, SimError> {
    let shown = shown(store, run, now)?;
    let listed = store.run_liveness(run)?.state;
    if listed != shown.state {
        return Ok(Some(format!(
            "run {run}: `show` says {}, `runs` says {}",
            shown.state.as_str(),
            listed.as_str()
        )));
    }
    let m = store.metrics(Some(run))?;
    let states = runs_of(&m, &shown.workflow);
    let one = BTreeMap::from([(shown.state.as_str(), 1)]);
    if states != one {
        return Ok(Some(format!(
            "run {run}: `show` says {}, `metrics --run` counts {states:?}",
            shown.state.as_str()
        )));
    }
    let counted = steps_of(&m, &shown.workflow);
    Ok((counted != shown.steps).then(|| {
        format!(
            "run {run}: `show` has steps {:?}, `metrics --run` counts {counted:?}",
            shown.steps
        )
    }))
}

/// The same over the whole store, at the end: `baton metrics`'s runs and steps by
/// workflow and state (the totals of the runs that ended, kept as each ended) equal
/// the sum of every run's `show`.
pub(crate) fn metrics_are_the_runs_summed(
    store: &Store,
    runs: &[String],
    now: Timestamp,
) -> Result<Option<String>, SimError> {
    let mut want_runs: BTreeMap<(String, &'static str), u64> = BTreeMap::new();
    let mut want_steps: BTreeMap<(String, &'static str), u64> = BTreeMap::new();
    for run in runs {
        let s = shown(store, run, now)?;
        *want_runs
            .entry((s.workflow.clone(), s.state.as_str()))
            .or_default() += 1;
        for (state, n) in s.steps {
            *want_steps.entry((s.workflow.clone(), state)).or_default() += n;
        }
    }
    let m = store.metrics(None)?;
    let nonzero =
        |map: &BTreeMap<(String, &'static str), u64>| -> BTreeMap<(String, &'static str), u64> {
            map.iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| (k.clone(), *n))
                .collect()
        };
    let (got_runs, got_steps) = (nonzero(&m.runs), nonzero(&m.steps));
    if got_runs != want_runs {
        return Ok(Some(format!(
            "`metrics` counts runs {got_runs:?}; every run's `show` sums to {want_runs:?}"
        )));
    }
    Ok((got_steps != want_steps).then(|| {
        format!("`metrics` counts steps {got_steps:?}; every run's `show` sums to {want_steps:?}")
    }))
}
