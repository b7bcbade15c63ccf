//! Read queries: replay, run records, the run list, logs and audit. One run's details
//! are its replayed events (`session::inspect`), not queries.
use super::audit::{self, AuditRow};
use super::{SignaturesVerdict, Store, StoreError};
use crate::holder::live;
use crate::ledger::rows::{AUDIT_SELECT, CHAIN_COLUMNS, RUN_EVENTS, audit_row, stored};
use crate::read::catch_up::logs::logs_now;
use crate::records::RunRecord;
use crate::slots::REPLACED_SQL;
use baton_model::liveness::Liveness;
use baton_model::state_summary::Counts;
use baton_model::{Event, RunState, RunSummary, StepState, Timestamp};
use rusqlite::{OptionalExtension, params};
use std::path::PathBuf;

/// Where a reader of the run list is: the store's change number and deletion count
/// it last read (see [`Store::run_changes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunsCursor {
    rev: i64,
    deleted: i64,
}

fn runs_cursor(c: &rusqlite::Connection) -> Result<RunsCursor, StoreError> {
    let rev: i64 = c
        .prepare_cached("SELECT coalesce(max(rev), 0) FROM runs")?
        .query_row([], |r| r.get(0))?;
    let deleted: i64 = c
        .prepare_cached("SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?1")?
        .query_row([super::run_counts::DELETED_KEY], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    Ok(RunsCursor { rev, deleted })
}

/// What [`Store::run_changes`] read.
#[derive(Debug, Clone, PartialEq)]
pub struct RunChanges {
    /// `runs` is every run (else: those created or changed since the cursor).
    pub full: bool,
    /// Newest first.
    pub runs: Vec<RunSummary>,
    pub cursor: RunsCursor,
}

fn parse_step_state(s: &str) -> StepState {
    StepState::parse(s).unwrap_or(StepState::Interrupted)
}

fn opt_ts(v: Option<i64>) -> Option<Timestamp> {
    v.map(Timestamp)
}

impl Store {
    /// The run's events in `seq` order (replay).
    pub fn events(&self, run_id: &str) -> Result<Vec<Event>, StoreError> {
        self.events_after(run_id, 0)
    }

    /// The run's events with a `seq` above `after`, in order: what a follower has not
    /// seen yet (one index range, not the whole history). With a key configured they
    /// are checked first (see [`super::event_chain`]): a history that is not what was
    /// committed is refused (`Tampered`, naming its first broken event).
    pub fn events_after(&self, run_id: &str, after: u64) -> Result<Vec<Event>, StoreError> {
        let mut out = Vec::new();
        self.each_event(run_id, after, |ev| {
            out.push(ev);
            Ok::<_, std::convert::Infallible>(())
        })?
        .unwrap_or_else(|never| match never {});
        Ok(out)
    }

    /// Whether the run's history is what was committed (with a key configured; without
    /// one there is nothing to check): `Tampered`, naming its first broken event, if not.
    pub fn check_events(&self, run_id: &str) -> Result<(), StoreError> {
        if !self.keys.configured() {
            return Ok(());
        }
        self.each_event(run_id, 0, |_| Ok::<_, std::convert::Infallible>(()))?
            .unwrap_or_else(|never| match never {});
        Ok(())
    }

    /// Hand the run's events with a `seq` above `after` to `f`, in order, one at a time
    /// as they are read: a reader that folds them (a replay) never holds the history,
    /// which a 100,000-step run makes half a million events long. With a key configured
    /// each event is checked before `f` sees it and the run's head mark once all are
    /// read, as [`Store::events_after`] checks them. `f`'s first error stops the events
    /// it is handed and comes back inside `Ok` once the whole history was checked: a
    /// history that is not what was committed (`Tampered`) says so first, whatever `f`
    /// made of the events before the break.
    pub fn each_event<E>(
        &self,
        run_id: &str,
        after: u64,
        mut f: impl FnMut(Event) -> Result<(), E>,
    ) -> Result<Result<(), E>, StoreError> {
        let mut folded: Result<(), E> = Ok(());
        let mut hand = |json: &str| -> Result<(), StoreError> {
            if folded.is_ok() {
                folded = f(serde_json::from_str(json)?);
            }
            Ok(())
        };
        if self.keys.configured() {
            let r = super::in_read_snapshot(&self.conn, |c| {
                checked_events_after(c, &self.keys, run_id, after, &mut hand)
            });
            self.ctx(r)?;
            return Ok(folded);
        }
        let r = (|| {
            let mut st = self.conn.prepare_cached(&format!(
                "SELECT e.json FROM {RUN_EVENTS} AND e.id > (r.key << 32) + ?2 ORDER BY e.id"
            ))?;
            let mut rows = st.query(params![run_id, after as i64])?;
            while let Some(r) = rows.next()? {
                hand(r.get_ref(0)?.as_str()?)?;
            }
            Ok(())
        })();
        self.ctx(r)?;
        Ok(folded)
    }

    /// Each step's last recorded output tail (of its latest attempt that has one), as
    /// of the run's last event (`read::catch_up::logs`).
    pub fn attempt_tails(
        &self,
        run_id: &str,
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let r = logs_now(&self.conn, run_id, None).map(|logs| {
            // By (step, attempt): later attempts come later and replace earlier ones.
            logs.into_iter()
                .filter_map(|((step, _), (_, tail))| Some((step, tail?)))
                .collect()
        });
        self.ctx(r)
    }

    /// The run as recorded, its state as readers show it now (see [`RunRecord::state`]).
    pub fn run(&self, run_id: &str) -> Result<RunRecord, StoreError> {
        let now = Timestamp::now();
        let r = self
            .conn
            .prepare_cached(&format!(
                "SELECT id, workflow, source_path, s.source_text, s.params_json, operator, state,
                        started_at, finished_at,
                        coalesce((SELECT e.seq FROM events e
                                  WHERE e.id BETWEEN runs.key << 32 AND (runs.key << 32) + 4294967295
                                  ORDER BY e.id DESC LIMIT 1), 0),
                        l.holder, l.heartbeat_at, l.taking_over, {REPLACED_SQL}
                 FROM runs JOIN run_sources s ON s.run_id = runs.id
                      LEFT JOIN leases l ON l.run_id = runs.id
                 WHERE id = ?1"
            ))
            .and_then(|mut st| {
                st.query_row([run_id], |r| {
                    let started_at = Timestamp(r.get(7)?);
                    let l = live(
                        &r.get::<_, String>(6)?,
                        (r.get(10)?, r.get(11)?, r.get(12)?),
                        r.get(13)?,
                        now,
                    );
                    Ok(RunRecord {
                        id: r.get(0)?,
                        workflow: r.get(1)?,
                        source_path: PathBuf::from(r.get::<_, String>(2)?),
                        source_text: r.get(3)?,
                        params_json: r.get(4)?,
                        operator: r.get(5)?,
                        state: l.state,
                        driven_by: l.driven_by,
                        started_at,
                        finished_at: opt_ts(r.get(8)?),
                        last_seq: r.get::<_, i64>(9)? as u64,
                    })
                })
                .optional()
            })
            .map_err(StoreError::from)
            .and_then(|o| o.ok_or_else(|| StoreError::NotFound(format!("run {run_id}"))));
        self.ctx(r)
    }

    /// The run's state as readers show it (recorded, or `interrupted` when its engine
    /// is gone) and the live engine driving it, now: [`Store::run`]'s, without the
    /// workflow text (megabytes for a 100,000-step run, read on every look of the
    /// console). What the console's followed view shows as the run's state.
    pub fn run_liveness(&self, run_id: &str) -> Result<Liveness, StoreError> {
        let now = Timestamp::now();
        // Cached: readers ask it often (the console at every look).
        let r = self
            .conn
            .prepare_cached(&format!(
                "SELECT runs.state, l.holder, l.heartbeat_at, l.taking_over, {REPLACED_SQL}
                 FROM runs LEFT JOIN leases l ON l.run_id = runs.id WHERE id = ?1"
            ))
            .and_then(|mut st| {
                st.query_row([run_id], |r| {
                    let cols = (r.get(1)?, r.get(2)?, r.get(3)?);
                    Ok(live(&r.get::<_, String>(0)?, cols, r.get(4)?, now))
                })
                .optional()
            })
            .map_err(StoreError::from)
            .and_then(|o| o.ok_or_else(|| StoreError::NotFound(format!("run {run_id}"))));
        self.ctx(r)
    }

    /// A unique prefix of a run id → the full id. An exact match wins.
    pub fn resolve_run(&self, prefix: &str) -> Result<String, StoreError> {
        self.resolve_in(Ids::Runs, prefix)
    }

    /// The ask a unique prefix of its id names (`ask-01jd…`, as `baton inbox` prints
    /// it), as [`Store::resolve_run`] finds a run.
    pub fn resolve_ask(&self, prefix: &str) -> Result<String, StoreError> {
        self.resolve_in(Ids::Asks, prefix)
    }

    fn resolve_in(&self, of: Ids, prefix: &str) -> Result<String, StoreError> {
        if prefix.is_empty() {
            return Err(StoreError::NotFound(format!("{} ``", of.noun())));
        }
        let r = (|| {
            // Range scan on the primary key; LIKE would treat `_` and `%` as wildcards.
            let mut upper = prefix.to_string();
            upper.push(char::MAX);
            let mut st = self.conn.prepare_cached(&format!(
                "SELECT id FROM {} WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT 11",
                of.table()
            ))?;
            let ids: Vec<String> = st
                .query_map(params![prefix, upper], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let ids: Vec<String> = ids.into_iter().filter(|i| i.starts_with(prefix)).collect();
            if ids.iter().any(|i| i == prefix) {
                return Ok(prefix.to_string());
            }
            match ids.len() {
                0 => Err(StoreError::NotFound(format!("{} `{prefix}`", of.noun()))),
                1 => Ok(ids.into_iter().next().unwrap_or_default()),
                _ => Err(StoreError::Ambiguous {
                    of: of.noun(),
                    prefix: prefix.to_string(),
                    matches: ids,
                }),
            }
        })();
        self.ctx(r)
    }

    /// The shortest prefix of run `id` that [`Store::resolve_run`] takes back to it
    /// (`model::run_prefix`: at least 8 characters): what `baton` prints for a run.
    /// Two index lookups, the ids sorted either side of it.
    pub fn run_prefix(&self, id: &str) -> Result<String, StoreError> {
        self.prefix_in(Ids::Runs, id)
    }

    /// The shortest prefix of ask `id` that [`Store::resolve_ask`] takes back to it
    /// (at least 8 characters, `ask-` among them): what `baton inbox` prints.
    pub fn ask_prefix(&self, id: &str) -> Result<String, StoreError> {
        self.prefix_in(Ids::Asks, id)
    }

    fn prefix_in(&self, of: Ids, id: &str) -> Result<String, StoreError> {
        let r = (|| {
            let mut near = Vec::with_capacity(2);
            let t = of.table();
            for sql in [
                format!("SELECT id FROM {t} WHERE id < ?1 ORDER BY id DESC LIMIT 1"),
                format!("SELECT id FROM {t} WHERE id > ?1 ORDER BY id LIMIT 1"),
            ] {
                let mut st = self.conn.prepare_cached(&sql)?;
                if let Some(other) = st.query_row([id], |r| r.get::<_, String>(0)).optional()? {
                    near.push(other);
                }
            }
            Ok(baton_model::run_prefix::prefix(id, near.iter().map(String::as_str)).to_string())
        })();
        self.ctx(r)
    }

    /// Every run, newest first, with step counts and health; states as readers show
    /// them now (see [`liveness::liveness`]).
    pub fn list_runs(&self) -> Result<Vec<RunSummary>, StoreError> {
        let r = self.summaries("ORDER BY started_at DESC, id DESC", []);
        self.ctx(r.map(|v| v.into_iter().map(|(s, _)| s).collect()))
    }

    /// The `n` newest runs, as [`Store::list_runs`] lists them (one index range).
    pub fn newest_runs(&self, n: usize) -> Result<Vec<RunSummary>, StoreError> {
        let r = self.summaries(
            "ORDER BY started_at DESC, id DESC LIMIT ?1",
            [i64::try_from(n).unwrap_or(i64::MAX)],
        );
        self.ctx(r.map(|v| v.into_iter().map(|(s, _)| s).collect()))
    }

    /// The runs among `ids` (those still in the store), as [`Store::list_runs`] lists
    /// them: what a reader holding a list reads again of the runs still going.
    pub fn runs_by_id(&self, ids: &[&str]) -> Result<Vec<RunSummary>, StoreError> {
        let mut out = Vec::new();
        for id in ids {
            let r = self.summaries("WHERE id = ?1", [id]);
            out.extend(self.ctx(r)?.into_iter().map(|(s, _)| s));
        }
        Ok(out)
    }

    /// What changed in the run list since `since` (`None`: everything): the runs
    /// created or changed since (newest first), or every run when `full` (the first
    /// read, or a run was deleted since); and the cursor to ask with next time. Reads
    /// the changed rows only (`runs_by_rev`), never every run.
    pub fn run_changes(&self, since: Option<RunsCursor>) -> Result<RunChanges, StoreError> {
        let r = super::in_read_snapshot(&self.conn, |c| {
            let cursor = runs_cursor(c)?;
            let deleted = cursor.deleted;
            let full = since.is_none_or(|s| s.deleted != deleted);
            let mut runs = match since {
                Some(s) if !full => self.summaries("WHERE rev > ?1", [s.rev])?,
                _ => self.summaries("", [])?,
            };
            runs.sort_by(|a, b| (b.0.started_at, &b.0.id).cmp(&(a.0.started_at, &a.0.id)));
            Ok(RunChanges {
                full,
                runs: runs.into_iter().map(|(s, _)| s).collect(),
                cursor,
            })
        });
        self.ctx(r)
    }

    /// Where the run list is now: a reader that starts from it reads what changes
    /// after (two index lookups).
    pub fn runs_cursor(&self) -> Result<RunsCursor, StoreError> {
        let r = runs_cursor(&self.conn);
        self.ctx(r)
    }

    /// Run summaries from `runs` (with their leases) under `tail` (a WHERE and ORDER
    /// BY), with their `rev`. A run that goes on has no counts on its row: they are
    /// its summary's (`store::summaries`).
    pub(crate) fn summaries(
        &self,
        tail: &str,
        p: impl rusqlite::Params,
    ) -> Result<Vec<(RunSummary, i64)>, StoreError> {
        let now = Timestamp::now();
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT id, workflow, state, operator, started_at, finished_at, l.holder,
                    l.heartbeat_at, steps_total, steps_done, health, rev,
                    CASE WHEN finished_at IS NULL THEN
                      (SELECT e.at FROM events e WHERE e.id BETWEEN runs.key << 32
                       AND (runs.key << 32) + 4294967295 ORDER BY e.id DESC LIMIT 1) END,
                    (SELECT f.from_run || ' ' || f.from_step FROM run_forks f WHERE f.run_id = runs.id),
                    l.taking_over, {REPLACED_SQL}, runs.labels,
                    (SELECT s.params_json FROM run_sources s WHERE s.run_id = runs.id),
                    (SELECT COUNT(*) FROM audit a WHERE a.run_id = runs.id AND a.action = 'note'),
                    (SELECT coalesce(t.workflow, '') || char(31) || e.idx || char(31) || e.kind
                            || char(31) || e.fate || char(31) || e.detail
                     FROM trigger_events e LEFT JOIN triggers t ON t.file = e.file AND t.idx = e.idx
                     WHERE e.run_id = runs.id ORDER BY e.recorded_at LIMIT 1)
             FROM runs LEFT JOIN leases l ON l.run_id = runs.id {tail}"
        ))?;
        let mut rows = st.query(p)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let kept: (Option<i64>, Option<i64>, Option<f64>) = (r.get(8)?, r.get(9)?, r.get(10)?);
            let c = match kept {
                (Some(total), Some(done), Some(health)) => Counts {
                    total: total as usize,
                    done: done as usize,
                    health,
                },
                _ => super::summaries::load(&self.conn, &id)?.counts(),
            };
            let beat: Option<i64> = r.get(7)?;
            let cols = (r.get(6)?, beat, r.get(14)?);
            let l = live(&r.get::<_, String>(2)?, cols, r.get(15)?, now);
            let finished_at = opt_ts(r.get(5)?);
            let rejected = reads_rejected(&self.conn, &id, l.state)?;
            // The engine's last sign of life, as `session::inspect` stops a view's clocks.
            let last_event: Option<i64> = r.get(12)?;
            let stopped_at = (l.state == RunState::Interrupted && finished_at.is_none())
                .then(|| last_event.max(beat).map(Timestamp))
                .flatten();
            let summary = RunSummary {
                id,
                workflow: r.get(1)?,
                state: l.state,
                driven_by: l.driven_by,
                operator: r.get(3)?,
                started_at: Timestamp(r.get(4)?),
                finished_at,
                stopped_at,
                steps_total: c.total,
                steps_done: c.done,
                health: Some(c.health),
                rejected,
                forked_from: r.get::<_, Option<String>>(13)?.and_then(|f| {
                    let (run, step) = f.split_once(' ')?;
                    Some(baton_model::view::ForkLink {
                        run: run.to_string(),
                        step: step.to_string(),
                    })
                }),
                labels: json_map(r.get(16)?),
                params: shown_params(json_map(r.get(17)?)),
                notes: usize::try_from(r.get::<_, i64>(18)?).unwrap_or(0),
                started_by: r
                    .get::<_, Option<String>>(19)?
                    .and_then(|t| trigger_mark(&t)),
            };
            out.push((summary, r.get(11)?));
        }
        Ok(out)
    }

    /// The file of the newest run of `workflow` started from another file than
    /// `source_path`, if any (`runs_by_workflow`): two files naming one workflow.
    pub fn other_source_of(
        &self,
        workflow: &str,
        source_path: &str,
    ) -> Result<Option<String>, StoreError> {
        let r = self
            .conn
            .prepare_cached(
                "SELECT source_path FROM runs WHERE workflow = ?1 AND source_path != ?2
                 ORDER BY started_at DESC LIMIT 1",
            )
            .and_then(|mut st| {
                st.query_row(params![workflow, source_path], |r| r.get(0))
                    .optional()
            })
            .map_err(StoreError::from);
        self.ctx(r)
    }

    /// The current state of one step, `None` if the run never mentioned it.
    pub fn step_state(&self, run_id: &str, step: &str) -> Result<Option<StepState>, StoreError> {
        // As of the run's last event: the rows may lag it (`catch_up`).
        let r = super::catch_up::step_now(&self.conn, run_id, step)
            .map(|o| o.map(|(s, _)| parse_step_state(&s)));
        self.ctx(r)
    }

    /// Log files of a step's attempts, by attempt. Attempts with no recorded path fall
    /// back to the conventional `<log_dir>/<step>.<attempt>.log` when that file exists.
    pub fn attempt_logs(
        &self,
        run_id: &str,
        step: &str,
    ) -> Result<Vec<(u32, PathBuf)>, StoreError> {
        // By attempt, as of the run's last event (`read::catch_up::logs`).
        let r = logs_now(&self.conn, run_id, Some(step)).map(|logs| {
            logs.into_iter()
                .map(|((_, n), (path, _))| (n, path))
                .collect::<Vec<_>>()
        });
        let rows = self.ctx(r)?;
        Ok(rows
            .into_iter()
            .filter_map(|(n, p)| match p {
                Some(p) => Some((n, PathBuf::from(p))),
                None => {
                    let p = self.log_path(run_id, step, n);
                    p.exists().then_some((n, p))
                }
            })
            .collect())
    }

    /// The newest audit row's id (0 in an empty store): where a reader of
    /// [`Store::audit_after`] starts, so that what was decided before it is not news.
    pub fn audit_head_id(&self) -> Result<i64, StoreError> {
        let r = self
            .conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM audit", [], |r| r.get(0))
            .map_err(StoreError::from);
        self.ctx(r)
    }

    /// The audit rows after row `after`, every run's and the schedules', oldest first,
    /// at most `limit` (a range of the primary key): the decisions the console shows
    /// as news (issue 45 point 5).
    pub fn audit_after(&self, after: i64, limit: usize) -> Result<Vec<AuditRow>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(&format!(
                "{AUDIT_SELECT} WHERE id > ?1 ORDER BY id LIMIT ?2"
            ))?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = st.query_map(params![after, limit], audit_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })();
        self.ctx(r)
    }

    /// The run's audit rows, oldest first.
    pub fn audit(&self, run_id: &str) -> Result<Vec<AuditRow>, StoreError> {
        let r = (|| {
            let mut st = self
                .conn
                .prepare_cached(&format!("{AUDIT_SELECT} WHERE run_id = ?1 ORDER BY id"))?;
            let rows = st.query_map([run_id], audit_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })();
        self.ctx(r)
    }
}

/// [`Store::each_event`] with every event's link, hash and key checked before `hand`
/// reads its text, and the run's head mark: event `after` (already checked by the
/// caller) anchors the new ones.
fn checked_events_after(
    c: &rusqlite::Connection,
    keys: &audit::AuditKeys,
    run_id: &str,
    after: u64,
    hand: &mut dyn FnMut(&str) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    use super::event_chain::{Break, Check};
    let tampered = |b: Break| StoreError::Tampered {
        run_id: run_id.to_string(),
        seq: b.seq,
        reason: b.reason,
    };
    let gone = || {
        tampered(Break {
            seq: after,
            reason: format!("event {after} is gone"),
        })
    };
    let mut st = c.prepare_cached(&format!(
        "SELECT {CHAIN_COLUMNS} FROM {RUN_EVENTS} AND e.id >= (r.key << 32) + ?2 ORDER BY e.id"
    ))?;
    let mut rows = st.query(params![run_id, after as i64])?;
    let mut check = (after == 0).then(|| Check::new(run_id, keys));
    while let Some(r) = rows.next()? {
        let ev = stored(r)?;
        let Some(c) = check.as_mut() else {
            // The anchor: the event the caller has.
            if ev.seq != after {
                return Err(gone());
            }
            check = Some(Check::after(run_id, keys, ev).map_err(tampered)?);
            continue;
        };
        let json = ev.json;
        c.push(ev).map_err(tampered)?;
        hand(json)?;
    }
    check
        .ok_or_else(gone)?
        .finish(audit::Heads::Keyed)
        .map(|_last| ())
        .map_err(tampered)
}

impl Store {
    /// Verify every signed decision again (all runs, or `run_id`'s) against the
    /// allowed signers its run recorded; see [`super::audit_signatures`].
    pub fn verify_signatures(&self, run_id: Option<&str>) -> Result<SignaturesVerdict, StoreError> {
        let r = (|| {
            // One run's rows alone are an index range (`audit_by_run`).
            let rows: Vec<AuditRow> = match run_id {
                Some(run) => self
                    .conn
                    .prepare(&format!("{AUDIT_SELECT} WHERE run_id = ?1 ORDER BY id"))?
                    .query_map([run], audit_row)?
                    .collect::<Result<_, _>>()?,
                None => self
                    .conn
                    .prepare(&format!("{AUDIT_SELECT} ORDER BY id"))?
                    .query_map([], audit_row)?
                    .collect::<Result<_, _>>()?,
            };
            Ok(super::audit_signatures::verify_signatures(rows, run_id))
        })();
        self.ctx(r)
    }
}

/// Whose ids a prefix is resolved among.
#[derive(Clone, Copy)]
enum Ids {
    Runs,
    Asks,
}

impl Ids {
    fn table(self) -> &'static str {
        match self {
            Ids::Runs => "runs",
            Ids::Asks => "asks",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Ids::Runs => "run",
            Ids::Asks => "ask",
        }
    }
}

/// A failed run reads rejected when a gate was rejected and no step failed otherwise
/// (`health::outcome`): read from its steps' states, for a failed run only.
fn reads_rejected(
    conn: &rusqlite::Connection,
    run_id: &str,
    state: RunState,
) -> rusqlite::Result<bool> {
    if state != RunState::Failed {
        return Ok(false);
    }
    let mut st = conn.prepare_cached("SELECT DISTINCT state FROM steps WHERE run_id = ?1")?;
    let states = st
        .query_map([run_id], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(baton_model::health::outcome::reads_rejected(
        state,
        states.iter().filter_map(|s| StepState::parse(s)),
    ))
}

/// A JSON object of strings from a column (`None`, or not such an object: empty).
fn json_map(text: Option<String>) -> std::collections::BTreeMap<String, String> {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// The params a list may show: a secret's (masked as it was recorded) never.
fn shown_params(
    mut params: std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, String> {
    params.retain(|_, v| !v.contains(baton_model::mask::MASK));
    params
}

/// The row's trigger event (`summaries`' last column: workflow, index, kind, fate and
/// detail, split by U+001F) as the run list carries it.
fn trigger_mark(t: &str) -> Option<baton_model::view::TriggerLink> {
    let mut f = t.splitn(5, '\u{1f}');
    let (workflow, idx, kind, fate) = (f.next()?, f.next()?, f.next()?, f.next()?);
    Some(baton_model::view::TriggerLink {
        trigger: crate::trigger_events::trigger_name(workflow, idx.parse().ok()?, kind),
        kind: kind.to_string(),
        event: f.next()?.to_string(),
        fate: fate.to_string(),
        run: None,
        why: None,
        events: Vec::new(),
    })
}
