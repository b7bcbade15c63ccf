//! `baton audit verify` and `baton audit seal`: the whole store checked in one snapshot.
//!
//! In this order, naming the first problem:
//! 1. the audit chain ([`audit::verify_rows`]): links, hashes, keys, its head;
//! 2. each run (in the order the runs were created), its events in seq order
//!    ([`event_chain::Check`]), each event's columns against its stored text, and its
//!    head; the `approvals` rows, which the events write ([`approvals::approvals_of`]),
//!    must be exactly those the events give;
//! 3. the chain and the histories against each other: every audit row that names an
//!    event finds it in its run (a run deleted without its `run_deleted` row leaves rows
//!    naming events that are gone), and every `run_started` event has its audit row (an
//!    emptied chain shows);
//! 4. the store against its witness ([`witness`]): nothing the witness saw is missing
//!    (a rollback).
//!
//! [`audit`]: super::audit
//! [`event_chain`]: super::event_chain
//! [`witness`]: super::witness
//! [`approvals::approvals_of`]: super::approvals::approvals_of
use super::audit::{self, AuditRow, AuditVerdict, Heads};
use super::event_chain::{Break, Check, Mark};
use super::rows::{AUDIT_SELECT, CHAIN_COLUMNS, RUN_EVENTS, audit_row, stored};
use super::witness::{self, Entry};
use super::{Store, StoreError, audit_head, in_transaction, key_check, run_key, run_tail};
use baton_model::history::PLAIN_KINDS;
use baton_model::{Event, EventHead, EventKind};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;

/// What `baton audit seal` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Sealed {
    /// The store checked out and its heads without a key are now keyed: `runs` run
    /// histories, and the audit chain's head if `audit`.
    Done { runs: usize, audit: bool },
    /// The store did not check out: nothing was changed.
    Refused(AuditVerdict),
}

/// One line naming what a verdict found (the first problem, if any).
impl std::fmt::Display for AuditVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuditVerdict::Intact { rows } => write!(f, "audit chain intact: {rows} rows verified"),
            AuditVerdict::Broken {
                row_id,
                run_id,
                reason,
            } => {
                write!(f, "audit chain BROKEN at row {row_id}")?;
                if let Some(r) = run_id {
                    write!(f, " (run {r})")?;
                }
                write!(f, ": {reason}")
            }
            AuditVerdict::HistoryBroken {
                run_id,
                seq,
                reason,
            } => write!(
                f,
                "run history BROKEN at event {seq} of run {run_id}: {reason}"
            ),
            AuditVerdict::KeyMissing {
                row_id,
                run_id,
                key_id,
            } => write!(
                f,
                "audit chain unverifiable at row {row_id} (run {run_id}): it is signed with key `{key_id}`, which is not available; set BATON_AUDIT_KEYS=\"{key_id}=…\""
            ),
        }
    }
}

impl Store {
    /// Verify the whole store (see the module docs) and count its audit rows; or, with
    /// `run_id`, that run alone ([`verify_one_run`]), in time that does not grow with
    /// the store's history, and count its rows.
    pub fn verify_audit(&self, run_id: Option<&str>) -> Result<AuditVerdict, StoreError> {
        if let Some(run) = run_id {
            self.run(run)?;
        }
        let heads = Heads::for_keys(&self.keys);
        let seen = self.newest_witnessed()?;
        let r = super::in_read_snapshot(&self.conn, |c| {
            let verdict = match run_id {
                None => verify_store(c, &self.keys, None, heads)?,
                Some(run) => verify_one_run(c, &self.keys, run, heads)?,
            };
            if !verdict.is_intact() {
                return Ok(verdict);
            }
            Ok(
                match witness::check(c, &seen, run_id, self.witness_path())? {
                    Some(rollback) => rollback.into(),
                    None => verdict,
                },
            )
        });
        self.ctx(r)
    }

    /// `baton audit seal`: adopt a store recorded (in part) without a key. Checks it
    /// whole, then keys every head written without one with the signing key, in one
    /// transaction; a store that does not check out is left as it is. What was recorded
    /// before is thereby vouched for against accidents only: seal a store you trust.
    pub fn seal(&mut self) -> Result<Sealed, StoreError> {
        if self.keys.signing.is_none() {
            return Err(StoreError::Keys(
                "`baton audit seal` keys the store with BATON_AUDIT_KEY (and BATON_AUDIT_KEY_ID), which is not set".into(),
            ));
        }
        let r = self.set_sync_full(true);
        self.ctx(r)?;
        self.witness_ready()?;
        let seen = self.newest_witnessed()?;
        let (keys, witness_path) = (&self.keys, self.witness_path());
        let mut heads = Vec::new();
        let r = in_transaction(&self.conn, |tx| {
            key_check::check_signing(tx, keys)?;
            let verdict = verify_store(tx, keys, None, Heads::Adopting)?;
            if !verdict.is_intact() {
                return Ok(Sealed::Refused(verdict));
            }
            if let Some(rollback) = witness::check(tx, &seen, None, witness_path)? {
                return Ok(Sealed::Refused(rollback.into()));
            }
            let runs: Vec<String> = tx
                .prepare("SELECT id FROM runs ORDER BY key")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut sealed = 0;
            for run_id in &runs {
                // Checked above: the last event is marked; without a key it is keyed now.
                let Some(t) = run_tail(tx, run_key(tx, run_id)?)? else {
                    continue;
                };
                if t.head_key_id.is_none() {
                    let m = Mark::seal(run_id, t.seq, &t.hash, keys);
                    tx.prepare_cached(
                        "UPDATE events SET head_key_id = ?2, head_mac = ?3 WHERE id = ?1",
                    )?
                    .execute(rusqlite::params![t.id, m.key_id, m.mac])?;
                    heads.extend(Entry::of_mark(run_id, t.seq, &t.hash, &m));
                    sealed += 1;
                }
            }
            let audit = match audit_head(tx)? {
                Some(h) if h.keyed.is_none() => {
                    heads.extend(Entry::of_head(&super::set_chain_head(
                        tx, h.id, &h.hash, keys,
                    )?));
                    true
                }
                _ => false,
            };
            Ok(Sealed::Done {
                runs: sealed,
                audit,
            })
        });
        let sealed = self.ctx(r)?;
        self.witness(&heads)?;
        Ok(sealed)
    }
}

/// The checks 1–3 of the module docs, in a snapshot the caller holds.
pub(crate) fn verify_store(
    c: &Connection,
    keys: &audit::AuditKeys,
    count_run: Option<&str>,
    heads: Heads,
) -> Result<AuditVerdict, StoreError> {
    // The events the chain's rows name: run → [(seq, row id)].
    let mut named: BTreeMap<String, Vec<(u64, i64)>> = BTreeMap::new();
    let verdict = {
        let mut st = c.prepare(&format!("{AUDIT_SELECT} ORDER BY id"))?;
        let rows = st.query_map([], audit_row)?;
        let mut first_err = None;
        let rows = rows
            .map_while(|r| match r {
                Ok(row) => Some(row),
                Err(e) => {
                    first_err = Some(e);
                    None
                }
            })
            .inspect(|row| {
                if let (Some(seq), false) = (row.seq, row.action == audit::REDACTED) {
                    named
                        .entry(row.run_id.clone())
                        .or_default()
                        .push((seq, row.id));
                }
            });
        let verdict = audit::verify_rows(rows, audit_head(c)?, keys, count_run, heads);
        if let Some(e) = first_err {
            return Err(e.into());
        }
        verdict
    };
    if !verdict.is_intact() {
        return Ok(verdict);
    }
    let runs: Vec<String> = c
        .prepare("SELECT id FROM runs ORDER BY key")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for run_id in &runs {
        let rows = named.remove(run_id).unwrap_or_default();
        if let Some(v) = verify_run(c, keys, run_id, &rows, heads, Rows::OfStarts)? {
            return Ok(v);
        }
    }
    // Rows naming events of runs that are gone (deleted without a `run_deleted` row).
    if let Some((run_id, (seq, row_id))) = named
        .into_iter()
        .flat_map(|(run, rows)| rows.into_iter().map(move |r| (run.clone(), r)))
        .min_by_key(|(_, (_, id))| *id)
    {
        return Ok(AuditVerdict::Broken {
            row_id,
            run_id: Some(run_id.clone()),
            reason: format!(
                "row {row_id} records event {seq} of run {run_id}, which is gone (deleted without a `{}` row)",
                audit::RUN_DELETED
            ),
        });
    }
    Ok(verdict)
}

/// `audit verify RUN`: run `run_id` alone, by index lookups of its own rows (its time
/// does not grow with the store's history). Its history and approvals as the whole
/// store's check reads them ([`verify_run`]), and each of its audit rows: its content,
/// its links to the rows beside it in the chain (the one after it, or the chain's head
/// if it is the last), and every decision among its events has its row (in the whole
/// store the chain's continuity shows a deleted row; here the events do).
fn verify_one_run(
    c: &Connection,
    keys: &audit::AuditKeys,
    run_id: &str,
    heads: Heads,
) -> Result<AuditVerdict, StoreError> {
    let rows: Vec<AuditRow> = c
        .prepare_cached(&format!("{AUDIT_SELECT} WHERE run_id = ?1 ORDER BY id"))?
        .query_map([run_id], audit_row)?
        .collect::<Result<_, _>>()?;
    let head = audit_head(c)?;
    let mut at = c.prepare_cached(&format!("{AUDIT_SELECT} WHERE id = ?1"))?;
    let mut row_at = |id: i64| at.query_row([id], audit_row).optional();
    let mut key_missing = None;
    let mut named = Vec::new();
    for row in &rows {
        if row.action == audit::REDACTED {
            return Ok(AuditVerdict::Broken {
                row_id: row.id,
                run_id: Some(run_id.to_string()),
                reason: format!(
                    "row {} was blanked, but its run {run_id} is still in the store",
                    row.id
                ),
            });
        }
        let before = match row.id {
            1 => None,
            id => match row_at(id - 1)? {
                Some(b) => Some(b),
                None => return Ok(audit::missing_row(id - 1, id)),
            },
        };
        // A keyed row at or before this one, as far as the rows beside it tell.
        let keyed = |r: &AuditRow| r.key_id.as_ref().map(|_| r.id);
        let first_keyed = before.as_ref().and_then(keyed);
        if let Some(v) = audit::unkeyed_after(first_keyed, row) {
            return Ok(v);
        }
        match audit::content_verdict(row, keys) {
            Err(v) => return Ok(v),
            Ok(Some(v)) => {
                key_missing.get_or_insert(v);
            }
            Ok(None) => {}
        }
        if let Some(v) = audit::link_verdict(before.as_ref(), row) {
            return Ok(v);
        }
        let first_keyed = first_keyed.or(keyed(row));
        let last = match row_at(row.id + 1)? {
            Some(next) => audit::unkeyed_after(first_keyed, &next)
                .or_else(|| audit::link_verdict(Some(row), &next)),
            None => audit::last_row_verdict(row, head.as_ref(), first_keyed, keys, heads),
        };
        match last {
            Some(v @ AuditVerdict::KeyMissing { .. }) => {
                key_missing.get_or_insert(v);
            }
            Some(v) => return Ok(v),
            None => {}
        }
        if let Some(seq) = row.seq {
            named.push((seq, row.id));
        }
    }
    if let Some(v) = verify_run(c, keys, run_id, &named, heads, Rows::OfDecisions)? {
        return Ok(v);
    }
    Ok(key_missing.unwrap_or(AuditVerdict::Intact { rows: rows.len() }))
}

/// Which events of a run [`verify_run`] requires an audit row of.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rows {
    /// Its start (the whole chain's continuity vouches for the rest).
    OfStarts,
    /// Every decision (`model::history::decision`): a run checked alone.
    OfDecisions,
}

/// Whether event `seq`'s columns (seq, at, type, step: `r`'s 5th to 7th) are what
/// its stored text says (`head`, and the `step` read from it).
fn columns_agree(
    r: &rusqlite::Row<'_>,
    seq: u64,
    head: &EventHead<'_>,
    step: Option<&str>,
) -> Result<bool, StoreError> {
    let columns = (
        r.get::<_, i64>(5)?,
        r.get::<_, String>(6)?,
        r.get::<_, Option<String>>(7)?,
    );
    Ok(head.seq == seq
        && (columns.0, columns.1.as_str(), columns.2.as_deref()) == (head.at.0, &*head.kind, step))
}

/// One run: its events, head and approvals, and the audit rows (`named`: seq, row id)
/// that name its events.
fn verify_run(
    c: &Connection,
    keys: &audit::AuditKeys,
    run_id: &str,
    named: &[(u64, i64)],
    heads: Heads,
    required: Rows,
) -> Result<Option<AuditVerdict>, StoreError> {
    let broken = |b: Break| {
        Some(AuditVerdict::HistoryBroken {
            run_id: run_id.to_string(),
            seq: b.seq,
            reason: b.reason,
        })
    };
    let mut check = Check::new(run_id, keys);
    let mut approvals = Approvals::new(c, run_id)?;
    // Events that must have an audit row: every `run_started` (or every decision), and
    // whether it is the start.
    let mut started: Vec<(u64, bool)> = Vec::new();
    let mut st = c.prepare_cached(&format!(
        "SELECT {CHAIN_COLUMNS}, e.at, e.type, e.step FROM {RUN_EVENTS} ORDER BY e.id"
    ))?;
    let mut rows = st.query(params![run_id])?;
    while let Some(r) = rows.next()? {
        let stored = stored(r)?;
        let (seq, json) = (stored.seq, stored.json);
        if let Err(b) = check.push(stored) {
            return Ok(broken(b));
        }
        let unreadable = |e: serde_json::Error| {
            Ok(broken(Break {
                seq,
                reason: format!("event {seq} cannot be read: {e}"),
            }))
        };
        let head: EventHead = match serde_json::from_str(json) {
            Ok(h) => h,
            Err(e) => return unreadable(e),
        };
        // A plain transition needs no audit row and writes no approval: its head is
        // all there is to check beside the chain's hash of its text. Any other event
        // is read whole (an error's step is inside it).
        let plain = PLAIN_KINDS.contains(&&*head.kind);
        let ev: Option<Event> = match plain {
            true => None,
            false => match serde_json::from_str(json) {
                Ok(ev) => Some(ev),
                Err(e) => return unreadable(e),
            },
        };
        let step = match &ev {
            Some(ev) => ev.kind.step(),
            None => head.step.as_deref(),
        };
        if !columns_agree(r, seq, &head, step)? {
            return Ok(broken(Break {
                seq,
                reason: format!(
                    "event {seq}'s columns (seq, at, type, step) differ from its stored text"
                ),
            }));
        }
        let Some(ev) = ev else {
            continue;
        };
        let start = matches!(ev.kind, EventKind::RunStarted { .. });
        let needs_row = match required {
            Rows::OfStarts => start,
            Rows::OfDecisions => baton_model::history::decision(&ev.kind).is_some(),
        };
        if needs_row {
            started.push((seq, start));
        }
        if let Some(reason) = approvals.expect(&ev)? {
            return Ok(broken(Break { seq, reason }));
        }
    }
    let last = match check.finish(heads) {
        Ok(last) => last,
        Err(b) => return Ok(broken(b)),
    };
    if let Some((seq, reason)) = approvals.left()? {
        return Ok(broken(Break { seq, reason }));
    }
    if let Some(&(seq, row_id)) = named.iter().find(|(seq, _)| *seq == 0 || *seq > last) {
        return Ok(Some(AuditVerdict::Broken {
            row_id,
            run_id: Some(run_id.to_string()),
            reason: format!("row {row_id} records event {seq} of run {run_id}, which is gone"),
        }));
    }
    let has_row: std::collections::HashSet<u64> = named.iter().map(|(n, _)| *n).collect();
    if let Some(&(seq, start)) = started.iter().find(|(s, _)| !has_row.contains(s)) {
        return Ok(broken(Break {
            seq,
            reason: if start {
                format!(
                    "event {seq} (the run's start) has no audit row: the audit chain was emptied or replaced"
                )
            } else {
                format!("event {seq} (a decision) has no audit row: the row was deleted")
            },
        }));
    }
    Ok(None)
}

/// A run's stored `approvals` rows, compared in order with those its events write.
struct Approvals {
    /// (id, seq, step, kind, actor, reason, digest, at, details), oldest first.
    rows: std::vec::IntoIter<ApprovalRow>,
}

type ApprovalRow = (
    i64,
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    String,
);

impl Approvals {
    fn new(c: &Connection, run_id: &str) -> Result<Self, StoreError> {
        let rows: Vec<ApprovalRow> = c
            .prepare_cached(
                "SELECT id, seq, step, kind, actor, reason, digest, at, details FROM approvals
                 WHERE run_id = ?1 ORDER BY id",
            )?
            .query_map([run_id], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        Ok(Approvals {
            rows: rows.into_iter(),
        })
    }

    /// The rows `ev` writes must be the next stored ones: why not, if they are not.
    fn expect(&mut self, ev: &Event) -> Result<Option<String>, StoreError> {
        for a in super::approvals::approvals_of(ev) {
            let want = (
                a.seq,
                a.step.as_ref(),
                a.kind,
                a.actor,
                a.reason,
                a.digest,
                a.at,
                a.details.to_string(),
            );
            let Some(row) = self.rows.next() else {
                return Ok(Some(format!(
                    "the approval record of event {} is missing",
                    ev.seq
                )));
            };
            let got = (
                row.1,
                row.2.as_str(),
                row.3.as_str(),
                row.4.as_str(),
                row.5.as_deref(),
                row.6.as_deref(),
                row.7,
                row.8.clone(),
            );
            if got != want {
                return Ok(Some(format!(
                    "approval row {} does not match event {}, which it records (altered, inserted or deleted)",
                    row.0, ev.seq
                )));
            }
        }
        Ok(None)
    }

    /// A stored row no event wrote: (its seq, why).
    fn left(&mut self) -> Result<Option<(u64, String)>, StoreError> {
        Ok(self.rows.next().map(|row| {
            (
                row.1.max(0) as u64,
                format!(
                    "approval row {} records no event of the run (inserted)",
                    row.0
                ),
            )
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_model::{RunState, StepOutcome, StepState, Timestamp, Usage};

    /// What `verify_run` skips of a plain transition holds for every kind it names:
    /// no audit action, no approval row, and its head says its type and step as the
    /// whole event does (a step with a quote in its id included).
    #[test]
    fn plain_kinds_record_nothing_and_their_head_says_what_the_event_says() {
        let step = "build \"x\"".to_string();
        let kinds = [
            EventKind::StepStateChanged {
                step: step.clone(),
                state: StepState::Running,
                attempt: 1,
                reason: None,
            },
            EventKind::StepProcess {
                step: step.clone(),
                attempt: 1,
                pgid: 42,
                output: None,
            },
            EventKind::StepFinished {
                step: step.clone(),
                attempt: 1,
                outcome: StepOutcome::Exited { exit_code: 0 },
                duration_ms: 3,
                outputs: BTreeMap::new(),
                usage: Usage::default(),
            },
            EventKind::RunStateChanged {
                state: RunState::Running,
                reason: Some("go".into()),
            },
        ];
        let mut names: Vec<&str> = Vec::new();
        for kind in kinds {
            let ev = Event {
                seq: 7,
                at: Timestamp(1_700_000_000_000),
                kind,
            };
            assert!(baton_model::history::audit_action(&ev.kind).is_none());
            assert!(super::super::approvals::approvals_of(&ev).is_empty());
            let json = serde_json::to_string(&ev).unwrap();
            let head: EventHead = serde_json::from_str(&json).unwrap();
            assert_eq!(
                (head.seq, head.at, &*head.kind, head.step.as_deref()),
                (ev.seq, ev.at, ev.kind.name(), ev.kind.step())
            );
            names.push(ev.kind.name());
        }
        names.sort_unstable();
        let mut plain = PLAIN_KINDS.to_vec();
        plain.sort_unstable();
        assert_eq!(names, plain);
    }
}
