//! Making the runs of the slots due at one instant (issue 41 point 5: a slot's run
//! starts within 100 ms p95 of its slot with 200 schedules firing each minute).
//!
//! Made one after the other, each run opened two store connections, parsed its
//! workflow's text again and committed on its own with `synchronous = FULL`: the 200th
//! run of a minute started ten seconds late. Now a tick's slots are recorded in one
//! transaction (`Store::record_slots`), their runs made from the plans the catalog
//! keeps (each file's, loaded once per version of the file) and recorded in one
//! transaction off the serve's thread (`concurrency::admit_batch`), and what each
//! became recorded in one more (`Store::slots_started`); the runs are then driven, and
//! only then their admissions' follow-ups made (a queued run replacing the one pending
//! before it cancels that run, whose engine must exist to take it). The order of the records is
//! the one a slot always had: the slot, then its run, then the slot's run: a kill
//! between them leaves a slot recorded without a run, never a slot fired twice.
use super::catalog::Entry;
use super::{ServeOptions, Starting};
use crate::SessionError;
use crate::concurrency::{self, Admission, Admitted, Group};
use crate::host;
use crate::prepare::{self, NewRunSpec, Ready};
use baton_model::Timestamp;
use baton_model::schedule::{self as sched, Overlap};
use baton_store::Store;
use baton_workflow::{OnConflict, Plan, Schedule};
use std::path::PathBuf;
use std::sync::Arc;

/// A recorded slot whose run is to be made now.
pub(super) struct Start<'a> {
    pub file: &'a str,
    /// The schedule's index (`TRIGGER_INDEX` for a trigger).
    pub index: u32,
    pub slot: Timestamp,
    pub entry: &'a Entry,
    /// The schedule (`None`: an operator's trigger, which joins no schedule's group).
    pub schedule: Option<&'a Schedule>,
    pub params: Vec<(String, String)>,
}

/// What became of one slot's run: its id, or why none was made.
pub(super) type Started = Result<String, SessionError>;

/// Make the runs of `starts` (recorded slots), record what each became and hand each
/// run to `starting`. One result per start, in order.
///
/// The runs are made off this thread: joining a group with `overlap =
/// "cancel_running"` waits for the holder's engine to take its cancel, and that engine
/// is one this serve drives on this thread, which must go on running meanwhile.
pub(super) async fn start_runs(
    store: &mut Store,
    opts: &ServeOptions,
    starts: &[Start<'_>],
    starting: &mut Starting<'_>,
) -> Vec<Started> {
    if starts.is_empty() {
        return Vec::new();
    }
    let asks: Vec<Ask> = starts
        .iter()
        .map(|s| Ask {
            spec: NewRunSpec {
                workflow: PathBuf::from(s.file),
                params: s.params.clone(),
                operator: opts.operator.clone(),
                slot: Some(s.slot),
                zone: s.schedule.map(|sc| sc.cadence.zone.name().to_string()),
                labels: s.schedule.map(|sc| sc.labels.clone()).unwrap_or_default(),
                ..NewRunSpec::default()
            },
            plan: s.entry.plan.clone(),
            text: s.entry.text.clone(),
            schedule: s.schedule.map(|sc| (s.index, sc.overlap)),
        })
        .collect();
    let db = opts.db.clone();
    let n = asks.len();
    let made = tokio::task::spawn_blocking(move || make_all(&db, asks))
        .await
        .unwrap_or_else(|e| {
            (0..n)
                .map(|_| Err(SessionError::System(format!("making the run failed: {e}"))))
                .collect()
        });
    let fates: Vec<(&str, Option<String>)> = made
        .iter()
        .map(|m| match m {
            Ok((ready, _, a, _)) => (a.admission.word(), Some(ready.run_id.clone())),
            Err(_) => ("failed", None),
        })
        .collect();
    let rows: Vec<(&str, u32, Timestamp, &str, Option<&str>)> = starts
        .iter()
        .zip(&fates)
        .map(|(s, (fate, run))| (s.file, s.index, s.slot, *fate, run.as_deref()))
        .collect();
    let recorded = store.slots_started(&rows);
    let mut out = Vec::with_capacity(n);
    let mut follow = Vec::new();
    for (s, m) in starts.iter().zip(made) {
        let (ready, own, admission, group) = match m {
            Ok(m) => m,
            Err(e) => {
                out.push(Err(e));
                continue;
            }
        };
        let run_id = ready.run_id.clone();
        crate::stdio::errln!(
            "serve: {} slot {} {} run {run_id}",
            sched::schedule_name(&s.entry.plan.name, s.index),
            s.slot.to_rfc3339(),
            admission.admission.word()
        );
        // Driven even if its slot's fate could not be recorded: the run is recorded,
        // with its lease, and a run left undriven would wait for the next serve.
        starting.host(own, ready);
        if let Some(g) = group
            && (!admission.replaced.is_empty()
                || matches!(admission.admission, Admission::Superseding { .. }))
        {
            follow.push((g, admission, run_id.clone()));
        }
        out.push(match &recorded {
            Ok(()) => Ok(run_id),
            Err(e) => Err(SessionError::System(format!(
                "run {run_id} started, but its slot's record was not updated: {e}"
            ))),
        });
    }
    if !follow.is_empty() {
        // Not awaited: a cancel they send waits (up to 10 s) for its run's engine, and
        // every schedule's next slots must not wait behind it (issue 75 point 7).
        tokio::spawn(follow_ups(opts.db.clone(), opts.operator.clone(), follow));
    }
    out
}

/// The follow-ups of the runs just driven (a holder superseded, pending runs
/// replaced: `concurrency::follow_up`), off the serve's loop, on a blocking thread: a
/// cancel they send waits for the engine of its run, which may be one this serve
/// drives, or one stopped elsewhere. A serve that stops meanwhile lets them end: its
/// runtime waits for a blocking task that runs.
pub(super) async fn follow_ups(
    db: PathBuf,
    operator: String,
    follow: Vec<(Group, Admitted, String)>,
) {
    let done = tokio::task::spawn_blocking(move || {
        let mut store = Store::open(&db)?;
        let mut failed = Vec::new();
        for (g, a, run) in &follow {
            if let Err(e) = concurrency::follow_up(&mut store, g, a, run, &operator) {
                failed.push(format!("run {run}: {e}"));
            }
        }
        Ok::<_, SessionError>(failed)
    })
    .await;
    let failed = match done {
        Ok(Ok(f)) => f,
        Ok(Err(e)) => vec![e.to_string()],
        Err(e) => vec![e.to_string()],
    };
    for f in failed {
        crate::stdio::errln!("serve: after admitting {f}");
    }
}

/// One run to make, as the blocking task gets it.
struct Ask {
    spec: NewRunSpec,
    plan: Arc<Plan>,
    text: String,
    /// The schedule's index and overlap, for a slot's run.
    schedule: Option<(u32, Overlap)>,
}

type Made = Result<(Ready, Store, Admitted, Option<Group>), SessionError>;

/// On the blocking pool: every run of `asks` made in one transaction, then each with
/// its own connection for its driver. A batch the store refuses as a whole (a run
/// among them it cannot record) is made again one run at a time, so that one bad run
/// does not cost the others theirs.
fn make_all(db: &std::path::Path, asks: Vec<Ask>) -> Vec<Made> {
    let holder = host::lease_holder();
    let mut store = match Store::open(db) {
        Ok(s) => s,
        Err(e) => {
            let e = SessionError::from(e);
            return asks
                .iter()
                .map(|_| Err(SessionError::System(e.to_string())))
                .collect();
        }
    };
    // Each ask's group, or why it cannot be made.
    let mut groups: Vec<Result<Option<Group>, SessionError>> = Vec::with_capacity(asks.len());
    let mut ok: Vec<(prepare::Loaded, Option<Group>)> = Vec::new();
    for a in &asks {
        // One workflow name, one file: a due run of a file naming a workflow the store
        // runs from another file is refused, as `baton run` refuses it (`one_name`).
        let named = crate::one_name::check(&store, &a.plan.name, &a.spec.workflow);
        match named.and_then(|()| loaded(a)) {
            Ok((l, g)) => {
                groups.push(Ok(g.clone()));
                ok.push((l, g));
            }
            Err(e) => groups.push(Err(e)),
        }
    }
    let mut made: Vec<Result<(Ready, Admitted), SessionError>> =
        match concurrency::admit_batch(&mut store, ok, &holder) {
            Ok(m) => m.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(batch) => {
                crate::stdio::errln!(
                    "serve: the slots' runs could not be made together ({batch}); making them one at a time"
                );
                asks.iter()
                    .zip(&groups)
                    .filter(|(_, g)| g.is_ok())
                    .map(|(a, _)| one(&mut store, a, &holder))
                    .collect()
            }
        }
        .into_iter()
        .rev()
        .collect();
    groups
        .into_iter()
        .map(|group| {
            let group = group?;
            let (ready, a) = made.pop().unwrap_or_else(|| {
                Err(SessionError::System(
                    "a run of the batch went missing".into(),
                ))
            })?;
            Ok((ready, Store::open(db)?, a, group))
        })
        .collect()
}

/// A run of `a`, its params resolved against the served plan (never parsed again),
/// and the group it joins.
fn loaded(a: &Ask) -> Result<(prepare::Loaded, Option<Group>), SessionError> {
    let group = group_for(&a.plan, &a.spec, a.schedule)?;
    let loaded = prepare::load_plan(a.spec.clone(), a.plan.clone(), a.text.clone())?;
    Ok((loaded, group))
}

/// One run made on its own (the batch's fallback): a batch of one.
fn one(store: &mut Store, a: &Ask, holder: &str) -> Result<(Ready, Admitted), SessionError> {
    concurrency::admit_batch(store, vec![loaded(a)?], holder)?
        .pop()
        .ok_or_else(|| SessionError::System("the run was not made".into()))
}

/// The concurrency group a run of `plan` joins: the workflow's own if it has one (it
/// guards what every starter shares), else, for a schedule's slot, a group of the
/// schedule's own whose conflict rule is its `overlap`; a trigger outside both joins none.
fn group_for(
    plan: &Plan,
    spec: &NewRunSpec,
    schedule: Option<(u32, Overlap)>,
) -> Result<Option<Group>, SessionError> {
    let resolved = baton_workflow::resolve_params(plan, &spec.params)
        .map_err(|e| SessionError::Usage(e.to_string()))?;
    if let Some(own) = concurrency::group_of(plan, &resolved)? {
        return Ok(Some(own));
    }
    Ok(schedule.map(|(index, overlap)| Group {
        name: format!("schedule:{}#{index}", spec.workflow.display()),
        max_pending: baton_workflow::DEFAULT_MAX_PENDING,
        on_conflict: match overlap {
            Overlap::Skip => OnConflict::Skip,
            Overlap::Queue => OnConflict::Queue,
            Overlap::CancelRunning => OnConflict::CancelRunning,
        },
    }))
}
