//! Resume's look at the batch jobs of a run: a job the dead engine submitted but did
//! not get to record (the window between `sbatch` and the commit) is found by its name
//! (`baton-<run id>`) and comment (`<step>.<attempt>`), then adopted when its attempt
//! still runs, or cancelled: never run twice. An SSH step started but not recorded is
//! found by its attempt's directory on the host, the same way; a job of a generic batch
//! executor by its attempt's directory (`attempt` and the id `submit` printed).
use baton_core::{Core, Effect};
use baton_exec::{Backends, NotAnswered};
use baton_model::Timestamp;
use std::path::Path;

use crate::SessionError;

/// Frozen local attempts whose process group outlived the dead engine, still stopped
/// and still theirs, are adopted (`Core::adopt_frozen`, issue 43 point 1): resume
/// follows them, still held, instead of stopping them. Not where the adopted leader's
/// exit could not be seen (`exec::adopt::may_trace`). One that another process traces
/// already is adopted, frozen, but told the core as untraceable (`Core::trace_refused`):
/// a release taking the run over is refused as the engine's would be.
fn adopt_frozen(core: &mut Core, run_id: &str) {
    if !baton_exec::adopt::may_trace() {
        return;
    }
    for (i, step, attempt, pgid) in core.frozen_local() {
        if baton_exec::adopt::frozen_attempt(pgid, run_id, &step, attempt).is_some()
            && core.adopt_frozen(i, attempt, pgid)
            && let Some(tracer) = baton_exec::adopt::tracer_of(pgid)
        {
            let why = format!("process {tracer} traces it already, and a process has one tracer");
            core.trace_refused(i, attempt, Some(why));
        }
    }
}

/// What each local attempt the dead engine lost (not adopted) wrote to its
/// `$BATON_OUTPUT`, where the record says it is, kept as its outputs
/// (`Core::keep_outputs`, issue 55 point 5): a mark of it keeps them. Read before the
/// takeover removes the dead engine's files. Its `$BATON_SUMMARY` is kept beside its
/// log in `log_dir`, as a finished attempt's is.
fn keep_outputs(core: &mut Core, run_id: &str, now: Timestamp, log_dir: &Path) -> Vec<Effect> {
    let mut fx = Vec::new();
    let left = core.left_outputs();
    let ids: Vec<String> = match left.is_empty() {
        true => Vec::new(),
        false => core.view(now).steps.into_iter().map(|s| s.id).collect(),
    };
    for (step, attempt, path) in left {
        // The step's `[secrets]`, read from the same sources its start read them from,
        // are known before anything it left is kept: an output holding one is refused
        // as on a finished attempt, and its summary masked. Unreadable now: nothing it
        // left is kept, as nothing could be checked.
        let Some(secrets) = step_secrets(core, step) else {
            continue;
        };
        core.learn_secrets(secrets);
        if let Some(id) = ids.get(step) {
            let log = log_dir.join(baton_model::log_file_name(id, attempt));
            let mask = |t: &str| core.masked(t);
            // Never fatal: the takeover goes on without it, as a finished attempt's would.
            let _ = baton_exec::leftovers::keep_summary(run_id, &path, &log, &mask);
        }
        let outputs = baton_exec::leftovers::read_outputs(run_id, &path);
        if !outputs.is_empty() {
            fx.extend(core.keep_outputs(step, attempt, outputs, now));
        }
    }
    fx
}

/// The values of step `step`'s `[secrets]` entries (`exec::secrets::read_all`, against
/// the workflow's directory as at its start); `None` when one cannot be read. Read on a
/// thread of its own: a takeover may run inside the engine's runtime or outside any.
fn step_secrets(core: &Core, step: usize) -> Option<Vec<String>> {
    let plan = core.plan();
    let secrets: Vec<baton_workflow::Secret> = plan.secrets_of(step).into_iter().cloned().collect();
    if secrets.is_empty() {
        return Some(Vec::new());
    }
    let dir = plan.base_dir.clone();
    let read = move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        rt.block_on(baton_exec::secrets::read_all(&secrets, &dir))
            .ok()
    };
    let read = std::thread::scope(|s| s.spawn(read).join()).ok()??;
    Some(read.into_iter().map(|(_, v)| v).collect())
}

/// Adopt the run's unrecorded live jobs into `core` (`Core::adopt_job`), before resume;
/// their effects (events, cancellations) go first among the driver's initial effects.
/// Each executor's back end says what it left running (`Backend::left_behind`).
///
/// A back end that cannot be asked (a host down, `squeue` failing) while a step's
/// placement is missing from the record refuses the resume: taking "no answer" for
/// "nothing left" would run an idempotent step a second time beside the first.
pub(crate) fn adopt(
    core: &mut Core,
    run_id: &str,
    now: Timestamp,
    (backends, log_dir): (&Backends, &Path),
) -> Result<Vec<Effect>, SessionError> {
    adopt_frozen(core, run_id);
    let plan = std::sync::Arc::clone(core.plan());
    let mut fx = keep_outputs(core, run_id, now, log_dir);
    for backend in backends.for_plan(&plan, run_id) {
        let left = match backend.left_behind() {
            Ok(left) => left,
            Err(why) => {
                let steps = core.unplaced_running();
                if steps.is_empty() {
                    continue;
                }
                return Err(unanswered(run_id, backend.name(), &why, &steps));
            }
        };
        for left in left {
            if let Some(step) = plan.step_index(&left.step) {
                let name = backend.name().to_string();
                fx.extend(core.adopt_job(step, left.attempt, name, left.job_id, now));
            }
        }
    }
    Ok(fx)
}

/// The refusal of a resume whose executor could not say what the dead engine left.
fn unanswered(run_id: &str, executor: &str, why: &NotAnswered, steps: &[String]) -> SessionError {
    SessionError::Unanswered {
        run_id: run_id.to_string(),
        executor: executor.to_string(),
        why: why.to_string(),
        steps: steps
            .iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}
