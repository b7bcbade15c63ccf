//! A run that a step's own `baton run` starts (issue 81 point 4). The engine gives every
//! step `BATON_RUN_ID`, `BATON_STEP_ID` and `BATON_ATTEMPT`; a `baton run` whose
//! environment names a run of its store is recorded as that step's event, in the
//! transaction that makes the new run, as a trigger's event is (`Store::fire_trigger`,
//! kind [`KIND`]): `show` of the new run names the run and step that started it, and
//! `show` of that run names what its step started. The new run is one link deeper in
//! its chain than the step's run (`Store::chain_depth`), so a loop through triggers and
//! steps (A's end starts B, whose step runs `baton run A`) meets `MAX_TRIGGER_DEPTH`
//! as a loop of triggers does. An environment without the variables starts a new
//! chain: the bound stops loops made by mistake; it is not a security boundary.
use crate::SessionError;
use crate::concurrency::{self, Made};
use crate::prepare::{self, Loaded, Ready, Unwritten};
use baton_engine::Opening;
use baton_model::Timestamp;
use baton_store::Store;
use baton_store::trigger_events::{Fired, TriggerEvent};
use baton_workflow::MAX_TRIGGER_DEPTH;

/// The kind of a step's event in `trigger_events`.
pub const KIND: &str = "step";
/// The served file and index a step's event is kept under: none (no `[[trigger]]`
/// made it, so `baton triggers` lists none of them).
const FILE: &str = "";
const INDEX: u32 = 0;

/// The step a `baton run` runs inside, as its environment names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOrigin {
    pub run: String,
    pub step: String,
    pub attempt: u32,
}

impl StepOrigin {
    /// The step this process runs inside, if its environment names one (`None`: a
    /// `baton run` of a terminal, or of an environment stripped of the variables).
    pub fn from_env() -> Option<StepOrigin> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Some(StepOrigin {
            run: var("BATON_RUN_ID")?,
            step: var("BATON_STEP_ID")?,
            attempt: var("BATON_ATTEMPT")
                .and_then(|a| a.parse().ok())
                .unwrap_or(1),
        })
    }
}

/// Make the new run of `loaded` as [`concurrency::create`] does, recorded as started by
/// step `from` when `from`'s run is on this store (else as a run of its own). Refused
/// (nothing made) when the chain would be deeper than `MAX_TRIGGER_DEPTH`.
pub fn create(
    store: &mut Store,
    loaded: Loaded,
    lease_holder: &str,
    from: &StepOrigin,
) -> Result<Made, SessionError> {
    // A run of another store (`baton run --db OTHER` in a step) is no link of this one.
    // Any other error reading it is said, never taken for "no link".
    match store.run(&from.run) {
        Err(baton_store::StoreError::NotFound(_)) => {
            return concurrency::create(store, loaded, lease_holder, None);
        }
        Err(e) => return Err(e.into()),
        Ok(_) => {}
    }
    let depth = store.chain_depth(&from.run)? + 1;
    if depth > MAX_TRIGGER_DEPTH {
        return Err(SessionError::Usage(format!(
            "run {}/{} starts a chain {depth} runs deep, more than {MAX_TRIGGER_DEPTH} (triggers and steps' `baton run` each add one): a cycle is stopped there; nothing was made",
            from.run, from.step
        )));
    }
    let operator = loaded.spec.operator.clone();
    crate::one_name::check(store, &loaded.plan.name, &loaded.spec.workflow)?;
    let group = concurrency::group_of(&loaded.plan, &loaded.params)?;
    let Unwritten {
        new_run,
        mut core,
        workflow,
    } = prepare::unwritten(loaded, store.path());
    let key = format!(
        "step:{}/{}/{}:{}",
        from.run, from.step, from.attempt, new_run.id
    );
    let detail = format!("step {} of run {}", from.step, from.run);
    let ev = TriggerEvent {
        file: FILE,
        index: INDEX,
        key: &key,
        kind: KIND,
        detail: &detail,
        source_run: Some(&from.run),
        depth,
    };
    let joining = group.as_ref().map(concurrency::joining);
    let mut initial = Vec::new();
    let fired = store.fire_trigger(&ev, &new_run, lease_holder, joining.as_ref(), |verdict| {
        let opening = group
            .as_ref()
            .map_or(Opening::Run, |g| concurrency::opening(g, verdict));
        let (committed, rest) = prepare::split_persisted(core.start_as(opening, Timestamp::now()));
        initial = rest;
        (committed, core.state_summary())
    })?;
    let (decision, committed) = match fired {
        Fired::Made { decision, events } => (decision, events),
        // The key names the new run's own id: decided before means made before.
        Fired::Already(row) => {
            return Err(SessionError::Usage(format!(
                "run {} was recorded before ({}); nothing was made",
                new_run.id, row.fate
            )));
        }
    };
    let ready = Ready {
        run_id: new_run.id.clone(),
        workflow,
        core,
        initial,
        committed,
        stale: false,
    };
    let Some(group) = group else {
        return Ok(Made {
            ready,
            admitted: None,
        });
    };
    let admitted = concurrency::admitted_of(decision, &group);
    concurrency::follow_up(store, &group, &admitted, &ready.run_id, &operator)?;
    Ok(Made {
        ready,
        admitted: Some((group, admitted.admission)),
    })
}
