//! The schedules `baton serve` serves, as operators see them and decide on them: one
//! listing (`board`, and each row's columns, `Listed::cells`) for `baton schedules` and
//! the console's Schedules tab, and the decisions both make (`pause`, `trigger`),
//! recorded under the OS account on the audit chain in the store's transaction.
use super::SessionError;
use baton_model::Timestamp;
use baton_model::schedule::{
    Cadence, MAX_BACKFILL, PauseSaid, next_slot, parse_instant, pause_on_chain, schedule_name,
};
use baton_store::schedules::{BackfillAsk, Backfilled, PauseRow, ScheduleRow};
use baton_store::{Store, StoreError};
use std::sync::Arc;

/// The listing and the decisions on it are the link's types (the console is built
/// against `baton-link`, not this crate); this module reads and records them.
pub use baton_link::{Act, Board, COLUMNS, Listed};

/// Every schedule served at `now`, with its file's load error, and the broken files
/// that serve none. Indexed reads of the store, bounded by what is listed, not by its
/// history: the schedules, the load errors, the schedules' pauses and resumes on the
/// audit chain (an index range over those decisions alone, `audit_by_action`, not the
/// schedules' triggers, backfills and refusals), and for each row that says paused the
/// decision behind it.
pub fn board(store: &Store, now: Timestamp) -> Result<Board, StoreError> {
    let errors = store.load_errors()?;
    let chain = store.chain_pauses()?;
    let rows: Vec<Listed> = store
        .schedules()?
        .into_iter()
        .map(|mut row| -> Result<Listed, StoreError> {
            let said = PauseSaid {
                paused: row.paused.is_some(),
                by: row
                    .paused
                    .as_ref()
                    .map(|p| p.by.clone())
                    .unwrap_or_default(),
                at: row.paused.as_ref().map_or(Timestamp(0), |p| p.at),
            };
            // The serve's rule (`pause_on_chain`), not a copy of it.
            let on_chain = chain
                .get(&(row.file.clone(), row.index))
                .and_then(|(latest, reason)| Some((pause_on_chain(&said, Some(latest))?, reason)));
            let cleared = match on_chain {
                Some((pause, reason)) => {
                    row.paused = Some(baton_model::schedule::Paused {
                        by: pause.by.clone(),
                        reason: reason.clone(),
                        at: pause.at,
                    });
                    true
                }
                None => false,
            };
            let unproven = match &row.paused {
                Some(_) if cleared => None,
                Some(p) => store.pause_on_record(&PauseRow {
                    file: row.file.clone(),
                    index: row.index,
                    paused: true,
                    by: p.by.clone(),
                    reason: p.reason.clone(),
                    at: p.at,
                })?,
                None => None,
            };
            Ok(Listed {
                name: schedule_name(&row.workflow, row.index),
                next: next_slot(
                    &row.cron,
                    &row.timezone,
                    row.last.as_ref().map(|l| l.slot_at),
                    now,
                ),
                error: errors
                    .iter()
                    .find(|(f, _)| *f == row.file)
                    .map(|(_, e)| e.clone()),
                unproven,
                cleared,
                row,
            })
        })
        .collect::<Result<_, _>>()?;
    let broken = errors
        .into_iter()
        .filter(|(f, _)| !rows.iter().any(|l| l.row.file == *f))
        .collect();
    Ok(Board { rows, broken })
}

/// The schedules `target` (`WORKFLOW` or `WORKFLOW#N`) names.
pub(crate) fn resolve(
    rows: &[ScheduleRow],
    target: &str,
) -> Result<Vec<ScheduleRow>, SessionError> {
    let (name, index) = match target.rsplit_once('#') {
        Some((n, i)) => {
            let i: u32 = i.parse().map_err(|_| {
                SessionError::Usage(format!(
                    "`{target}`: after # comes the schedule's number, e.g. nightly#2"
                ))
            })?;
            (n, Some(i))
        }
        None => (target, None),
    };
    let found: Vec<ScheduleRow> = rows
        .iter()
        .filter(|r| r.workflow == name && index.is_none_or(|i| r.index == i))
        .cloned()
        .collect();
    if found.is_empty() {
        let names: Vec<String> = rows
            .iter()
            .map(|r| schedule_name(&r.workflow, r.index))
            .collect();
        return Err(SessionError::Usage(format!(
            "no served schedule is `{target}`; {}",
            if names.is_empty() {
                "none is served (`baton serve --workflows DIR` serves them)".to_string()
            } else {
                format!("the schedules are: {}", names.join(", "))
            }
        )));
    }
    Ok(found)
}

fn check_reason(reason: &str) -> Result<(), SessionError> {
    // Checked as every operator's text on the audit chain (a note too).
    match baton_model::note::text_problem("the reason", reason) {
        Some(why) => Err(SessionError::Usage(why)),
        None => Ok(()),
    }
}

/// Pause (`paused`) or resume the schedules `target` names, as `actor`'s decision on
/// the audit chain; the names of the schedules decided.
pub fn pause(
    store: &mut Store,
    target: &str,
    paused: bool,
    actor: &str,
    reason: &str,
) -> Result<Vec<String>, SessionError> {
    check_reason(reason)?;
    let found = resolve(&store.schedules()?, target)?;
    let targets: Vec<(String, u32, String)> = found
        .iter()
        .map(|r| (r.file.clone(), r.index, r.workflow.clone()))
        .collect();
    store.set_paused(&targets, paused, actor, reason.trim())?;
    Ok(targets
        .iter()
        .map(|(_, i, w)| schedule_name(w, *i))
        .collect())
}

/// Ask the serve to start a run of the served workflow `workflow` now with `params`
/// (checked first, as `baton run` would), as `actor`'s decision on the audit chain;
/// what happens next, in words.
pub fn trigger(
    store: &mut Store,
    workflow: &str,
    params: &[(String, String)],
    actor: &str,
    reason: &str,
) -> Result<String, SessionError> {
    check_reason(reason)?;
    let files = store.served_files()?;
    let Some((file, _)) = files.iter().find(|(_, w)| w == workflow) else {
        let names: Vec<&str> = files.iter().map(|(_, w)| w.as_str()).collect();
        return Err(SessionError::Usage(format!(
            "no served workflow is named `{workflow}`; the served workflows are: {}",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )));
    };
    // A bad param is refused here, before anything is recorded.
    let plan = baton_workflow::load_file(std::path::Path::new(file))
        .map_err(|d| SessionError::Diagnostics(d.to_string()))?;
    baton_workflow::resolve_params(&plan, params)
        .map_err(|e| SessionError::Usage(e.joined("\nerror: ")))?;
    store.request_trigger(file, workflow, params, actor, reason.trim())?;
    Ok(match store.serve_holder(super::serve::SERVE_LEASE) {
        Some(holder) => format!("triggered {workflow}: the serve ({holder}) starts it"),
        None => format!(
            "triggered {workflow}: recorded; no serve is running, the next `baton serve` starts it"
        ),
    })
}

/// One slot of a backfill's range, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillLine {
    /// `WORKFLOW#N`.
    pub schedule: String,
    pub slot: Timestamp,
    pub fate: Backfilled,
}

impl BackfillLine {
    /// `nightly#1 2026-03-01T02:00:00Z starts` or `… ran: started run 01J…`.
    pub fn text(&self) -> String {
        let what = match &self.fate {
            Backfilled::Requested => "starts".to_string(),
            Backfilled::Decided { fate, run } => match run {
                Some(r) => format!("decided already: {fate} run {r}"),
                None => format!("decided already: {fate}"),
            },
        };
        format!("{} {} {what}", self.schedule, self.slot.slot_text())
    }

    pub fn json(&self) -> serde_json::Value {
        let (starts, fate, run) = match &self.fate {
            Backfilled::Requested => (true, None, None),
            Backfilled::Decided { fate, run } => (false, Some(fate), run.as_ref()),
        };
        serde_json::json!({
            "schedule": self.schedule,
            "slot": self.slot.slot_text(),
            "starts": starts,
            "fate": fate,
            "run": run,
        })
    }
}

/// `baton schedule backfill TARGET --from T --to T`: every slot of the range of each
/// schedule `target` names (both ends count, read in the schedule's zone), listed with
/// what becomes of it. Unless `dry_run`, the slots that never made a run are asked of
/// the serve, as `actor`'s decision on the audit chain; a slot that ran, or was asked
/// for already, is listed and never started again.
pub fn backfill(
    store: &mut Store,
    target: &str,
    (from, to): (&str, &str),
    dry_run: bool,
    actor: &str,
    reason: &str,
) -> Result<Vec<BackfillLine>, SessionError> {
    check_reason(reason)?;
    let now = Timestamp::now();
    let mut out = Vec::new();
    for row in resolve(&store.schedules()?, target)? {
        let name = schedule_name(&row.workflow, row.index);
        let cadence = Cadence::new(&row.cron, &row.timezone)
            .map_err(|e| SessionError::Usage(format!("{name}: its cron no longer reads: {e}")))?;
        let usage = |e: String| SessionError::Usage(e);
        let (start, end) = (
            parse_instant(from, cadence.zone).map_err(|e| usage(format!("--from: {e}")))?,
            parse_instant(to, cadence.zone).map_err(|e| usage(format!("--to: {e}")))?,
        );
        if end < start {
            return Err(usage(format!("--to ({to}) is before --from ({from})")));
        }
        if end > now {
            return Err(usage(format!(
                "--to ({to}) is in the future: slots to come are the serve's; backfill up to now at most"
            )));
        }
        let slots = cadence.slots_between(start, end, MAX_BACKFILL + 1);
        if slots.len() > MAX_BACKFILL {
            return Err(usage(format!(
                "{name} has more than {MAX_BACKFILL} slots from {from} to {to}: backfill a shorter range at a time"
            )));
        }
        let fates = if dry_run {
            store.slot_fates(&row.file, row.index, &slots)?
        } else {
            store.request_backfill(&BackfillAsk {
                file: &row.file,
                index: row.index,
                name: &name,
                slots: &slots,
                actor,
                reason: reason.trim(),
                range: (start, end),
            })?
        };
        out.extend(
            slots
                .into_iter()
                .zip(fates)
                .map(|(slot, fate)| BackfillLine {
                    schedule: name.clone(),
                    slot,
                    fate,
                }),
        );
    }
    Ok(out)
}

/// The console's decision (`target`: `WORKFLOW#N` for a pause or resume, the workflow
/// for a trigger, which takes the workflow's default params as `baton schedule trigger
/// WORKFLOW` does): what was done, in words.
pub(crate) fn decide(
    store: &mut Store,
    act: Act,
    target: &str,
    actor: &str,
    reason: &str,
) -> Result<String, SessionError> {
    match act {
        Act::Pause | Act::Resume => {
            let names = pause(store, target, act == Act::Pause, actor, reason)?;
            let done = if act == Act::Pause {
                "paused"
            } else {
                "resumed"
            };
            Ok(format!("{} {done}", names.join(", ")))
        }
        Act::Trigger => trigger(store, target, &[], actor, reason),
    }
}

/// The console's feed of [`board`]: read again when the store changes (and every
/// second, as the run list is), sent to the console only when it changed.
pub(super) struct Feed {
    tx: tokio::sync::watch::Sender<Arc<Board>>,
}

impl Feed {
    pub(super) fn new(store: &Store) -> (Feed, tokio::sync::watch::Receiver<Arc<Board>>) {
        let first = board(store, Timestamp::now()).unwrap_or_default();
        let (tx, rx) = tokio::sync::watch::channel(Arc::new(first));
        (Feed { tx }, rx)
    }

    pub(super) fn refresh(&mut self, store: &Store) {
        // Busy and the like: the next look tries again.
        if let Ok(b) = board(store, Timestamp::now())
            && **self.tx.borrow() != b
        {
            let _ = self.tx.send(Arc::new(b));
        }
    }
}

#[cfg(test)]
mod tests;
