//! Concurrency across runs: a run that belongs to a *group* (`concurrency = { group =
//! … }` in the workflow, or a group a front end names, such as a schedule's) is made
//! here, and the store decides in one transaction whether it holds the group, waits
//! for it, or skips (`store::slots`).
//!
//! How to use it (a front end that makes runs, such as `baton run`, `baton fork` or a
//! scheduler):
//!
//! 1. [`prepare::load_new`] the workflow (a fork: `fork::load`).
//! 2. [`create`]: the ONE path by which a front end makes a run of a workflow, in the
//!    workflow's own group if it has one ([`group_of`]) and plainly otherwise; a fork
//!    passes its `ForkPlan`. Every decision is [`admit`]'s (the deterministic simulator
//!    calls it too); [`follow_through`] only waits for the engines' answers to the
//!    cancels it asks. The run is recorded with its lease and comes back
//!    [`Ready`] with its [`Admission`] ([`Made`]; [`Made::said`] is the sentence a
//!    front end shows). A `Skipped` run is already finished; a `Queued` one is
//!    recorded `queued` and its driver starts it when the group is free
//!    (`engine::driver` asks the store on every poll: `Store::admit_queued`); a
//!    `Superseding` one waits likewise, after the holder was cancelled through the
//!    same path as `baton cancel` (`command::apply`), recorded under the new run's
//!    starter with the reason `superseded by RUN`. The waiting runs it replaced past
//!    `max_pending` (the store took them out of the line in the transaction that made
//!    it: `store::admission`) are cancelled the same way. A scheduler builds a [`Group`] of
//!    its own (its overlap policy: a group named after the schedule, with
//!    `OnConflict::Queue`, `Skip` or `CancelRunning`) and makes its runs with
//!    [`admit_batch`], then their [`follow_up`].
//! 3. Drive the `Ready` as any new run (`host`). Nothing needs releasing: a group is
//!    free once its run finished or its engine is gone (its lease lapsed).
use super::SessionError;
use super::command::{self, Delivery};
use super::prepare::{self, Loaded, Ready, Unwritten, split_persisted, unwritten};
use baton_core::ForkPlan;
use baton_engine::{Core, Opening};
use baton_model::{Command, RunState, Timestamp};
use baton_store::Store;
use baton_store::admission::Decision;
use baton_store::slots::{Batched, Joining, Verdict, WhenBusy};
use baton_workflow::{OnConflict, Plan};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long the superseding run waits for the holder's engine to take its cancel.
const SUPERSEDE_WAIT: Duration = Duration::from_secs(10);

/// A concurrency group a new run joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The group's key in the store: the workflow's own group compares
    /// case-insensitively, as GitHub's do (`deploy-Prod` is `deploy-prod`).
    pub name: String,
    pub on_conflict: OnConflict,
    /// How many runs may wait at once: a newer waiting one replaces the oldest past
    /// it (out of the line at once, cancelled on record); a run holding the group is
    /// never replaced.
    pub max_pending: usize,
}

/// What became of a new run of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The group was free: the run started and holds it.
    Started,
    /// `holder` holds the group: the run waits, `queued`.
    Queued { holder: String },
    /// `holder` holds the group: the run ended `skipped`.
    Skipped { holder: String },
    /// `holder` was asked to cancel (superseded by this run), which waits, `queued`,
    /// first in line.
    Superseding { holder: String },
}

impl Admission {
    /// The word a slot's or an event's row records for its run once it joined its group.
    pub fn word(&self) -> &'static str {
        match self {
            Admission::Started => "started",
            Admission::Queued { .. } => "queued",
            Admission::Skipped { .. } => "skipped",
            Admission::Superseding { .. } => "superseding",
        }
    }
}

/// The workflow's own group for a run with these params (`None`: it has none).
pub(crate) fn group_of(
    plan: &Plan,
    params: &BTreeMap<String, String>,
) -> Result<Option<Group>, SessionError> {
    let Some(c) = &plan.concurrency else {
        return Ok(None);
    };
    let name = c.group_for(params).map_err(|r| {
        SessionError::Usage(format!(
            "the concurrency group reads `{r}`, which has no value"
        ))
    })?;
    if name.trim().is_empty() {
        return Err(SessionError::Usage(format!(
            "the concurrency group `{}` is empty with these params; give them values",
            c.group
        )));
    }
    Ok(Some(Group {
        name: name.to_lowercase(),
        on_conflict: c.on_conflict,
        max_pending: c.max_pending,
    }))
}

/// A new run as [`create`] made it: ready to drive, and what its concurrency group
/// decided (`None`: its workflow has no group).
pub struct Made {
    pub ready: Ready,
    pub admitted: Option<(Group, Admission)>,
}

/// What a new run of a group was admitted as, and the waiting runs it replaced
/// (`max_pending`), whose cancel its [`follow_up`] records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Admitted {
    pub admission: Admission,
    pub replaced: Vec<String>,
}

impl Made {
    /// What the group decided, as a front end says it before the run's own lines
    /// (`None`: the run simply started).
    pub fn said(&self) -> Option<String> {
        let (group, admission) = self.admitted.as_ref()?;
        let (run, g) = (&self.ready.run_id, &group.name);
        match admission {
            Admission::Started => None,
            Admission::Queued { holder } => Some(format!(
                "run {run} is queued: concurrency group `{g}` is held by run {holder}; it starts when the group is free"
            )),
            Admission::Skipped { holder } => Some(format!(
                "run {run} is skipped: concurrency group `{g}` is held by run {holder} (on_conflict = \"skip\")"
            )),
            Admission::Superseding { holder } => Some(format!(
                "run {run} supersedes run {holder} in concurrency group `{g}`: that run is cancelled, and this one starts once it has ended"
            )),
        }
    }
}

/// A new run as [`admit`] made it, and what its admission asks of other runs: the
/// cancels to hand in ([`follow_up_cancels`]), each with the run it goes to, not yet
/// handed in.
pub struct Admitting {
    pub made: Made,
    /// The waiting runs it replaced past `max_pending` (their cancels among `asks`).
    pub replaced: Vec<String>,
    pub asks: Vec<(String, Command)>,
}

/// Make a new run of `loaded` (a fork of `fork`'s run when given), with its lease for
/// `lease_holder`: in the workflow's concurrency group, if it has one, as the store
/// decides (it holds the group and starts, waits `queued` or ends `skipped`; with
/// `cancel_running` the holder is cancelled, on record, by the new run's starter);
/// plainly started otherwise. `baton run`, `baton fork` and the console's fork all
/// make their runs here: [`admit`], then [`follow_through`] waiting for the answers.
pub fn create(
    store: &mut Store,
    loaded: Loaded,
    lease_holder: &str,
    fork: Option<&ForkPlan>,
) -> Result<Made, SessionError> {
    let Admitting { made, asks, .. } = admit(store, loaded, lease_holder, fork)?;
    follow_through(store, asks)?;
    Ok(made)
}

/// Every decision of [`create`] and nothing that waits: the run recorded as the store
/// admits it, and the cancels its admission asks of other runs, returned to be handed
/// in. [`create`] hands them in at once and waits for each engine's answer on the real
/// clock; the deterministic simulator, whose engines answer on its own schedule, hands
/// them in as rows whose verdicts it reads later.
pub fn admit(
    store: &mut Store,
    loaded: Loaded,
    lease_holder: &str,
    fork: Option<&ForkPlan>,
) -> Result<Admitting, SessionError> {
    let operator = loaded.spec.operator.clone();
    super::one_name::check(store, &loaded.plan.name, &loaded.spec.workflow)?;
    let group = group_of(&loaded.plan, &loaded.params)?;
    let u = unwritten(loaded, store.path());
    let (ready, admitted) = record(store, u, lease_holder, group.as_ref(), fork)?;
    let Some((group, admitted)) = group.zip(admitted) else {
        let made = Made {
            ready,
            admitted: None,
        };
        return Ok(Admitting {
            made,
            replaced: Vec::new(),
            asks: Vec::new(),
        });
    };
    let asks = follow_up_cancels(&group, &admitted, &ready.run_id, &operator);
    let made = Made {
        ready,
        admitted: Some((group, admitted.admission)),
    };
    let replaced = admitted.replaced;
    Ok(Admitting {
        made,
        replaced,
        asks,
    })
}

/// Record the new run `u` (a fork of `fork`'s run when given: its start records the
/// reused steps), with its lease for `lease_holder`: in `group` as the store decides
/// in one transaction, plainly started without one (`None` admitted). What the
/// admission asks next ([`follow_up_cancels`]) is the caller's ([`admit`]).
pub(crate) fn record(
    store: &mut Store,
    u: Unwritten,
    lease_holder: &str,
    group: Option<&Group>,
    fork: Option<&ForkPlan>,
) -> Result<(Ready, Option<Admitted>), SessionError> {
    let Some(group) = group else {
        let ready = prepare::create_with(store, u, lease_holder, |core, now| match fork {
            Some(f) => core.start_fork(f, now),
            None => core.start(now),
        })?;
        return Ok((ready, None));
    };
    let Unwritten {
        new_run,
        mut core,
        workflow,
    } = u;
    if let Some(f) = fork {
        core.fork_from(f.clone());
    }
    let run_id = new_run.id.clone();
    let joining = joining(group);
    let mut initial = Vec::new();
    let (decision, committed) =
        store.create_run_in_group(&new_run, lease_holder, &joining, |verdict| {
            let (committed, rest) =
                split_persisted(core.start_as(opening(group, verdict), Timestamp::now()));
            initial = rest;
            (committed, core.state_summary())
        })?;
    let admitted = admitted_of(decision, group);
    let ready = Ready {
        run_id,
        workflow,
        core,
        initial,
        committed,
        stale: false,
    };
    Ok((ready, Some(admitted)))
}

/// What a new run's admission asks next, on record under `operator`: the holder it
/// supersedes cancelled, and the waiting runs it replaced. [`create`] makes it; a
/// caller of [`admit_batch`] makes it once the batch's runs are driven (a cancel of a
/// run of the batch is taken by its engine).
pub(crate) fn follow_up(
    store: &mut Store,
    group: &Group,
    admitted: &Admitted,
    run_id: &str,
    operator: &str,
) -> Result<(), SessionError> {
    follow_through(store, follow_up_cancels(group, admitted, run_id, operator))
}

/// What waits of [`create`]: each cancel `asks` names handed in as `baton cancel RUN`
/// ([`cancel_as`]), the answer of the engine that drives that run waited for on the
/// real clock (up to [`SUPERSEDE_WAIT`] each).
pub(crate) fn follow_through(
    store: &mut Store,
    asks: Vec<(String, Command)>,
) -> Result<(), SessionError> {
    for (run, cancel) in asks {
        cancel_as(store, &run, cancel)?;
    }
    Ok(())
}

/// The cancels new run `run_id`'s admission asks for, each with the run it goes to,
/// under `operator`: the waiting runs it replaced past `max_pending`, then the holder
/// it supersedes (`cancel_running`).
pub(crate) fn follow_up_cancels(
    group: &Group,
    admitted: &Admitted,
    run_id: &str,
    operator: &str,
) -> Vec<(String, Command)> {
    let cancel = |reason| Command::Cancel {
        operator: operator.to_string(),
        reason: Some(reason),
    };
    let mut cancels: Vec<(String, Command)> = (admitted.replaced.iter())
        .map(|old| {
            let reason = format!(
                "replaced by {run_id}: concurrency group `{}` keeps at most {} pending run(s) (max_pending)",
                group.name, group.max_pending
            );
            (old.clone(), cancel(reason))
        })
        .collect();
    if let Admission::Superseding { holder } = &admitted.admission {
        cancels.push((holder.clone(), cancel(format!("superseded by {run_id}"))));
    }
    cancels
}

/// What the store's decision makes of a new run of `group`.
pub(crate) fn admitted_of(decision: Decision, group: &Group) -> Admitted {
    Admitted {
        admission: admission_of(decision.verdict, group),
        replaced: decision.replaced,
    }
}

/// The admission the store's verdict makes for a run of `group`.
fn admission_of(verdict: Verdict, group: &Group) -> Admission {
    match (verdict, group.on_conflict) {
        (Verdict::Holds, _) => Admission::Started,
        (Verdict::Busy { holder }, OnConflict::Queue) => Admission::Queued { holder },
        (Verdict::Busy { holder }, OnConflict::Skip) => Admission::Skipped { holder },
        (Verdict::Busy { holder }, OnConflict::CancelRunning) => Admission::Superseding { holder },
    }
}

/// Many new runs at once (a serve's slots due at one instant), each in its group (or
/// none), recorded in ONE transaction (`Store::create_runs_batch`): each comes back
/// as [`create`] would give it, except that
/// its [`follow_up`] is left to the caller, to be made once the runs are driven.
pub(crate) fn admit_batch(
    store: &mut Store,
    runs: Vec<(Loaded, Option<Group>)>,
    lease_holder: &str,
) -> Result<Vec<(Ready, Admitted)>, SessionError> {
    let mut made = Vec::with_capacity(runs.len());
    let mut batch = Vec::with_capacity(runs.len());
    for (loaded, group) in runs {
        let u = unwritten(loaded, store.path());
        batch.push(Batched {
            run: u.new_run.clone(),
            joining: group.as_ref().map(joining),
        });
        made.push((u, group, Vec::new()));
    }
    let verdicts = store.create_runs_batch(&mut batch, lease_holder, |i, verdict| {
        let (u, group, initial) = &mut made[i];
        let opening = group.as_ref().map_or(Opening::Run, |g| opening(g, verdict));
        let (committed, rest) = split_persisted(u.core.start_as(opening, Timestamp::now()));
        *initial = rest;
        (committed, u.core.state_summary())
    })?;
    Ok(made
        .into_iter()
        .zip(verdicts)
        .map(|((u, group, initial), (decision, committed))| {
            let admitted = match &group {
                Some(g) => admitted_of(decision, g),
                None => Admitted {
                    admission: Admission::Started,
                    replaced: Vec::new(),
                },
            };
            let ready = Ready {
                run_id: u.new_run.id.clone(),
                workflow: u.workflow,
                core: u.core,
                initial,
                committed,
                stale: false,
            };
            (ready, admitted)
        })
        .collect())
}

/// How a run of `group` joins it in the store.
pub(crate) fn joining(group: &Group) -> Joining {
    Joining {
        group: group.name.clone(),
        when_busy: match group.on_conflict {
            OnConflict::Queue => WhenBusy::Queue,
            OnConflict::Skip => WhenBusy::Skip,
            OnConflict::CancelRunning => WhenBusy::QueueFirst,
        },
        max_pending: group.max_pending,
    }
}

/// How the new run opens for the store's verdict: the one place the reasons are worded.
pub(crate) fn opening(group: &Group, verdict: &Verdict) -> Opening {
    let Verdict::Busy { holder } = verdict else {
        return Opening::Run;
    };
    let g = &group.name;
    match group.on_conflict {
        OnConflict::Skip => Opening::Skip {
            reason: format!(
                "concurrency group `{g}` is held by run {holder} (on_conflict = \"skip\")"
            ),
        },
        OnConflict::Queue => Opening::Queue {
            reason: format!("waiting for concurrency group `{g}`, held by run {holder}"),
        },
        OnConflict::CancelRunning => Opening::Queue {
            reason: format!(
                "waiting for concurrency group `{g}`: run {holder}, which held it, is cancelled (on_conflict = \"cancel_running\")"
            ),
        },
    }
}

/// `baton cancel RUN --reason REASON` (`cancel`, under its operator): a holder whose
/// engine is gone gets it recorded for its next engine (it no longer holds the group
/// anyway); a run that refuses it (already finished or cancelling) is fine: the new
/// run waits for the group.
fn cancel_as(store: &mut Store, run: &str, cancel: Command) -> Result<(), SessionError> {
    let applied = command::apply(store, run, cancel, &Delivery::NoDrive, &[], SUPERSEDE_WAIT);
    refused_is_fine(applied).map(drop)
}

/// One cancel [`admit`] asks, handed in as [`cancel_as`] hands it in
/// ([`command::hand_in_no_drive`]: a row for the live engine that drives `run`, else
/// recorded for its next engine) and not waited for: the deterministic simulator reads
/// the engine's answer later, on its own clock. `None`: refused, which is fine.
pub fn hand_in_ask(
    store: &mut Store,
    run: &str,
    cancel: &Command,
) -> Result<Option<command::HandedIn>, SessionError> {
    refused_is_fine(command::hand_in_no_drive(
        store,
        run,
        cancel,
        SUPERSEDE_WAIT,
        None,
    ))
}

/// A cancel a new run's admission asks that its run refuses (already finished or
/// cancelling) is fine: the new run waits for the group.
fn refused_is_fine<T>(r: Result<T, SessionError>) -> Result<Option<T>, SessionError> {
    match r {
        Ok(t) => Ok(Some(t)),
        Err(SessionError::Refused { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A run taken over to be driven again (resumed, reopened by a command) holds its
/// group again before anything of it runs; refused while another live run holds it.
/// A run still queued waits for the group as before; a finished one needs nothing.
/// Its takeover (by `holder`) settles in the same transaction: the run reads as
/// recorded from then on (`Store::settle_takeover`). (A cancel always applies: stopping
/// a run never waits for its group; it settles as it commits the run's end.)
pub(super) fn hold_again(
    store: &mut Store,
    run_id: &str,
    holder: &str,
    core: &Core,
) -> Result<(), SessionError> {
    let reclaim = !core.waits_for_group() && !core.run_state().is_final();
    match store.settle_takeover(run_id, holder, reclaim)? {
        Ok(()) => Ok(()),
        Err((group, holder)) => Err(SessionError::Refused {
            run_id: run_id.to_string(),
            state: RunState::Interrupted,
            refusal: Box::new(baton_model::Refusal::GroupHeld { group, holder }),
        }),
    }
}

#[cfg(test)]
mod tests;
