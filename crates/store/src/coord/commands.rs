//! Cross-process operator commands and the one-engine-per-run lease.
use super::{Store, StoreError};
use crate::holder::holder_alive;
use crate::tx::in_transaction;
use baton_model::liveness::{self, Lease};
use baton_model::{Command, CommandOutcome, Event, Refusal, Timestamp};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use std::time::Duration;

/// How long [`Store::scrub_wal`] waits for readers to leave the write-ahead log.
const SCRUB_WAIT: Duration = Duration::from_millis(200);

/// The result of asking for a run's lease.
#[derive(Debug, Clone, PartialEq)]
pub enum LeaseOutcome {
    Acquired,
    /// Another live engine holds it.
    HeldBy {
        holder: String,
        heartbeat_at: Timestamp,
    },
}

/// A command an engine took from the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub id: i64,
    pub command: Command,
    /// Why the row is not proved to come from the account it names (see [`super::proof`]):
    /// such a command is refused, on record.
    pub unproven: Option<Refusal>,
}

impl Store {
    /// Queue a command for the engine driving `run_id`; returns its id. With a
    /// `deadline`, an engine that has not taken it by then never will (it is refused
    /// as expired); without, it waits for the next engine (`--no-drive`).
    pub fn submit_command(
        &mut self,
        run_id: &str,
        cmd: &Command,
        deadline: Option<Timestamp>,
    ) -> Result<i64, StoreError> {
        self.submit_command_for(run_id, cmd, deadline, None)
    }

    /// [`Store::submit_command`] of a console's decision sent over `baton link` with
    /// its `request` id: the id is kept in the command's transaction, and a request the
    /// console's check settled as not delivered first is refused, nothing inserted
    /// (`coord::link_requests`).
    pub fn submit_command_for(
        &mut self,
        run_id: &str,
        cmd: &Command,
        deadline: Option<Timestamp>,
        request: Option<&str>,
    ) -> Result<i64, StoreError> {
        let r = (|| {
            if !self.run_exists(run_id)? {
                return Err(StoreError::NotFound(format!("run {run_id}")));
            }
            // The row's proof first: an engine may take the row as soon as it is in.
            // A group store's directory is setgid (2770): its members share the proofs.
            let shared = super::proof::shared(&self.path);
            let (json, proof) = super::proof::seal(&self.path, shared, run_id, cmd)?;
            let inserted = in_transaction(&self.conn, |conn| {
                conn.prepare_cached(
                    "INSERT INTO commands (run_id, json, submitted_at, deadline) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![run_id, json, Timestamp::now().0, deadline.map(|d| d.0)])?;
                let id = conn.last_insert_rowid();
                if let Some(request) = request {
                    Store::note_link_request(conn, request, run_id, id)?;
                }
                Ok(id)
            });
            if inserted.is_err() {
                let _ = std::fs::remove_file(&proof);
            }
            inserted
        })();
        let id = self.ctx_run(run_id, r)?;
        // Committed: the engine may look now.
        super::wake::notify(&self.path, run_id);
        Ok(id)
    }

    /// The engine takes the commands not yet taken, oldest first: they become
    /// `claimed` in the same statement, so a submitter can no longer withdraw them
    /// (see [`Store::withdraw_command`]) and the engine's verdict is the one on record.
    /// Commands past their deadline are refused as expired instead: their submitter
    /// has stopped waiting (or died), so applying them now would surprise everyone.
    /// Each comes with its proof's verdict ([`Claimed::unproven`]).
    ///
    /// A claim is the lease's: it names the run's lease holder (`claimed_by`), and a
    /// command claimed under another holder, whose engine stopped before its verdict
    /// (the caller holds the lease now), is taken again, so it is decided on record.
    /// A connection that fences the run ([`Store::fence`]) claims only while its
    /// engine holds the lease, in the statement that claims: an engine stopped past its
    /// lease and continued after a takeover claims nothing (it would have stamped the
    /// new holder's name on rows it then never decided, its commit refused, and the
    /// new holder would never have taken them again).
    pub fn claim_commands(&mut self, run_id: &str) -> Result<Vec<Claimed>, StoreError> {
        let now = Timestamp::now();
        let claimer = self.fences.get(run_id).map(|f| f.holder.clone());
        let before = self.fences.get(run_id).is_some_and(|f| f.claims_before);
        let r = (|| {
            // An earlier drive of this run under the same holder name (this process
            // lost the run, then took it again) claimed rows it never decided: they are
            // open again, as another holder's would be, and taken below.
            if before {
                self.conn
                    .prepare_cached(
                        "UPDATE commands SET claimed_by = NULL
                         WHERE run_id = ?1 AND status = 'claimed' AND claimed_by IS ?2",
                    )?
                    .execute(params![run_id, claimer])?;
            }
            let expired = serde_json::to_string(&CommandOutcome::Refused(Refusal::Expired))?;
            let expired: Vec<String> = self
                .conn
                .prepare_cached(&format!(
                    "UPDATE commands SET status = 'refused', outcome = ?3, done_at = ?2
                     WHERE run_id = ?1 AND deadline IS NOT NULL AND deadline <= ?2 AND {OPEN}
                     RETURNING json"
                ))?
                .query_map(params![run_id, now.0, expired], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for json in &expired {
                super::proof::discard(&self.path, json);
            }
            // Taken by an engine that stopped before its verdict (see [`OPEN`]).
            let reclaimed: std::collections::HashSet<i64> = self
                .conn
                .prepare_cached(&format!(
                    "SELECT id FROM commands WHERE run_id = ?1 AND status = 'claimed' AND {OPEN}"
                ))?
                .query_map([run_id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut st = self.conn.prepare_cached(&format!(
                "UPDATE commands SET status = 'claimed', claimed_by = {HOLDER}
                 WHERE run_id = ?1 AND {OPEN} AND (?2 IS NULL OR {HOLDER} IS ?2)
                 RETURNING id, json"
            ))?;
            let mut rows: Vec<(i64, String)> = st
                .query_map(params![run_id, claimer], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            rows.sort_by_key(|(id, _)| *id);
            let mut claimed = Vec::new();
            for (id, json) in rows {
                match serde_json::from_str::<Command>(&json) {
                    Ok(command) => {
                        let unproven = match copy_of(&self.conn, run_id, id, &json)? {
                            Some(first) => Some(Refusal::Unproven {
                                why: format!(
                                    "it is a copy of command {first}'s row: a proof serves one row, once"
                                ),
                            }),
                            None => self.proven(run_id, &json, &command, reclaimed.contains(&id)),
                        };
                        claimed.push(Claimed {
                            id,
                            command,
                            unproven,
                        });
                    }
                    // A row no engine of this baton can read (written by hand, or by a
                    // newer baton) is refused, never the engine's end: the others in
                    // this batch are still applied.
                    Err(e) => {
                        super::proof::discard(&self.path, &json);
                        let outcome =
                            serde_json::to_string(&CommandOutcome::Refused(Refusal::Unreadable {
                                why: e.to_string(),
                            }))?;
                        self.conn.execute(
                            "UPDATE commands SET status = 'refused', outcome = ?2, done_at = ?3
                             WHERE id = ?1",
                            params![id, outcome, now.0],
                        )?;
                    }
                }
            }
            Ok(claimed)
        })();
        if r.is_ok()
            && let Some(f) = self.fences.get_mut(run_id)
        {
            f.claims_before = false;
        }
        self.ctx(r)
    }

    /// Why the row `json` of a claimed command is not proved (see [`super::proof`]),
    /// its proof kept: removed with the verdict's commit ([`Spent`]), so an engine
    /// that dies between the claim and that commit leaves the row for the next one to
    /// check and decide. A row taken again whose proof is gone anyway (removed by
    /// hand, or by an engine of an older baton that removed it as it claimed) is
    /// refused, saying to hand it in again.
    fn proven(
        &self,
        run_id: &str,
        json: &str,
        command: &Command,
        reclaimed: bool,
    ) -> Option<Refusal> {
        let why = super::proof::holds(&self.path, run_id, json, command.operator()).err()?;
        Some(Refusal::Unproven {
            why: match reclaimed {
                true => format!(
                    "the engine that took this command stopped before committing its decision (committed with its verdict, so it is not on the record), and its proof is gone: hand it in again ({why})"
                ),
                false => why.to_string(),
            },
        })
    }

    /// The oldest cancel recorded for the run's next engine and not decided yet (see
    /// [`OPEN`]; not past its deadline), if any. Its proof is checked when it is
    /// claimed; meanwhile the engine taking the run over starts nothing (a cancel never
    /// starts anything).
    pub fn waiting_cancel(&self, run_id: &str) -> Result<Option<Command>, StoreError> {
        let r = (|| {
            let rows: Vec<String> = self
                .conn
                .prepare_cached(&format!(
                    "SELECT json FROM commands WHERE run_id = ?1 AND {OPEN}
                     AND (deadline IS NULL OR deadline > ?2) ORDER BY id"
                ))?
                .query_map(params![run_id, Timestamp::now().0], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(rows
                .iter()
                .filter_map(|json| serde_json::from_str::<Command>(json).ok())
                .find(|c| matches!(c, Command::Cancel { .. })))
        })();
        self.ctx(r)
    }

    /// The run's first event (its `run_started`), read alone: what a submitter needs of
    /// a long history to know the run's workflow (see `session::prepare::submitter_masker`).
    pub fn first_event(&self, run_id: &str) -> Result<Option<Event>, StoreError> {
        let r = (|| {
            Ok(match first_event_json(&self.conn, run_id)? {
                Some(json) => Some(serde_json::from_str(&json)?),
                None => None,
            })
        })();
        self.ctx(r)
    }

    /// Replace a command's stored text (the engine's masked copy of it), leaving no
    /// copy of the old text in the database's pages: the freed space is zeroed
    /// (`secure_delete`). The write-ahead log still holds the old row until
    /// [`Store::scrub_wal`] empties it.
    pub fn rewrite_command(&mut self, id: i64, cmd: &Command) -> Result<(), StoreError> {
        let r = (|| {
            self.conn.pragma_update(None, "secure_delete", true)?;
            let was: Option<String> = self
                .conn
                .query_row("SELECT json FROM commands WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?;
            self.conn.execute(
                "UPDATE commands SET json = ?2 WHERE id = ?1",
                params![id, serde_json::to_string(cmd)?],
            )?;
            // The masked text names no proof, and the proof no longer fits it: removed
            // now (a row taken again after a crash is then refused, to be handed in
            // again), not left behind.
            if let Some(json) = was {
                super::proof::discard(&self.path, &json);
            }
            Ok(())
        })();
        self.ctx(r)
    }

    /// Copy the write-ahead log into the database and truncate it to nothing, so no
    /// older version of a page (a command's text before it was masked) stays in the
    /// `-wal` file. `false` when a reader still used the log: try again later.
    pub fn scrub_wal(&mut self) -> Result<bool, StoreError> {
        let r = (|| {
            // A reader in the way is waited for briefly, not for the full busy timeout:
            // the engine tries again on its next poll.
            self.conn.busy_timeout(SCRUB_WAIT)?;
            let busy = self
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    r.get::<_, i64>(0)
                });
            self.conn
                .busy_handler(Some(crate::busy::wait_for_writer_as_engine))?;
            Ok(busy? == 0)
        })();
        self.ctx(r)
    }

    /// Record what became of a claimed (or pending) command. A command already
    /// completed or withdrawn (or unknown) is `NotFound`. An engine writes its
    /// verdicts in the transaction of the decisions instead ([`Store::commit_decided`]).
    pub fn complete_command(
        &mut self,
        id: i64,
        outcome: &CommandOutcome,
    ) -> Result<(), StoreError> {
        let r = (|| match verdict(&self.conn, id, outcome)? {
            None => Err(StoreError::NotFound(format!("pending command {id}"))),
            Some(json) => {
                Spent(vec![json]).discard(&self.path);
                Ok(())
            }
        })();
        self.ctx(r)
    }

    /// The submitter gives up on a command no engine has taken: it is refused with
    /// `reason`. `false` when an engine already claimed (or answered) it: then its
    /// verdict is coming, or is there, and must be waited for.
    pub fn withdraw_command(&mut self, id: i64, reason: &Refusal) -> Result<bool, StoreError> {
        let outcome = CommandOutcome::Refused(reason.clone());
        let r = (|| {
            let json: Option<String> = self
                .conn
                .query_row(
                    "UPDATE commands SET status = 'refused', outcome = ?2, done_at = ?3
                     WHERE id = ?1 AND status = 'pending' RETURNING json",
                    params![id, serde_json::to_string(&outcome)?, Timestamp::now().0],
                    |r| r.get(0),
                )
                .optional()?;
            // No engine will look for its proof now.
            if let Some(json) = &json {
                super::proof::discard(&self.path, json);
            }
            Ok(json.is_some())
        })();
        self.ctx(r)
    }

    /// `None` while the command is pending or claimed; `NotFound` for an unknown id.
    pub fn command_outcome(&self, id: i64) -> Result<Option<CommandOutcome>, StoreError> {
        let r = (|| {
            let row: Option<Option<String>> = self
                .conn
                .query_row("SELECT outcome FROM commands WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?;
            match row {
                None => Err(StoreError::NotFound(format!("command {id}"))),
                Some(None) => Ok(None),
                Some(Some(json)) => Ok(Some(serde_json::from_str(&json)?)),
            }
        })();
        self.ctx(r)
    }

    fn run_exists(&self, run_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM runs WHERE id = ?1", [run_id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Whether a command waits for `run_id`'s engine (a queued run the serve keeps
    /// without an engine is woken for it).
    pub fn has_open_commands(&self, run_id: &str) -> Result<bool, StoreError> {
        let r = self
            .conn
            .prepare_cached(&format!(
                "SELECT EXISTS (SELECT 1 FROM commands WHERE run_id = ?1 AND {OPEN})"
            ))
            .and_then(|mut st| st.query_row([run_id], |r| r.get(0)))
            .map_err(StoreError::from);
        self.ctx(r)
    }

    /// Take the run's lease for `holder` (see [`lease_holder_name`]). A lease held by
    /// the same holder is renewed; one whose heartbeat is older than `stale_after`, or
    /// whose holder is a dead process on this host, is taken over.
    pub fn acquire_lease(
        &mut self,
        run_id: &str,
        holder: &str,
        now: Timestamp,
        stale_after: Duration,
    ) -> Result<LeaseOutcome, StoreError> {
        self.lease_for(run_id, holder, (now, stale_after), false)
    }

    /// [`Store::acquire_lease`] for a takeover (`baton resume`, a command on a run no
    /// engine drives): the lease is marked as its takeover's
    /// ([`baton_model::Lease::taking_over`]), and until the takeover settles
    /// ([`Store::settle_takeover`], or the commit that ends the run) the run reads
    /// `interrupted` and holds nothing by it, while no other taker can take it. A live
    /// lease is never taken over, not even one this `holder` holds (its process drives
    /// the run already: [`liveness::may_take_over`]): `HeldBy`.
    pub fn take_over_lease(
        &mut self,
        run_id: &str,
        holder: &str,
        now: Timestamp,
        stale_after: Duration,
    ) -> Result<LeaseOutcome, StoreError> {
        self.lease_for(run_id, holder, (now, stale_after), true)
    }

    fn lease_for(
        &mut self,
        run_id: &str,
        holder: &str,
        (now, stale_after): (Timestamp, Duration),
        taking_over: bool,
    ) -> Result<LeaseOutcome, StoreError> {
        let r = (|| {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current: Option<Lease> = tx
                .query_row(
                    "SELECT holder, heartbeat_at, taking_over FROM leases WHERE run_id = ?1",
                    [run_id],
                    |r| {
                        Ok(Lease {
                            holder: r.get(0)?,
                            heartbeat_at: Timestamp(r.get(1)?),
                            taking_over: r.get(2)?,
                        })
                    },
                )
                .optional()?;
            // A takeover takes no live lease, not even its own process's (that process
            // drives the run already: `liveness::may_take_over`); an engine renews its own.
            let refused = match &current {
                Some(_) if taking_over => {
                    !liveness::may_take_over(current.as_ref(), now, stale_after, holder_alive)
                }
                Some(lease) => {
                    lease.holder != holder
                        && liveness::lease_is_live(lease, now, stale_after, holder_alive)
                }
                None => false,
            };
            if let (true, Some(lease)) = (refused, current) {
                return Ok(LeaseOutcome::HeldBy {
                    holder: lease.holder,
                    heartbeat_at: lease.heartbeat_at,
                });
            }
            // The key it writes with: `audit rotate` waits for no live holder under another.
            tx.execute(
                "INSERT INTO leases (run_id, holder, acquired_at, heartbeat_at, key_id, taking_over)
                 VALUES (?1, ?2, ?3, ?3, ?4, ?5)
                 ON CONFLICT (run_id) DO UPDATE SET holder = excluded.holder,
                    acquired_at = excluded.acquired_at, heartbeat_at = excluded.heartbeat_at,
                    key_id = excluded.key_id, taking_over = excluded.taking_over",
                params![
                    run_id,
                    holder,
                    now.0,
                    crate::ledger::key_check::signing_id(&self.keys),
                    taking_over
                ],
            )?;
            tx.commit()?;
            Ok(LeaseOutcome::Acquired)
        })();
        self.ctx(r)
    }

    /// Renew the lease; `LeaseLost` if another engine took it over meanwhile. A run
    /// this connection fences ([`Store::fence`]) is checked as its commits are: also
    /// `GroupLost` when its group went to another run while its lease had lapsed.
    pub fn heartbeat(
        &mut self,
        run_id: &str,
        holder: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if let Some(fence) = self.fences.get(run_id).filter(|f| f.holder == holder) {
            let r = in_transaction(&self.conn, |tx| super::fence::check(tx, run_id, fence, now));
            return self.ctx(r);
        }
        let r = (|| {
            let n = self.conn.execute(
                "UPDATE leases SET heartbeat_at = ?3 WHERE run_id = ?1 AND holder = ?2",
                params![run_id, holder, now.0],
            )?;
            if n == 0 {
                return Err(StoreError::LeaseLost {
                    run_id: run_id.to_string(),
                    holder: self.lease_holder(run_id),
                });
            }
            Ok(())
        })();
        self.ctx(r)
    }

    /// Give the lease up (no error if it is not held by `holder`).
    pub fn release_lease(&mut self, run_id: &str, holder: &str) -> Result<(), StoreError> {
        self.fences.remove(run_id);
        // The rows its commits deferred, written before the run is let go (the lease
        // goes whatever that answers).
        let caught = self.catch_up(run_id);
        let r = self
            .conn
            .execute(
                "DELETE FROM leases WHERE run_id = ?1 AND holder = ?2",
                params![run_id, holder],
            )
            .map(|_| ())
            .map_err(StoreError::from);
        self.ctx(r)?;
        caught
    }
}

/// Command `id`'s verdict on its row, if it is still pending or claimed: the row's
/// text (`None` for one already decided or withdrawn), whose proof goes once the
/// verdict is committed ([`Spent`]).
fn verdict(
    conn: &rusqlite::Connection,
    id: i64,
    outcome: &CommandOutcome,
) -> Result<Option<String>, StoreError> {
    let status = if outcome.is_accepted() {
        "accepted"
    } else {
        "refused"
    };
    Ok(conn
        .prepare_cached(
            "UPDATE commands SET status = ?2, outcome = ?3, done_at = ?4
             WHERE id = ?1 AND status IN ('pending', 'claimed') RETURNING json",
        )?
        .query_row(
            params![
                id,
                status,
                serde_json::to_string(outcome)?,
                Timestamp::now().0
            ],
            |r| r.get(0),
        )
        .optional()?)
}

/// The rows a transaction decided: their proofs are removed once it committed. A
/// claim leaves the proof in place ([`Store::claim_commands`]), so the next engine
/// can still check a row whose engine died before its verdict; a proof still serves
/// one row once: a decided row's is gone, and a copy of a row is refused.
#[must_use = "the proofs go only once the transaction committed: `discard` them then"]
pub(crate) struct Spent(Vec<String>);

impl Spent {
    /// After the commit: the decided rows' proofs removed (best effort: a proof left
    /// by a crash here proves a decided row, which no engine claims again, and a copy
    /// of it is refused as a copy).
    pub(crate) fn discard(self, db: &std::path::Path) {
        for json in &self.0 {
            super::proof::discard(db, json);
        }
    }
}

/// In the transaction of a commit ([`Store::commit_decided`]): the verdicts of the
/// commands it decided. One already decided or withdrawn (its submitter gave up) is
/// left as it is: the decision is in the event log either way.
pub(crate) fn record_verdicts(
    conn: &rusqlite::Connection,
    verdicts: &[(i64, CommandOutcome)],
) -> Result<Spent, StoreError> {
    let mut spent = Vec::new();
    for (id, outcome) in verdicts {
        spent.extend(verdict(conn, *id, outcome)?);
    }
    Ok(Spent(spent))
}

/// The text of run `run_id`'s first event (its `run_started`), if it has one.
pub(crate) fn first_event_json(
    c: &rusqlite::Connection,
    run_id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(c.prepare_cached(&format!(
        "SELECT e.json FROM {} ORDER BY e.id LIMIT 1",
        crate::ledger::rows::RUN_EVENTS
    ))?
    .query_row([run_id], |r| r.get(0))
    .optional()?)
}

/// The older row of `run_id` with the very text of row `id`, if any: a row's text
/// carries its proof's nonce, so only a copy made in the database shares it (a
/// proof, kept until its row's verdict commits, must not prove a second row).
fn copy_of(
    conn: &rusqlite::Connection,
    run_id: &str,
    id: i64,
    json: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT min(id) FROM commands WHERE run_id = ?1 AND json = ?2 AND id < ?3")?
        .query_row(params![run_id, json, id], |r| r.get(0))?)
}

/// The run's lease holder now (`?1` is the run), whom a claim belongs to.
const HOLDER: &str = "(SELECT holder FROM leases WHERE run_id = ?1)";
/// A command no engine has decided: pending, or claimed under a lease no longer held.
const OPEN: &str = "(status = 'pending' OR (status = 'claimed' AND claimed_by IS NOT (SELECT holder FROM leases WHERE run_id = ?1)))";

impl Store {
    /// The run's lease row, if any (live or not: see [`liveness::liveness`]).
    pub fn lease(&self, run_id: &str) -> Result<Option<Lease>, StoreError> {
        let r = self
            .conn
            .prepare_cached(
                "SELECT holder, heartbeat_at, taking_over FROM leases WHERE run_id = ?1",
            )
            .and_then(|mut st| {
                st.query_row([run_id], |r| {
                    Ok(Lease {
                        holder: r.get(0)?,
                        heartbeat_at: Timestamp(r.get(1)?),
                        taking_over: r.get(2)?,
                    })
                })
                .optional()
            })
            .map_err(StoreError::from);
        self.ctx(r)
    }
}

#[cfg(test)]
#[path = "commands_tests.rs"]
mod tests;
