//! The write path: one batch (its attempts' logs, events and the run's summary) into
//! the ledger (events, their chain, the audit rows) and the read side (the projection,
//! the summary; an engine's rows may wait: [`deferred`]), in the caller's transaction;
//! and a new run's rows.
use crate::error::StoreError;
use crate::ledger::append::{
    chain_write, insert_audit_row, run_key, run_tail, run_writer, set_chain_head,
};
use crate::ledger::audit::{self, AuditKeys};
use crate::ledger::event_chain::{self, Mark, Tail, Writer};
use crate::ledger::{key_check, starter_seal, witness};
use crate::read::{catch_up, forks, project, run_counts, summaries};
use crate::records::{AttemptLog, LOG_TAIL_MAX, NewRun};
use crate::tx::bounded_tail;
use baton_model::Event;
use baton_model::state_summary::StateSummary;
use deferred::Deferred;
use rusqlite::{Connection, params};

pub(crate) mod deferred;
pub(crate) mod known;

/// The run's summary as of a batch: the writer's own (an engine's core), or, for a
/// writer without one, folded again from what the store holds.
#[derive(Clone, Copy)]
pub(crate) enum Summary<'a> {
    Given(&'a StateSummary),
    Replayed,
}

/// What one commit writes: the attempts' logs, the events, the run's summary.
pub(crate) struct Batch<'a> {
    pub(crate) events: &'a [Event],
    pub(crate) logs: &'a [AttemptLog],
    pub(crate) summary: Summary<'a>,
}

/// One batch: its attempts' logs and events, projected (one statement per touched
/// row, see [`project`]) and audited, in one `BEGIN IMMEDIATE` transaction. The run's
/// key is looked up unless `known`; returns it and the keyed heads to witness.
pub(crate) fn commit_body(
    tx: &Connection,
    keys: &AuditKeys,
    seal: Option<&starter_seal::AccountKey>,
    run_id: &str,
    known_key: Option<i64>,
    batch: Batch<'_>,
) -> Result<(i64, Vec<witness::Entry>), StoreError> {
    let prior = Prior {
        key: known_key,
        ..Prior::default()
    };
    let done = commit_onto(tx, (keys, seal), run_id, prior, batch)?;
    Ok((done.key, done.heads))
}

/// What the caller knows of the run before a batch (`commit::known`: nothing wrote
/// the store since the commit that left it), each read from the store when not.
#[derive(Default)]
pub(crate) struct Prior {
    /// Its key (`runs.key`).
    pub(crate) key: Option<i64>,
    /// Its last event.
    pub(crate) tail: Option<Tail>,
    /// Steps whose rows hold a state with a process (`running`, `ready`), as the
    /// caller's commits left them; a step not here is read.
    pub(crate) in_process: known::InProcess,
    /// The run's row holds a state that is not final and no kept counts.
    pub(crate) open: bool,
    /// The steps' and attempts' patches the caller's commits left pending, as they
    /// left them: kept if the run's watermark is still where they start, else (and
    /// for `None`) the rows are brought up to the run's events first (`read::catch_up`).
    pub(crate) deferred: Option<Deferred>,
    /// The batch's patches may wait ([`deferred`]): an engine's commit, whose next
    /// commits write them.
    pub(crate) defer: bool,
}

/// What [`commit_onto`] wrote: the run's key, the keyed heads to witness, the run's
/// last event now (`None` only for a run that still has none), its steps with a
/// process as far as the caller knew them and the batch moved them, and whether it
/// knows the run's row open ([`Prior::open`]).
pub(crate) struct Done {
    pub(crate) key: i64,
    pub(crate) heads: Vec<witness::Entry>,
    pub(crate) tail: Option<Tail>,
    pub(crate) in_process: known::InProcess,
    pub(crate) open: bool,
    /// The patches it left pending.
    pub(crate) deferred: Deferred,
}

/// [`commit_body`], onto what the caller knows of the run ([`Prior`]).
pub(crate) fn commit_onto(
    tx: &Connection,
    (keys, seal): (&AuditKeys, Option<&starter_seal::AccountKey>),
    run_id: &str,
    prior: Prior,
    batch: Batch<'_>,
) -> Result<Done, StoreError> {
    let Batch {
        events,
        logs,
        summary,
    } = batch;
    let Prior {
        key: known_key,
        tail: known_tail,
        mut in_process,
        open,
        deferred,
        defer,
    } = prior;
    key_check::check_signing(tx, keys)?;
    let knows = known_tail.is_some();
    // Before the batch is appended: the steps' rows the batch's ended attempts are
    // counted from, and that it patches, hold every event before it, or the caller
    // holds the patches still to write.
    let mut deferred = match deferred {
        // Nothing was written since the caller's last commit (`commit::known`).
        Some(d) if knows => d,
        // The rows stop where its patches start: no one wrote them since (only the
        // lease's holder appends, and the fence checked the lease in this transaction).
        Some(d) if catch_up::watermark(tx, run_id)? == d.from() => d,
        _ => {
            catch_up::catch_up(tx, run_id)?;
            Deferred::default()
        }
    };
    let run_key = match known_key {
        Some(k) => k,
        None => run_key(tx, run_id)?,
    };
    let tail = match known_tail {
        Some(t) => Some(t),
        None => run_tail(tx, run_key)?,
    };
    let mut chain = run_writer(run_id, tail.as_ref(), keys)?;
    if let (Some(t), false) = (&tail, events.is_empty()) {
        // The batch's last event takes the head mark over (`event_chain`), and the
        // summary the old one carried (`summaries::EVENT_SUMMARY`).
        tx.prepare_cached(
            "UPDATE events SET head_key_id = NULL, head_mac = NULL, summary = NULL WHERE id = ?1",
        )?
        .execute([t.id])?;
    }
    let to = Chained {
        keys,
        seal,
        run_id,
        run_key,
    };
    let p = project::fold(logs, events);
    let ended = project::attempts_ended(tx, run_id, &p, (&in_process, &deferred))?;
    let waits = match summary {
        Summary::Given(s) if defer => {
            rows_wait(tx, run_id, (&p, events.len()), s, (&deferred, knows))?
        }
        _ => false,
    };
    // While the rows wait, the batch's last event carries the run's summary.
    let carry = match summary {
        Summary::Given(s) if waits => Some(serde_json::to_string(&summaries::Carry {
            ended: deferred.ended_with(ended),
            summary: s,
        })?),
        _ => None,
    };
    let (mut heads, head, last) = append(tx, &to, &mut chain, (events, logs), carry)?;
    // The run's summary, saved with the batch (`summaries`) unless it rides on it.
    let replayed;
    let summary = match summary {
        Summary::Given(s) => s,
        Summary::Replayed => {
            replayed = summaries::replayed(tx, run_id, logs)?.summary();
            &replayed
        }
    };
    if !waits {
        summaries::save_counting(tx, run_id, summary, deferred.ended_with(ended))?;
    }
    let open = project::write(tx, run_id, &p, summary, open)?;
    known::moved(&mut in_process, &p);
    let rows = Rows {
        waits,
        at: tail.as_ref().map_or(0, |t| t.seq),
    };
    write_rows(tx, run_id, &p, &mut deferred, rows, events.len())?;
    if waits {
        deferred.count_ended(ended);
    } else {
        deferred.wrote_flags(summaries::flags(summary));
    }
    if let Some((id, hash)) = head {
        heads.extend(witness::Entry::of_head(&set_chain_head(
            tx, id, &hash, keys,
        )?));
    }
    Ok(Done {
        key: run_key,
        heads,
        tail: last.or(tail),
        in_process,
        open,
        deferred,
    })
}

/// Whether an engine's batch (`p`, of `events` events; `summary`, its core's) leaves
/// the run's steps', attempts' and summary's rows waiting ([`deferred`]): not when the
/// patches are due with it, the run idles ([`deferred::idles`]) or moves (its state,
/// its end), the batch has no event to carry the summary, or the summary's flags move
/// (their partial indexes are read across runs as the row holds them). The flags are
/// the caller's while it `knows` nothing else wrote the store, else read.
fn rows_wait(
    tx: &Connection,
    run_id: &str,
    (p, events): (&project::Projection<'_>, usize),
    summary: &StateSummary,
    (deferred, knows): (&Deferred, bool),
) -> Result<bool, StoreError> {
    let moves_run = p.run.state.is_some() || p.run.finished_at.is_some();
    if events == 0 || moves_run || deferred::idles(summary) || deferred.due_with(events) {
        return Ok(false);
    }
    let flags = match deferred.flags().filter(|_| knows) {
        Some(f) => Some(f),
        None => summaries::row_flags(tx, run_id)?,
    };
    Ok(flags == Some(summaries::flags(summary)))
}

/// Whether a batch's steps' and attempts' rows wait ([`rows_wait`]), and the run's
/// last event before it (where the watermark goes when they start waiting).
#[derive(Clone, Copy)]
struct Rows {
    waits: bool,
    at: u64,
}

/// The batch's steps' and attempts' rows: written with those pending (and the
/// watermark gone) unless they wait; else kept pending, with the watermark where the
/// rows stop, its attempts' logs with them (kept on its first event's row: [`append`]).
fn write_rows(
    tx: &Connection,
    run_id: &str,
    p: &project::Projection<'_>,
    deferred: &mut Deferred,
    rows: Rows,
    events: usize,
) -> Result<(), StoreError> {
    let was_empty = deferred.is_empty();
    if !rows.waits {
        let tails = deferred.tails() || p.attempts.iter().any(|(_, ops)| deferred::has_tail(ops));
        if !was_empty {
            project::write_steps(tx, run_id, &deferred.projection())?;
        }
        *deferred = Deferred::default();
        project::write_steps(tx, run_id, p)?;
        return written(tx, run_id, events, rows.at, (!was_empty, tails));
    }
    deferred.add(p, events);
    if was_empty {
        catch_up::lag(tx, run_id, rows.at)?;
        deferred.starts_at(rows.at);
    }
    Ok(())
}

/// The rows hold every event of the run: the watermark goes if there was one
/// (`pending`), with the logs its events carried if one has a tail (`tails`:
/// [`catch_up::logs_held`]), else the batch's own logs leave its first event (where
/// [`append`] put them) if one has a tail.
fn written(
    tx: &Connection,
    run_id: &str,
    events: usize,
    before: u64,
    (pending, tails): (bool, bool),
) -> Result<(), StoreError> {
    if pending {
        return catch_up::projected(tx, run_id, tails);
    }
    if events > 0 && tails {
        catch_up::logs_held(tx, run_id, before)?;
    }
    Ok(())
}

/// The run a batch's events are appended to, and the keys that seal them.
struct Chained<'a> {
    keys: &'a AuditKeys,
    seal: Option<&'a starter_seal::AccountKey>,
    run_id: &'a str,
    run_key: i64,
}

/// What [`append`] leaves: the keyed heads to witness, the audit chain's new head
/// (its row id and hash) if the batch held a decision, and the run's new last event.
type Appended = (Vec<witness::Entry>, Option<(i64, String)>, Option<Tail>);

/// The batch's events, linked onto `chain` and inserted (the last one marked, the
/// first one carrying the batch's `logs`: `read::catch_up::logs`), with the decisions
/// among them sealed onto the audit chain.
fn append(
    tx: &Connection,
    to: &Chained<'_>,
    chain: &mut Writer,
    (events, logs): (&[Event], &[AttemptLog]),
    mut carry: Option<String>,
) -> Result<Appended, StoreError> {
    let Chained {
        keys,
        seal,
        run_id,
        run_key,
    } = *to;
    let mut heads = Vec::new();
    let mut head: Option<(i64, String)> = None;
    let mut rows = Vec::with_capacity(events.len());
    // A row each, from the first: `read::catch_up::logs::encode`.
    let mut logs = catch_up::logs::encode(logs)?.into_iter();
    for (i, ev) in events.iter().enumerate() {
        let json = serde_json::to_string(ev)?;
        let hash = chain.link(ev.seq, &json);
        let last = i + 1 == events.len();
        let mark = last.then(|| chain.mark(ev.seq, keys));
        heads.extend(
            mark.as_ref()
                .and_then(|m| witness::Entry::of_mark(run_id, ev.seq, &hash, m)),
        );
        if let (true, Some(key)) = (last, seal) {
            starter_seal::update_head(tx, key, run_id, ev.seq, &hash)?;
        }
        forks::project(tx, run_id, ev)?;
        crate::read::artifacts::project(tx, run_id, ev)?;
        if let Some(d) = baton_model::history::decision(&ev.kind) {
            let (prev_id, prev_hash) = match head.take() {
                Some(h) => h,
                None => chain_write(tx, keys)?,
            };
            let row = audit::seal(
                prev_id + 1,
                run_id,
                Some(ev.seq),
                ev.at,
                &d,
                prev_hash,
                keys,
            );
            insert_audit_row(tx, &row)?;
            head = Some((row.id, row.hash));
        }
        rows.push(EventRow {
            ev,
            json,
            hash,
            mark,
            logs: logs.next(),
            summary: if last { carry.take() } else { None },
        });
    }
    if !events.is_empty() && logs.len() > 0 {
        // Each log comes with its attempt's end: a batch holds an event a log.
        return Err(StoreError::Refused(format!(
            "a batch of {} events records more logs than its rows carry",
            events.len()
        )));
    }
    for chunk in rows.chunks(EVENTS_A_STATEMENT) {
        insert_events(tx, run_id, run_key, chunk)?;
    }
    // The last event, the one marked, is the run's tail now.
    let last_event = rows.pop().and_then(|row| {
        row.mark.map(|m| Tail {
            id: (run_key << 32) + row.ev.seq as i64,
            seq: row.ev.seq,
            hash: row.hash.to_vec(),
            head_key_id: m.key_id,
        })
    });
    Ok((heads, head, last_event))
}

/// The most event rows one `INSERT` takes: a statement for each count up to it is
/// cached, so a batch's events cost one statement, not one each.
const EVENTS_A_STATEMENT: usize = 8;

/// The parameters of one event's row in [`events_insert_sql`].
const PER_ROW: usize = 10;

/// An event's row as [`append`] made it: its JSON, chain hash, head mark and the
/// attempts' logs it carries.
struct EventRow<'e> {
    ev: &'e Event,
    json: String,
    hash: event_chain::Hash,
    mark: Option<Mark>,
    logs: Option<String>,
    /// The run's summary, on the batch's last event while the rows wait.
    summary: Option<String>,
}

/// `INSERT INTO events` of `n` rows (1 to [`EVENTS_A_STATEMENT`]), the run's id and
/// key bound once (`?1`, `?2`) and [`PER_ROW`] parameters a row after them.
fn events_insert_sql(n: usize) -> &'static str {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| {
        (1..=EVENTS_A_STATEMENT)
            .map(|n| {
                let rows: Vec<String> = (0..n)
                    .map(|r| {
                        let p = 3 + PER_ROW * r;
                        format!(
                            "((?2 << 32) + ?{p}, ?1, ?{p}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{})",
                            p + 1,
                            p + 2,
                            p + 3,
                            p + 4,
                            p + 5,
                            p + 6,
                            p + 7,
                            p + 8,
                            p + 9
                        )
                    })
                    .collect();
                format!(
                    "INSERT INTO events (id, run_id, seq, at, type, step, json, hash, head_key_id, head_mac, logs, summary) VALUES {}",
                    rows.join(", ")
                )
            })
            .collect()
    });
    &all[n - 1]
}

/// One statement for `rows` (at most [`EVENTS_A_STATEMENT`]), in their order. A seq
/// beyond 32 bits fails the table's CHECK (the id would overlap the next run's).
fn insert_events(
    tx: &Connection,
    run_id: &str,
    run_key: i64,
    rows: &[EventRow<'_>],
) -> Result<(), StoreError> {
    let mut insert = tx.prepare_cached(events_insert_sql(rows.len()))?;
    insert.raw_bind_parameter(1, run_id)?;
    insert.raw_bind_parameter(2, run_key)?;
    for (r, row) in rows.iter().enumerate() {
        let p = 3 + PER_ROW * r;
        let ev = row.ev;
        insert.raw_bind_parameter(p, ev.seq as i64)?;
        insert.raw_bind_parameter(p + 1, ev.at.0)?;
        insert.raw_bind_parameter(p + 2, ev.kind.name())?;
        insert.raw_bind_parameter(p + 3, ev.kind.step())?;
        insert.raw_bind_parameter(p + 4, &row.json)?;
        insert.raw_bind_parameter(p + 5, &row.hash[..])?;
        let mark = row.mark.as_ref();
        insert.raw_bind_parameter(p + 6, mark.and_then(|m| m.key_id.as_deref()))?;
        insert.raw_bind_parameter(p + 7, mark.map(|m| &m.mac[..]))?;
        insert.raw_bind_parameter(p + 8, row.logs.as_deref())?;
        insert.raw_bind_parameter(p + 9, row.summary.as_deref())?;
    }
    insert.raw_execute()?;
    Ok(())
}

pub(crate) fn put_attempt_log(
    conn: &Connection,
    run_id: &str,
    log: &AttemptLog,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO attempts (run_id, step_id, attempt, log_path, log_tail) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (run_id, step_id, attempt) DO UPDATE SET log_path = excluded.log_path, log_tail = excluded.log_tail",
    )?
    .execute(params![
        run_id,
        log.step_id,
        log.attempt,
        log.path.to_string_lossy(),
        bounded_tail(&log.tail, LOG_TAIL_MAX)
    ])?;
    Ok(())
}

pub(crate) fn insert_run(
    tx: &Connection,
    run: &NewRun,
    seal: Option<&starter_seal::AccountKey>,
) -> Result<(), StoreError> {
    tx.prepare_cached(&format!(
        "INSERT INTO runs (id, workflow, source_path, operator, state, started_at, key, rev)
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, (SELECT coalesce(max(key), 0) + 1 FROM runs), {})",
        run_counts::NEXT_REV
    ))?
    .execute(params![
        run.id,
        run.workflow,
        run.source_path.to_string_lossy(),
        run.operator,
        run.started_at.0
    ])?;
    // Apart from the row every commit updates (schema `RUN_SOURCES`).
    tx.prepare_cached(
        "INSERT INTO run_sources (run_id, source_text, params_json) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![run.id, run.source_text, run.params_json])?;
    if let Some(p) = &run.parent {
        crate::read::children::insert(tx, &run.id, p)?;
    }
    let mut stmt =
        tx.prepare_cached("INSERT INTO steps (run_id, step_id, state) VALUES (?1, ?2, 'pending')")?;
    for step in &run.steps {
        stmt.execute(params![run.id, step])?;
    }
    if let Some(key) = seal {
        let record = starter_seal::Record {
            run_id: &run.id,
            workflow: &run.workflow,
            source_path: &run.source_path,
            source_text: &run.source_text,
            params_json: &run.params_json,
            operator: &run.operator,
        };
        starter_seal::insert(tx, key, &record)?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "commit/append_tests.rs"]
mod append_tests;
