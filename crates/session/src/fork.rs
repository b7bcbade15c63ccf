//! `baton fork RUN --from STEP` (issue 43 point 4): a new run of a finished run's
//! recorded workflow, with its params (and `--param` on top), in which STEP and what
//! follows it run again and the other steps keep the old run's recorded outcomes and
//! outputs. What is reused is the old run's core's decision (`Core::fork_plan`); the
//! new run records it in its own history (`Core::start_fork`, or `Core::fork_from`
//! then the group's opening). The fork is made as any new run is
//! (`concurrency::create`): in its workflow's concurrency group, if it has one, it
//! starts, queues, is skipped or supersedes the holder exactly as `baton run` would.
use super::SessionError;
use super::prepare::{self, Loaded, NewRunSpec, PlanSource};
use baton_core::ForkPlan;
use baton_store::Store;
use std::sync::Arc;

/// What a fork of `run_id` from `from` would do (`--dry-run`), or is about to.
pub fn plan(store: &Store, run_id: &str, from: &str) -> Result<ForkPlan, SessionError> {
    let record = store.run(run_id)?;
    let old = prepare::rebuild(store, run_id, PlanSource::Recorded, &[], false)?;
    old.fork_plan(from)
        .map_err(|refusal| SessionError::Refused {
            run_id: run_id.to_string(),
            state: record.state,
            refusal: Box::new(refusal),
        })
}

/// What a fork would do, by step id, as the console's fork dialog lists it: the core's
/// own plan ([`plan`], as `baton fork --dry-run` prints it), never a copy of its rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub run: String,
    pub step: String,
    /// The steps that run again, in plan order.
    pub rerun: Vec<String>,
    /// The steps kept as recorded, in the order the fork records them (a fanned-out
    /// step's instances before it).
    pub reused: Vec<String>,
}

impl From<&ForkPlan> for Preview {
    fn from(plan: &ForkPlan) -> Preview {
        Preview {
            run: plan.from_run.clone(),
            step: plan.from_step.clone(),
            rerun: plan.rerun.clone(),
            reused: plan.reused.iter().map(|r| r.step.clone()).collect(),
        }
    }
}

/// [`plan`] by step id, for the console (`ConsoleRequest::ForkPlan`): nothing written.
pub fn preview(store: &Store, run_id: &str, from: &str) -> Result<Preview, SessionError> {
    plan(store, run_id, from).map(|p| Preview::from(&p))
}

/// The fork's workflow (the text the old run recorded) and params (the old run's,
/// `given` on top, checked as `run --param` checks them; secret params, never stored,
/// given again), loaded before anything is written.
pub fn load(
    store: &Store,
    run_id: &str,
    given: &[(String, String)],
    operator: &str,
) -> Result<Loaded, SessionError> {
    let record = store.run(run_id)?;
    let first: Vec<baton_model::Event> = store.first_event(run_id)?.into_iter().collect();
    let plan = prepare::load_recorded(
        &record,
        PlanSource::Recorded,
        prepare::recorded_signers(&first),
        None,
    )?;
    let (params, _) = prepare::driving_params(&plan, &record, given)?;
    Ok(Loaded {
        spec: NewRunSpec {
            workflow: record.source_path.clone(),
            params: params.clone().into_iter().collect(),
            operator: operator.to_string(),
            ..NewRunSpec::default()
        },
        plan: Arc::clone(&plan),
        params,
        source_text: record.source_text.clone(),
    })
}
