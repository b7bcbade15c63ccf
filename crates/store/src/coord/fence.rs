//! Fencing an engine's writes: what an engine commits to a run it drives, and each of
//! its heartbeats, is checked in the same transaction against what the run must still
//! hold — its lease, its concurrency group or its place in the group's line, the slots
//! of store-wide pools its steps were given — and renews the lease there.
//!
//! Why: an engine stopped past its lease (SIGSTOP, a stalled VM, a debugger) reads as
//! gone; its group goes to the next run in line (`slots`), its pool slots to the next
//! step that asks (`pool_slots`), and a new run joins the line without counting it
//! (`admission`). Continued, it must not go on as if it still held any of it: a step
//! whose start it commits after that would run beside the group's next run (the chaos
//! campaign's finding, docs/simulator.md). What no one took meanwhile is taken back; a
//! fenced commit either renews the lease with all of it held, in the transaction that
//! writes the batch, so that the lease is fresh when the batch's effects begin (written
//! again once its heartbeat is [`RENEW_AFTER`] old: fresh enough, and a commit a few
//! milliseconds after the last one writes one page fewer), or
//! fails (`LeaseLost`, `GroupLost`, `LineLost`, `PoolSlotLost`) and nothing of it is
//! written.
use super::pool_slots::{self, SlotAsk};
use super::slots;
use super::{Store, StoreError};
use baton_model::{LEASE_STALE, RunState, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

/// What an engine's connection fences a run with: its lease holder, the capacity of
/// each store-wide pool of its workflow, and the pool slots this connection was given
/// for the run's steps (a slot given away meanwhile has no row left to tell of it).
#[derive(Debug, Clone, Default)]
pub(crate) struct Fence {
    pub(crate) holder: String,
    pools: Vec<(String, usize)>,
    slots: Vec<SlotAsk>,
    /// Until its first claim (`Store::claim_commands`): rows claimed under this holder
    /// name before this engine took the run were left by an earlier drive that
    /// stopped before its verdict (the same process driving the run again).
    pub(crate) claims_before: bool,
}

impl Fence {
    /// A slot granted to one of the run's steps (the latest attempt's per step).
    pub(crate) fn hold_slot(&mut self, ask: &SlotAsk) {
        self.slots
            .retain(|s| !(s.pool == ask.pool && s.step == ask.step));
        self.slots.push(ask.clone());
    }
}

/// The run's row as the check reads it.
struct Row {
    state: String,
    holder: Option<String>,
    heartbeat_at: Option<i64>,
    group: Option<String>,
    active: bool,
    /// A newer run replaced it in line (`max_pending`): it holds nothing and has no
    /// place to lose; its engine only ends it (`Store::admit_queued`).
    replaced: bool,
    seq: Option<i64>,
}

fn read(tx: &Connection, run_id: &str) -> Result<Option<Row>, StoreError> {
    Ok(tx
        .prepare_cached(
            "SELECT r.state, l.holder, l.heartbeat_at, m.grp, m.active, m.seq FROM runs r
             LEFT JOIN leases l ON l.run_id = r.id
             LEFT JOIN group_members m ON m.run_id = r.id
             WHERE r.id = ?1",
        )?
        .query_row([run_id], |r| {
            Ok(Row {
                state: r.get(0)?,
                holder: r.get(1)?,
                heartbeat_at: r.get(2)?,
                group: r.get(3)?,
                active: r.get::<_, Option<i64>>(4)? == Some(1),
                replaced: r.get::<_, Option<i64>>(4)? == Some(slots::REPLACED),
                seq: r.get(5)?,
            })
        })
        .optional()?)
}

/// Within the caller's transaction, before anything is written: `fence.holder` still
/// holds `run_id`'s lease, which is renewed at `now`. Whether the lease had lapsed
/// (what the run held must then be checked: [`still_holds`]). A `commit`'s renewal
/// also settles a takeover whose command ends the run (`Lease::taking_over`): the run
/// reads as its events say from that commit on, never before (a heartbeat's does not).
/// That commit never shows the run active beside its group's holder: it either records
/// the run's end (a cancel's `cancelled`, in the commit that starts its `on_cancel`
/// handlers, which run only once the run is cancelled and nothing of it runs) or leaves
/// it unfinished holding its group, which [`still_holds`] checks in the same
/// transaction (taken back, or the commit fails and the mark stays).
pub(crate) fn renew(
    tx: &Connection,
    run_id: &str,
    (fence, commit): (&Fence, bool),
    now: Timestamp,
) -> Result<bool, StoreError> {
    renew_known(tx, run_id, (fence, commit), now, None).map(|r| r.lapsed)
}

/// What [`renew_known`] found and left.
pub(crate) struct Renewed {
    /// The lease had lapsed: what the run held must be checked ([`still_holds`]).
    pub(crate) lapsed: bool,
    /// The lease's heartbeat as the transaction leaves it, when it is the holder's
    /// (and, after a commit's renewal, not taking over).
    pub(crate) beat: Option<i64>,
}

/// [`renew`], with the holder's lease row known to be (`known_beat`, not taking over)
/// when the caller knows it (`commit::known`: nothing wrote the store since the
/// commit that left it so), else read.
pub(crate) fn renew_known(
    tx: &Connection,
    run_id: &str,
    (fence, commit): (&Fence, bool),
    now: Timestamp,
    known_beat: Option<i64>,
) -> Result<Renewed, StoreError> {
    // The common case, read alone: the lease is still this holder's and has not lapsed.
    // It is written again only once its heartbeat is `RENEW_AFTER` old: a commit a few
    // milliseconds after the last one leaves the page of `leases` as it is (one page
    // fewer in the WAL a commit), and the lease stays far inside its life.
    let row: Option<(i64, bool)> = match known_beat {
        Some(b) => Some((b, false)),
        None => tx
            .prepare_cached(
                "SELECT heartbeat_at, taking_over FROM leases WHERE run_id = ?1 AND holder = ?2",
            )?
            .query_row(params![run_id, fence.holder], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?,
    };
    if commit && row.is_some_and(|(_, taking_over)| taking_over) {
        tx.prepare_cached("UPDATE leases SET taking_over = 0 WHERE run_id = ?1 AND holder = ?2")?
            .execute(params![run_id, fence.holder])?;
    }
    let beat = row.map(|(b, _)| b);
    if let Some(b) = beat
        && now.since(Timestamp(b)) <= LEASE_STALE
    {
        let beat = if renewed_lately(b, now) {
            b
        } else {
            tx.prepare_cached(
                "UPDATE leases SET heartbeat_at = ?3 WHERE run_id = ?1 AND holder = ?2",
            )?
            .execute(params![run_id, fence.holder, now.0])?;
            now.0
        };
        return Ok(Renewed {
            lapsed: false,
            beat: Some(beat),
        });
    }
    // A run deleted under the engine: its commit fails on the run's key, as before.
    let Some(row) = read(tx, run_id)? else {
        return Ok(Renewed {
            lapsed: false,
            beat: None,
        });
    };
    if row.holder.as_deref() != Some(fence.holder.as_str()) {
        return Err(StoreError::LeaseLost {
            run_id: run_id.to_string(),
            holder: row.holder,
        });
    }
    tx.prepare_cached("UPDATE leases SET heartbeat_at = ?3 WHERE run_id = ?1 AND holder = ?2")?
        .execute(params![run_id, fence.holder, now.0])?;
    Ok(Renewed {
        lapsed: row
            .heartbeat_at
            .is_some_and(|b| now.since(Timestamp(b)) > LEASE_STALE),
        beat: Some(now.0),
    })
}

/// Within the caller's transaction, as of what it wrote (a batch that queues the run
/// needs no group): what the run held. Its group, unless it waits in line or has
/// ended, is taken back when no live run holds it; if its lease had `lapsed`, its
/// place in line is lost once a later run joined it meanwhile, and its steps' pool
/// slots are taken back while the pool has room.
pub(crate) fn still_holds(
    tx: &Connection,
    run_id: &str,
    (fence, lapsed): (&Fence, bool),
    now: Timestamp,
) -> Result<(), StoreError> {
    still_holds_known(tx, run_id, (fence, lapsed), now, false).map(drop)
}

/// [`still_holds`], with the run known to be in no concurrency group when
/// `known_alone` (`commit::known`: nothing wrote the store since the commit that
/// found it so). Whether the run is in no group, as far as the check needed to know.
pub(crate) fn still_holds_known(
    tx: &Connection,
    run_id: &str,
    (fence, lapsed): (&Fence, bool),
    now: Timestamp,
    known_alone: bool,
) -> Result<bool, StoreError> {
    // A run in no concurrency group whose lease had not lapsed holds nothing to check:
    // one lookup of its (missing) membership instead of the whole row.
    if !lapsed && (known_alone || !in_a_group(tx, run_id)?) {
        return Ok(true);
    }
    let Some(row) = read(tx, run_id)? else {
        return Ok(false);
    };
    let state = RunState::parse(&row.state).unwrap_or(RunState::Interrupted);
    if state.is_final() {
        return Ok(false);
    }
    if let Some(group) = &row.group {
        if state == RunState::Queued {
            if lapsed && !row.replaced && joined_after(tx, group, row.seq, now)? {
                return Err(StoreError::LineLost {
                    run_id: run_id.to_string(),
                    group: group.clone(),
                });
            }
        } else if !row.active
            && let Some(other) = slots::take_back(tx, run_id, group, now)?
        {
            return Err(StoreError::GroupLost {
                run_id: run_id.to_string(),
                group: group.clone(),
                holder: other,
            });
        }
    }
    if lapsed {
        for ask in slots_held(tx, run_id, fence)? {
            if let Some(holders) = pool_slots::take_back(tx, &ask, now)? {
                return Err(StoreError::PoolSlotLost {
                    run_id: run_id.to_string(),
                    pool: ask.pool.clone(),
                    step: ask.step.clone(),
                    holders,
                });
            }
        }
    }
    Ok(false)
}

/// How old a lease's heartbeat may be before a fenced commit writes it again: far
/// inside the lease's life (`LEASE_STALE`, 15 s) and the engine's trust in a check
/// (`engine::driver::fence`, 5 s), and under its heartbeat's period (2 s): a
/// heartbeat skips the write only when a commit wrote it less than a second before,
/// so the lease on disk is never more than about a second behind the engine.
pub(crate) const RENEW_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether a heartbeat written at `beat` stands at `now` (a clock gone back: written again).
fn renewed_lately(beat: i64, now: Timestamp) -> bool {
    (0..RENEW_AFTER.as_millis() as i64).contains(&(now.0 - beat))
}

/// Whether the run is a member of a concurrency group (waiting in its line or not).
fn in_a_group(tx: &Connection, run_id: &str) -> Result<bool, StoreError> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM group_members WHERE run_id = ?1")?
        .query_row([run_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The pool slots the run's steps may hold: those this connection was given, and
/// the rows of the run (given to an engine before this one) in a pool of its workflow.
fn slots_held(tx: &Connection, run_id: &str, fence: &Fence) -> Result<Vec<SlotAsk>, StoreError> {
    let mut held = fence.slots.clone();
    let rows: Vec<(String, String, u32)> = tx
        .prepare_cached("SELECT pool, step_id, attempt FROM pool_slots WHERE run_id = ?1")?
        .query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (pool, step, attempt) in rows {
        let known = held.iter().any(|s| s.pool == pool && s.step == step);
        let capacity = fence.pools.iter().find(|(p, _)| *p == pool).map(|p| p.1);
        if let (false, Some(capacity)) = (known, capacity) {
            held.push(SlotAsk {
                pool,
                capacity,
                rate: None,
                burst: 0,
                run_id: run_id.to_string(),
                step,
                attempt,
            });
        }
    }
    Ok(held)
}

/// [`renew`] then [`still_holds`]: a heartbeat's check, or one before acting.
pub(crate) fn check(
    tx: &Connection,
    run_id: &str,
    fence: &Fence,
    now: Timestamp,
) -> Result<(), StoreError> {
    let lapsed = renew(tx, run_id, (fence, false), now)?;
    still_holds(tx, run_id, (fence, lapsed), now)
}

/// Whether a live run joined `group`'s line after the member of `seq`: admitted while
/// that member's lease had lapsed, it was counted against `max_pending` without it.
fn joined_after(
    tx: &Connection,
    group: &str,
    seq: Option<i64>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let later: Vec<String> = tx
        .prepare_cached(
            "SELECT run_id FROM group_members WHERE grp = ?1 AND active = 0 AND seq > ?2",
        )?
        .query_map(params![group, seq.unwrap_or(i64::MAX)], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for run in later {
        if slots::live_state(tx, &run, now)? == Some(RunState::Queued) {
            return Ok(true);
        }
    }
    Ok(false)
}

impl Store {
    /// Fence this connection's writes to `run_id` by `holder` (the engine's lease
    /// holder): from now on every commit to the run and every heartbeat of its lease
    /// checks, in its own transaction, that the run still holds its lease and what
    /// it held ([`check`]), and fails when it does not. `pools`: each store-wide pool
    /// of the run's workflow with its capacity. An engine calls it once it holds the
    /// lease.
    pub fn fence(&mut self, run_id: &str, holder: &str, pools: &[(String, usize)]) {
        self.fences.insert(
            run_id.to_string(),
            Fence {
                holder: holder.to_string(),
                pools: pools.to_vec(),
                slots: Vec::new(),
                claims_before: true,
            },
        );
    }

    /// The holder this connection fences `run_id`'s writes by ([`Store::fence`]): the
    /// engine that drives it here, if any.
    pub fn fenced_by(&self, run_id: &str) -> Option<&str> {
        self.fences.get(run_id).map(|f| f.holder.as_str())
    }

    /// The fence's check now, alone: for an engine about to act after a pause in its
    /// commits (a start decided a while ago), the same as its next commit would make.
    pub fn check_fence(&mut self, run_id: &str) -> Result<(), StoreError> {
        let Some(fence) = self.fences.get(run_id) else {
            return Ok(());
        };
        let now = Timestamp::now();
        let r = crate::tx::in_transaction(&self.conn, |tx| check(tx, run_id, fence, now));
        self.ctx(r)
    }
}
