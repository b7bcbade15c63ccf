//! Concurrency groups across runs (`concurrency = { group = … }`): the table
//! `group_members`, one row per run of a group, at most one of them `active` (a unique
//! index). Every decision is one `BEGIN IMMEDIATE` transaction, so two engines started
//! at the same instant never both hold a group.
//!
//! A group is held by its active run until that run is no longer live: finished, or
//! its engine gone (its lease lapsed: `model::liveness`) and nothing it started still
//! running (`left_running`: a killed engine's step process holds the group until it
//! ends, or a takeover stops it). Nothing is released explicitly, so a killed engine
//! cannot keep a group longer than its work. Queued runs take it oldest
//! first (a run that superseded the holder, `cancel_running`, goes before them); a
//! queued run whose engine is gone keeps its place but is passed over until resumed.
//!
//! A new run's admission (`admission::decide`) and the replacement of the waiting runs
//! past `max_pending` are one decision in the transaction that records the run: a
//! replaced run leaves the line there and then, so it can never take the group after,
//! and a run that took the group is never in the line to be replaced.
use super::admission::{Decision, decide};
use super::left_running::left_running;
use super::{NewRun, Store, StoreError, commit_body, in_transaction, insert_run};
use crate::ledger::audit::AuditKeys;
use crate::ledger::starter_seal::AccountKey;
use crate::ledger::witness::Entry;
use baton_model::liveness::{self, Lease, held_by_leftovers};
use baton_model::state_summary::StateSummary;
use baton_model::{Event, RunState, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

/// How a new run joins its group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joining {
    pub group: String,
    /// What it does when the group is busy.
    pub when_busy: WhenBusy,
    /// How many runs may wait in line at once (at least one): a newer waiting run
    /// replaces the oldest past it.
    pub max_pending: usize,
}

/// A new run's answer to a busy group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenBusy {
    /// Wait in line (oldest first).
    Queue,
    /// Wait first in line (it cancels the holder: `cancel_running`).
    QueueFirst,
    /// Do not wait: the run ends.
    Skip,
}

/// What the store decided for a new run of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The group was free: the run holds it.
    Holds,
    /// The group is busy: `holder` holds it (the run waits, or skips).
    Busy { holder: String },
}

/// The one reading of whether a group member's run is live now: recorded unfinished
/// and driven by a live engine, or recorded `interrupted` while its engine, alive,
/// still stops it (`Some(Interrupted)`): a stopped engine records its steps and run
/// interrupted as the stop begins (the write-ahead rule) and lets its lease go only
/// once the stops it sent have landed (its attempts ended, or the kill grace passed),
/// so its work holds what it held until then (an SSH step's stop takes a round trip:
/// found by the chaos campaign, seed 103). A run whose lease an unsettled takeover
/// holds ([`Lease::taking_over`]) is not live: it holds nothing by that lease (what its
/// last engine left running still holds it: [`still_holds`]).
pub(crate) fn live_state(
    tx: &Connection,
    run_id: &str,
    now: Timestamp,
) -> Result<Option<RunState>, StoreError> {
    let row: Option<(String, crate::holder::LeaseCols)> = tx
        .prepare_cached(
            "SELECT r.state, l.holder, l.heartbeat_at, l.taking_over FROM runs r
             LEFT JOIN leases l ON l.run_id = r.id WHERE r.id = ?1",
        )?
        .query_row([run_id], |r| {
            Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
        })
        .optional()?;
    let Some((state, cols)) = row else {
        return Ok(None);
    };
    let recorded = RunState::parse(&state).unwrap_or(RunState::Interrupted);
    let lease: Option<Lease> = crate::holder::lease_of(cols);
    if lease.as_ref().is_some_and(|l| l.taking_over) {
        return Ok(None);
    }
    let l = liveness::liveness(recorded, lease.as_ref(), now, crate::holder::holder_alive);
    if recorded == RunState::Interrupted {
        return Ok(l.driven_by.map(|_| RunState::Interrupted));
    }
    Ok((!l.state.is_final() && l.state != RunState::Interrupted).then_some(l.state))
}

/// Whether a member's run still holds what it took (its group, its pool slots): live,
/// or its engine gone while something it started still runs here.
pub(crate) fn still_holds(
    tx: &Connection,
    run_id: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    Ok(live_state(tx, run_id, now)?.is_some() || !left_running(tx, run_id)?.is_empty())
}

/// The group's active row, as recorded (its run may no longer be live).
fn active_member(tx: &Connection, group: &str) -> Result<Option<String>, StoreError> {
    Ok(tx
        .prepare_cached("SELECT run_id FROM group_members WHERE grp = ?1 AND active = 1")?
        .query_row([group], |r| r.get(0))
        .optional()?)
}

/// The group's active run, once a holder that no longer holds it has let it go.
fn holder(tx: &Connection, group: &str, now: Timestamp) -> Result<Option<String>, StoreError> {
    match active_member(tx, group)? {
        Some(run) if still_holds(tx, &run, now)? => Ok(Some(run)),
        Some(run) => {
            tx.prepare_cached("UPDATE group_members SET active = 0 WHERE run_id = ?1")?
                .execute([&run])?;
            Ok(None)
        }
        None => Ok(None),
    }
}

/// The live runs waiting in the group's line, first in line first (a superseding run
/// before the others, then oldest first).
fn line(tx: &Connection, group: &str, now: Timestamp) -> Result<Vec<String>, StoreError> {
    let rows: Vec<String> = tx
        .prepare_cached(
            "SELECT run_id FROM group_members WHERE grp = ?1 AND active = 0 ORDER BY first DESC, seq",
        )?
        .query_map([group], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for run in rows {
        if live_state(tx, &run, now)? == Some(RunState::Queued) {
            out.push(run);
        }
    }
    Ok(out)
}

/// The first live queued run in the group's line, if any.
fn first_in_line(
    tx: &Connection,
    group: &str,
    now: Timestamp,
) -> Result<Option<String>, StoreError> {
    Ok(line(tx, group, now)?.into_iter().next())
}

/// The group taken back for a run driven again ([`Store::settle_takeover`]), in the
/// caller's transaction.
fn reclaim(
    tx: &Connection,
    run_id: &str,
    now: Timestamp,
) -> Result<Result<(), (String, String)>, StoreError> {
    let Some((group, active)) = membership(tx, run_id)? else {
        return Ok(Ok(()));
    };
    if active {
        return Ok(Ok(()));
    }
    match holder(tx, &group, now)? {
        Some(other) => Ok(Err((group, other))),
        None => {
            set_active(tx, run_id)?;
            Ok(Ok(()))
        }
    }
}

fn join(
    tx: &Connection,
    run_id: &str,
    group: &str,
    active: bool,
    first: bool,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO group_members (run_id, grp, active, first, seq)
         VALUES (?1, ?2, ?3, ?4, (SELECT coalesce(max(seq), 0) + 1 FROM group_members))",
    )?
    .execute(params![run_id, group, active, first])?;
    Ok(())
}

impl Store {
    /// [`Store::create_started_run`] for a run of a group: the group is looked at, the
    /// run recorded with its lease and the first events `events_for(verdict)` gives
    /// (with the run's summary as of them, its core's), (unless it skips) made the
    /// group's holder or queued in its line, and the waiting runs it replaces taken out
    /// of the line, all in ONE transaction. The caller cancels the replaced runs.
    pub fn create_run_in_group(
        &mut self,
        run: &NewRun,
        lease_holder: &str,
        joining: &Joining,
        events_for: impl FnOnce(&Verdict) -> (Vec<Event>, StateSummary),
    ) -> Result<(Decision, Vec<Event>), StoreError> {
        self.check_identity()?;
        let r = self.set_sync_full(true);
        self.ctx(r)?;
        self.witness_ready()?;
        let seal = self.account_key()?;
        let now = Timestamp::now();
        let keys = &self.keys;
        let r = in_transaction(&self.conn, |tx| {
            make_run(tx, (keys, seal), run, (lease_holder, now), Some(joining))?.with(events_for)
        });
        let made = self.ctx_run(&run.id, r)?;
        let (decision, events, heads) = self.keep_made(&run.id, made);
        self.witness(&heads)?;
        Ok((decision, events))
    }

    /// Many new runs at once (a serve's slots due at one instant), each recorded as
    /// [`Store::create_run_in_group`] records one (with no group: as
    /// [`Store::create_started_run`]), in ONE transaction and one sync: all or none.
    /// Each run's `started_at` is the time its row is written. `events_for(i, verdict)`
    /// gives the `i`-th run's first events. Runs of one group see each other in order,
    /// as one after the other would.
    pub fn create_runs_batch(
        &mut self,
        runs: &mut [Batched],
        lease_holder: &str,
        mut events_for: impl FnMut(usize, &Verdict) -> (Vec<Event>, StateSummary),
    ) -> Result<Vec<(Decision, Vec<Event>)>, StoreError> {
        self.check_identity()?;
        let r = self.set_sync_full(true);
        self.ctx(r)?;
        self.witness_ready()?;
        let seal = self.account_key()?;
        let keys = &self.keys;
        let r = in_transaction(&self.conn, |tx| {
            let mut out = Vec::with_capacity(runs.len());
            for (i, b) in runs.iter_mut().enumerate() {
                let now = Timestamp::now();
                b.run.started_at = now;
                let made = make_run(
                    tx,
                    (keys, seal),
                    &b.run,
                    (lease_holder, now),
                    b.joining.as_ref(),
                )?;
                out.push(made.with(|v| events_for(i, v))?);
            }
            Ok(out)
        });
        let made = self.ctx(r)?;
        let mut heads = Vec::new();
        let mut out = Vec::with_capacity(made.len());
        for (b, m) in runs.iter().zip(made) {
            let (decision, events, h) = self.keep_made(&b.run.id, m);
            heads.extend(h);
            out.push((decision, events));
        }
        self.witness(&heads)?;
        Ok(out)
    }

    /// What this connection keeps of a run it made (its key).
    pub(super) fn keep_made(
        &mut self,
        run_id: &str,
        m: Made,
    ) -> (Decision, Vec<Event>, Vec<Entry>) {
        self.run_keys.insert(run_id.to_string(), m.key);
        (m.decision, m.events, m.heads)
    }

    /// For a queued run: take its group if it is free and the run is first in line.
    /// [`Turn::Holds`] once the run holds it (also when it already did);
    /// [`Turn::Waits`] while it must wait, or when the run is in no group;
    /// [`Turn::Replaced`] when a newer run took its place in line (`max_pending`): it
    /// can never hold the group, and its engine ends it.
    pub fn admit_queued(&mut self, run_id: &str) -> Result<Turn, StoreError> {
        let now = Timestamp::now();
        let r = in_transaction(&self.conn, |tx| {
            let Some((group, active)) = membership_row(tx, run_id)? else {
                return Ok(Turn::Waits);
            };
            match active {
                ACTIVE => return Ok(Turn::Holds(group)),
                REPLACED => return Ok(Turn::Replaced(group)),
                _ => {}
            }
            if holder(tx, &group, now)?.is_some() {
                return Ok(Turn::Waits);
            }
            if first_in_line(tx, &group, now)?.as_deref() != Some(run_id) {
                return Ok(Turn::Waits);
            }
            set_active(tx, run_id)?;
            Ok(Turn::Holds(group))
        });
        self.ctx(r)
    }

    /// A takeover by `holder` settles (its lease taken with
    /// [`Store::take_over_lease`]): with `reclaim_first`, the run holds its group
    /// again, unless another live run holds it now (`Err((group, holder))`, and nothing
    /// changes; a run in no group, or holding its group already, is `Ok`); the lease's
    /// mark goes in the same transaction, so that the run reads as recorded only once
    /// it holds what it must. The one way a run taken over to be driven again holds its
    /// group again: resumed, reopened by a command on its takeover
    /// (`session::concurrency::hold_again`) or by one its engine claimed
    /// (`engine::driver::reopen`). A takeover whose command ends the run does not
    /// settle here: its mark goes in the commit that ends it (`fence::renew`).
    pub fn settle_takeover(
        &mut self,
        run_id: &str,
        holder: &str,
        reclaim_first: bool,
    ) -> Result<Result<(), (String, String)>, StoreError> {
        let now = Timestamp::now();
        let r = in_transaction(&self.conn, |tx| {
            if reclaim_first && let Err(held) = reclaim(tx, run_id, now)? {
                return Ok(Err(held));
            }
            tx.prepare_cached(
                "UPDATE leases SET taking_over = 0 WHERE run_id = ?1 AND holder = ?2",
            )?
            .execute(params![run_id, holder])?;
            Ok(Ok(()))
        });
        self.ctx(r)
    }

    /// The run that holds `group` now, if any (a holder no longer live does not,
    /// unless what it started still runs).
    pub fn group_holder(&self, group: &str) -> Result<Option<String>, StoreError> {
        let now = Timestamp::now();
        let r = (|| -> Result<Option<String>, StoreError> {
            match active_member(&self.conn, group)? {
                Some(run) if still_holds(&self.conn, &run, now)? => Ok(Some(run)),
                _ => Ok(None),
            }
        })();
        self.ctx(r)
    }

    /// The live runs waiting in `group`'s line, first in line first (a superseding run
    /// before the others, then oldest first).
    pub fn group_line(&self, group: &str) -> Result<Vec<String>, StoreError> {
        let r = line(&self.conn, group, Timestamp::now());
        self.ctx(r)
    }

    /// Why a queued run of a group waits now, as every reader shows it: the live
    /// holder, a dead holder's work still running (and what frees it), or the runs
    /// first in line. `None`: in no group, holding it, or about to take it.
    pub fn group_wait(&self, run_id: &str) -> Result<Option<String>, StoreError> {
        let now = Timestamp::now();
        let r = (|| -> Result<Option<String>, StoreError> {
            let tx = &self.conn;
            let Some((group, false)) = membership(tx, run_id)? else {
                return Ok(None);
            };
            if let Some(h) = active_member(tx, &group)?.filter(|h| h != run_id) {
                if live_state(tx, &h, now)?.is_some() {
                    return Ok(Some(format!(
                        "waiting for concurrency group `{group}`, held by run {h}"
                    )));
                }
                let left = left_running(tx, &h)?;
                if !left.is_empty() {
                    return Ok(Some(format!(
                        "waiting for concurrency group `{group}`: {}",
                        held_by_leftovers(&h, &left)
                    )));
                }
            }
            Ok(first_in_line(tx, &group, now)?
                .filter(|first| first != run_id)
                .map(|first| {
                    format!("waiting for concurrency group `{group}`: run {first} is first in line")
                }))
        })();
        self.ctx(r)
    }
}

/// A new run of a batch ([`Store::create_runs_batch`]) and the group it joins.
#[derive(Debug, Clone)]
pub struct Batched {
    pub run: NewRun,
    pub joining: Option<Joining>,
}

/// A run written in a transaction, its first events not yet.
pub(super) struct Pending<'a> {
    tx: &'a Connection,
    keys: &'a AuditKeys,
    seal: Option<&'a AccountKey>,
    run_id: &'a str,
    decision: Decision,
}

/// A run written with its first events.
pub(super) struct Made {
    pub(super) decision: Decision,
    events: Vec<Event>,
    key: i64,
    heads: Vec<Entry>,
}

impl Pending<'_> {
    /// Its first events, as `events_for` gives them for its verdict (with the run's
    /// summary as of them, its core's), committed to it.
    pub(super) fn with(
        self,
        events_for: impl FnOnce(&Verdict) -> (Vec<Event>, StateSummary),
    ) -> Result<Made, StoreError> {
        let (events, summary) = events_for(&self.decision.verdict);
        let batch = crate::commit::Batch {
            events: &events,
            logs: &[],
            summary: crate::commit::Summary::Given(&summary),
        };
        let (key, heads) = commit_body(self.tx, self.keys, self.seal, self.run_id, None, batch)?;
        Ok(Made {
            decision: self.decision,
            events,
            key,
            heads,
        })
    }
}

/// In `tx`: the group is looked at, the run recorded with its lease, (unless it skips)
/// made the group's holder or queued in its line, and the runs it replaces taken out
/// of the line. No group: it holds.
pub(super) fn make_run<'a>(
    tx: &'a Connection,
    (keys, seal): (&'a AuditKeys, Option<&'a AccountKey>),
    run: &'a NewRun,
    (lease_holder, now): (&str, Timestamp),
    joining: Option<&Joining>,
) -> Result<Pending<'a>, StoreError> {
    let decision = match joining {
        None => Decision {
            verdict: Verdict::Holds,
            joins: false,
            replaced: Vec::new(),
        },
        Some(j) => {
            let holder = holder(tx, &j.group, now)?;
            decide(holder.as_deref(), &line(tx, &j.group, now)?, j)
        }
    };
    insert_run(tx, run, seal)?;
    tx.prepare_cached(
        "INSERT INTO leases (run_id, holder, acquired_at, heartbeat_at, key_id) VALUES (?1, ?2, ?3, ?3, ?4)",
    )?
    .execute(params![run.id, lease_holder, now.0, crate::ledger::key_check::signing_id(keys)])?;
    if let Some(j) = joining {
        // Out of the line (`active` -1), still a member: reopened later (`retry`,
        // `mark`), it must hold the group again like any member (`settle_takeover`).
        // Deleted, it was in no group and ran beside the holder (found by
        // `baton-sim`, seed 1: `at_most_one_active_run_per_group`).
        for old in &decision.replaced {
            tx.prepare_cached("UPDATE group_members SET active = ?2 WHERE run_id = ?1")?
                .execute(params![old, REPLACED])?;
            // Its row changes for readers at once (`holder::live` reads it cancelled):
            // a reader of the run list's changes (`run_changes`) reads it again.
            tx.prepare_cached(&format!(
                "UPDATE runs SET rev = {} WHERE id = ?1",
                crate::read::run_counts::NEXT_REV
            ))?
            .execute([old])?;
        }
        if decision.joins {
            let holds = decision.verdict == Verdict::Holds;
            let first = j.when_busy == WhenBusy::QueueFirst;
            join(tx, &run.id, &j.group, holds, first)?;
        }
    }
    Ok(Pending {
        tx,
        keys,
        seal,
        run_id: &run.id,
        decision,
    })
}

/// `group_members.active` of a waiting run a newer one replaced (`max_pending`): in
/// no line, holding nothing.
pub(super) const REPLACED: i64 = -1;

/// Whether the run of a `runs` row (named `runs` in the query) was replaced in its
/// group's line: a column readers hand to `holder::live`, which reads such a run
/// `cancelled` while its engine has yet to record it so.
pub(crate) const REPLACED_SQL: &str =
    "coalesce((SELECT g.active = -1 FROM group_members g WHERE g.run_id = runs.id), 0)";
const _: () = assert!(REPLACED == -1, "REPLACED_SQL spells REPLACED");

/// `group_members.active` of the run that holds its group.
const ACTIVE: i64 = 1;

/// What a queued run's turn is ([`Store::admit_queued`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turn {
    /// Not yet (or the run is in no group).
    Waits,
    /// The run holds this group now.
    Holds(String),
    /// A newer run replaced it in this group's line (`max_pending`): it never will.
    Replaced(String),
}

/// The run's group, and whether it holds it.
/// For a run that held `group` and whose row let it go while its lease had lapsed
/// (`fence`): the live run that holds it now, or (no one does) `None` once the run
/// holds it again.
pub(super) fn take_back(
    tx: &Connection,
    run_id: &str,
    group: &str,
    now: Timestamp,
) -> Result<Option<String>, StoreError> {
    match holder(tx, group, now)? {
        Some(other) if other != run_id => Ok(Some(other)),
        _ => {
            set_active(tx, run_id)?;
            Ok(None)
        }
    }
}

fn membership(tx: &Connection, run_id: &str) -> Result<Option<(String, bool)>, StoreError> {
    Ok(membership_row(tx, run_id)?.map(|(g, active)| (g, active == ACTIVE)))
}

/// The run's group and its `active` column as stored (`ACTIVE`, in line, `REPLACED`).
fn membership_row(tx: &Connection, run_id: &str) -> Result<Option<(String, i64)>, StoreError> {
    Ok(tx
        .prepare_cached("SELECT grp, active FROM group_members WHERE run_id = ?1")?
        .query_row([run_id], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?)))
        .optional()?)
}

fn set_active(tx: &Connection, run_id: &str) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE group_members SET active = 1, first = 0 WHERE run_id = ?1")?
        .execute([run_id])?;
    Ok(())
}
