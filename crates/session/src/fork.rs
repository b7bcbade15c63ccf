//! `baton fork RUN --from STEP` (issue 43 point 4): a new run of a finished run's
//! recorded workflow, with its params (and `--param` on top), in which STEP and what
//! follows it run again and the other steps keep the old run's recorded outcomes and
//! outputs. What is reused is the old run's core's decision (`Core::fork_plan`); the
//! new run records it in its own history (`Core::start_fork`, or `Core::fork_from`
//! then the group's opening). The fork is made as any new run is
//! (`concurrency::create`): in its workflow's concurrency group, if it has one, it
//! starts, queues, is skipped or supersedes the holder exactly as `baton run` would.
//!
//! In a group store a fork reuses what any member can rewrite (the old run's text,
//! params and outputs), so before anything is planned the old run is checked as a
//! takeover checks it ([`check_source`]); another account's run, which only its
//! starter's engine can check, is forked only when the command names that account
//! ([`acknowledged`]). The fork itself is a new run of the forking account, sealed by
//! its engine.
use super::SessionError;
use super::prepare::{self, Loaded, NewRunSpec, PlanSource};
use baton_core::ForkPlan;
use baton_model::history::{AuditAction, Decision};
use baton_model::same_actor;
use baton_store::{RunRecord, Store, StoreError};
use baton_workflow::Plan;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Whose record a fork runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Whose {
    /// This account's own run, its seal checked (or any run of a private store).
    Mine,
    /// Another account's run in a group store: its record and outputs as the store
    /// holds them, which only that account's engine can check against its seal.
    Starter(String),
}

/// Before a fork of `run_id` is planned: whose run it is, and for this account's own
/// run in a group store, its record and events are what its engine sealed
/// (`Store::check_sealed`, the takeover's check), else `Unproven` (exit 3) naming what
/// did not verify. [`refuse`] puts that on record.
pub(crate) fn check_source(store: &Store, run_id: &str, me: &str) -> Result<Whose, SessionError> {
    let record = store.run(run_id)?;
    if !store.is_shared() {
        return Ok(Whose::Mine);
    }
    if !same_actor(&record.operator, me) {
        return Ok(Whose::Starter(record.operator));
    }
    store.check_sealed(&record)?;
    Ok(Whose::Mine)
}

/// Before a fork from `from` is made, as `me`: [`check_source`], its refusal on
/// record ([`refuse`]), and [`acknowledged`]. Whose record the fork runs.
pub fn checked_source(
    store: &mut Store,
    run_id: &str,
    from: &str,
    me: &str,
    from_run_of: Option<&str>,
) -> Result<Whose, SessionError> {
    let whose = match check_source(store, run_id, me) {
        Ok(w) => w,
        Err(e) => {
            // The refusal stands whether or not the store could take its record.
            let _ = refuse(store, run_id, from, me, &e);
            return Err(e);
        }
    };
    acknowledged(run_id, &whose, me, from_run_of)?;
    Ok(whose)
}

/// A fork [`check_source`] refused because the run's record did not verify, on the
/// audit chain under the old run (as `me`'s). Any other error records nothing.
fn refuse(
    store: &mut Store,
    run_id: &str,
    from: &str,
    me: &str,
    e: &SessionError,
) -> Result<(), SessionError> {
    let SessionError::Store(StoreError::Unproven { what, .. }) = e else {
        return Ok(());
    };
    let d = Decision {
        actor: me.to_string(),
        action: AuditAction::CommandRefused,
        step: Some(from.to_string()),
        reason: Some(e.to_string()),
        summary: format!("refused to fork run {run_id} from {from}: its {what}"),
        // `decision` and `code` as every refused decision's row names them (`baton
        // audit` shows `command_refused fork (unproven)`); `fork` and `from`: which.
        details: serde_json::json!({
            "decision": "fork",
            "code": baton_model::Refusal::Unproven { why: String::new() }.code(),
            "fork": run_id,
            "from": from,
            "unproven": what,
        }),
    };
    store.record_refusal(run_id, &d)?;
    Ok(())
}

/// Whether the fork may run what [`check_source`] found: another account's run only
/// when the command names that account (`--from-run-of`, or the console's confirm,
/// which shows it); a named account that is not the run's starter is refused.
fn acknowledged(
    run_id: &str,
    whose: &Whose,
    me: &str,
    from_run_of: Option<&str>,
) -> Result<(), SessionError> {
    let starter = match whose {
        Whose::Starter(s) => s.as_str(),
        Whose::Mine => me,
    };
    match from_run_of {
        Some(named) if !same_actor(named, starter) => Err(SessionError::Usage(format!(
            "--from-run-of {named}: run {run_id} was started by `{starter}`"
        ))),
        None if matches!(whose, Whose::Starter(_)) => Err(SessionError::Usage(format!(
            "run {run_id} was started by `{starter}`: a fork runs its recorded workflow text and params and reuses its outputs as `{me}`, and only `{starter}`'s engine can check that they are what it recorded; to fork it as yours, give --from-run-of {starter}"
        ))),
        _ => Ok(()),
    }
}

/// What a fork says of whose record it runs, when it is another account's.
pub fn whose_note(whose: &Whose) -> Option<String> {
    match whose {
        Whose::Mine => None,
        Whose::Starter(s) => Some(format!(
            "the record and reused outputs of `{s}`'s run, as the store holds them (only `{s}`'s engine can check them)"
        )),
    }
}

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

/// What a fork would do, by step id, as the console's fork dialog lists it (the link's
/// type: the console is built against `baton-link`, not this crate).
pub(crate) use baton_link::ForkPreview as Preview;

/// The core's own plan ([`plan`], as `baton fork --dry-run` prints it) by step id,
/// never a copy of its rules.
fn preview_of(plan: &ForkPlan) -> Preview {
    Preview {
        run: plan.from_run.clone(),
        step: plan.from_step.clone(),
        rerun: plan.rerun.clone(),
        reused: plan.reused.iter().map(|r| r.step.clone()).collect(),
        starter: None,
        workflow: String::new(),
        params: Vec::new(),
    }
}

/// The recorded workflow's params with the run's values, as the fork dialog starts
/// from them ([`load`] reads the same record). A secret's value is never stored (the
/// record holds its mask) and none is carried: neither its default nor its value.
fn recorded_params(record: &RunRecord, plan: &Plan) -> Vec<baton_link::ForkParam> {
    let values: BTreeMap<String, String> =
        serde_json::from_str(&record.params_json).unwrap_or_default();
    plan.params
        .iter()
        .map(|p| {
            let mut input = baton_workflow::input_of_spec(p);
            if p.secret {
                input.default = None;
            }
            baton_link::ForkParam {
                input,
                secret: p.secret,
                recorded: values.get(&p.name).filter(|_| !p.secret).cloned(),
            }
        })
        .collect()
}

/// [`plan`] by step id, for the console (`ConsoleRequest::ForkPlan`), after
/// [`check_source`] as `me`: nothing written.
pub(crate) fn preview(
    store: &Store,
    run_id: &str,
    from: &str,
    me: &str,
) -> Result<Preview, SessionError> {
    let whose = check_source(store, run_id, me)?;
    let mut p = preview_of(&plan(store, run_id, from)?);
    if let Whose::Starter(s) = whose {
        p.starter = Some(s);
    }
    let (record, recorded_plan) = recorded(store, run_id)?;
    p.workflow = record.workflow.clone();
    p.params = recorded_params(&record, &recorded_plan);
    Ok(p)
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
    let (record, plan) = recorded(store, run_id)?;
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

/// Run `run_id`'s record and the workflow it recorded, loaded as its engine loaded it.
fn recorded(store: &Store, run_id: &str) -> Result<(RunRecord, Arc<Plan>), SessionError> {
    let record = store.run(run_id)?;
    let first: Vec<baton_model::Event> = store.first_event(run_id)?.into_iter().collect();
    let plan = prepare::load_recorded(
        &record,
        PlanSource::Recorded,
        prepare::recorded_signers(&first),
        None,
    )?;
    Ok((record, plan))
}

/// What `baton retry RUN --failed` would run again now (`Core::failed_retry` on the
/// run's replayed history), for the console's confirm: nothing written. The command
/// decides again when it arrives.
pub(crate) fn retry_preview(
    store: &Store,
    run_id: &str,
) -> Result<baton_link::RetryPreview, SessionError> {
    let record = store.run(run_id)?;
    let core = prepare::rebuild(store, run_id, PlanSource::Recorded, &[], false)?;
    match core.failed_retry(baton_model::Timestamp::now()) {
        Ok(p) => Ok(baton_link::RetryPreview {
            run: run_id.to_string(),
            steps: p.steps,
            left: p.left,
        }),
        Err(refusal) => Err(SessionError::Refused {
            run_id: run_id.to_string(),
            state: record.state,
            refusal: Box::new(refusal),
        }),
    }
}
