//! Bursts in `--mix hands` (issue 81 points 3 and 6): events of a trigger that holds
//! them (`coalesce`: one run of every pending event; `debounce`: one run each, once
//! the trigger saw no new event for its quiet time), held on record pending by the
//! store's own `Store::pend_trigger_event` (a bounded queue, its overflow refused on
//! record) and fired by its own `Store::fire_pending`, by serves that die between
//! the pending and the fired (`before`, `in_transaction`, `after_commit`) or stop
//! between their read of the pending events and their firing while another serve
//! fires them. Played from a stream of the seed's own, so the other hands draw what
//! they drew. The ground truth: every event a serve answered pending, and every
//! firing a serve tried (its events and its run's id).
use super::Hands;
use crate::{Bug, SimError};
use baton_store::Store;
use baton_store::trigger_events::TriggerEvent;
use baton_store::trigger_pending::{FiredPending, Overflow, Pended};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The served file of the two burst triggers.
const FILE: &str = "bursts.toml";
/// Trigger 1 coalesces (files landing); trigger 2 debounces (webhook deliveries).
const COALESCE: u32 = 1;
const DEBOUNCE: u32 = 2;
/// Trigger 2's quiet time.
const QUIET_MS: i64 = 3_000;
/// Each trigger's `queue`.
const QUEUE: u32 = 5;
/// The bursts' stream of the seed (its own: the other hands' draws are unchanged).
const STREAM: u64 = 0x0b75_5257_0000_0000;
/// Where a serve dies while firing a burst.
const POINTS: [&str; 3] = ["before", "in_transaction", "after_commit"];

/// One event delivered to a burst trigger.
#[derive(Debug, Clone)]
pub(crate) struct HeldEvent {
    trigger: u32,
    key: String,
    detail: String,
    /// On record: answered pending, found held or fired before, or (a file's) refused
    /// over the queue. A webhook's refused over the queue is not: its sender may send
    /// it again.
    answered: bool,
}

/// A firing a serve tried: its trigger, the events it took, the run's id.
#[derive(Debug, Clone)]
pub(crate) struct Tried {
    trigger: u32,
    keys: Vec<String>,
    run: String,
}

/// A serve stopped between its read of a trigger's pending events and its firing:
/// its connection, and the batches it read.
struct Stalled {
    store: Store,
    trigger: u32,
    batches: Vec<Vec<String>>,
}

pub(crate) struct Bursts {
    rng: SmallRng,
    serve: Option<Store>,
    stalled: Option<Stalled>,
    pub(crate) held: Vec<HeldEvent>,
    pub(crate) tried: Vec<Tried>,
    made: u32,
}

/// The serve died inside `fire_pending`'s transaction.
struct Died;

impl Bursts {
    pub(crate) fn new(seed: u64) -> Bursts {
        Bursts {
            rng: SmallRng::seed_from_u64(seed ^ STREAM),
            serve: None,
            stalled: None,
            held: Vec::new(),
            tried: Vec::new(),
            made: 0,
        }
    }

    /// What broke of "each pending event fires at most once, every event of a burst
    /// names its one run, and every recorded event its run", read from the store at `db`.
    pub(crate) fn broken(&self, db: &Path) -> Result<Option<String>, SimError> {
        if self.held.is_empty() {
            return Ok(None);
        }
        let conn = rusqlite::Connection::open(db)?;
        let runs: BTreeSet<String> = conn
            .prepare("SELECT id FROM runs")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let rows: BTreeMap<(u32, String), (String, Option<String>)> = conn
            .prepare("SELECT idx, event_key, fate, run_id FROM trigger_events WHERE file = ?1")?
            .query_map([FILE], |r| {
                Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?)))
            })?
            .collect::<Result<_, _>>()?;
        let made: Vec<&Tried> = self
            .tried
            .iter()
            .filter(|t| runs.contains(&t.run))
            .collect();
        // Each pending event fires at most once: one made run at most took it.
        let mut fired: BTreeMap<(u32, &str), &str> = BTreeMap::new();
        for t in &made {
            for k in &t.keys {
                if let Some(first) = fired.insert((t.trigger, k), &t.run) {
                    return Ok(Some(format!(
                        "event {k} of trigger {} fired twice: runs {first} and {}",
                        t.trigger, t.run
                    )));
                }
            }
        }
        // Every event of a burst names its one run, and no run names an event it did
        // not take.
        for t in &made {
            let naming: BTreeSet<&String> = (rows.iter())
                .filter(|(_, (_, r))| r.as_deref() == Some(t.run.as_str()))
                .map(|((_, k), _)| k)
                .collect();
            let took: BTreeSet<&String> = t.keys.iter().collect();
            if naming != took {
                return Ok(Some(format!(
                    "run {} took {} event(s) of trigger {}, and {} row(s) name it",
                    t.run,
                    took.len(),
                    t.trigger,
                    naming.len()
                )));
            }
        }
        // Every recorded event names its run on record, or is pending, or says why not.
        for ((i, k), (fate, run)) in &rows {
            match (fate.as_str(), run) {
                ("pending" | "refused", None) => {}
                (_, Some(r)) if runs.contains(r) => {}
                _ => {
                    return Ok(Some(format!(
                        "event {k} of trigger {i} is `{fate}` with run {run:?}, which is not on record"
                    )));
                }
            }
        }
        // Every event a serve answered is on record.
        if let Some(e) = (self.held.iter())
            .find(|e| e.answered && !rows.contains_key(&(e.trigger, e.key.clone())))
        {
            return Ok(Some(format!(
                "event {} was answered and has no row",
                e.detail
            )));
        }
        Ok(None)
    }
}

impl Hands {
    /// One to three moves of the bursts' world: an event delivered (a new one, or one
    /// no serve answered yet, or one seen again), a serve looking at a trigger (firing
    /// what is due, or stopping before it fires), or a stopped serve going on.
    pub(super) fn burst_hand(&mut self) -> Result<(), SimError> {
        let moves = self.triggers.bursts.rng.random_range(1..=3);
        for _ in 0..moves {
            match self.triggers.bursts.rng.random_range(0..10) {
                0..5 => self.burst_event()?,
                5..8 => self.burst_look()?,
                _ => self.burst_resume()?,
            }
        }
        Ok(())
    }

    /// A serve of its own connection, started if none runs.
    fn burst_serve(&mut self) -> Result<&mut Store, SimError> {
        if self.triggers.bursts.serve.is_none() {
            let s = self.open_serve()?;
            self.triggers.bursts.serve = Some(s);
        }
        self.triggers
            .bursts
            .serve
            .as_mut()
            .ok_or_else(|| SimError::Accounts("the bursts' serve is not open".into()))
    }

    /// An event delivered to a burst trigger and held; the serve may die before it
    /// (the event is delivered again later) or after its record.
    fn burst_event(&mut self) -> Result<(), SimError> {
        let b = &mut self.triggers.bursts;
        let unanswered: Vec<usize> = (0..b.held.len()).filter(|&i| !b.held[i].answered).collect();
        let i = match b.rng.random_range(0..10) {
            0..4 if !unanswered.is_empty() => unanswered[b.rng.random_range(0..unanswered.len())],
            4..6 if !b.held.is_empty() => b.rng.random_range(0..b.held.len()),
            _ => {
                let n = b.held.len();
                let trigger = if b.rng.random_bool(0.5) {
                    COALESCE
                } else {
                    DEBOUNCE
                };
                let (key, detail) = match trigger {
                    COALESCE => (
                        format!("file:$DIR/drop/g{n}.csv:2049:{}:7:{}", 5000 + n, self.now.0),
                        format!("$DIR/drop/g{n}.csv"),
                    ),
                    _ => (
                        format!("body:{:016x}", b.rng.random::<u64>()),
                        format!("delivery h-{n}"),
                    ),
                };
                b.held.push(HeldEvent {
                    trigger,
                    key,
                    detail,
                    answered: false,
                });
                n
            }
        };
        let e = self.triggers.bursts.held[i].clone();
        if self.triggers.bursts.rng.random_range(0..6) == 0 {
            self.triggers.bursts.serve = None;
            self.history.push(format!(
                "  burst {}: the serve died before its record",
                e.detail
            ));
            return Ok(());
        }
        let ev = TriggerEvent {
            file: FILE,
            index: e.trigger,
            key: &e.key,
            kind: if e.trigger == COALESCE {
                "file"
            } else {
                "webhook"
            },
            detail: &e.detail,
            source_run: None,
            depth: 0,
        };
        let webhook = e.trigger == DEBOUNCE;
        let over = Overflow {
            workflow: "bursts",
            trigger: if webhook { "2" } else { "1" },
            delivery: webhook.then_some(e.detail.as_str()),
            keep: !webhook,
        };
        let pended =
            self.burst_serve()?
                .pend_trigger_event((&ev, &BTreeMap::new()), QUEUE, over)?;
        let full = matches!(pended, Pended::Full { .. });
        let said = match pended {
            Pended::Pending => "pending".to_string(),
            Pended::Already(row) => format!("held before ({}, run {:?})", row.fate, row.run_id),
            Pended::Full { .. } => "refused, the queue is full".to_string(),
        };
        if !(webhook && full) {
            self.triggers.bursts.held[i].answered = true;
        }
        self.history.push(format!("  burst {}: {said}", e.detail));
        if self.triggers.bursts.rng.random_range(0..5) == 0 {
            self.triggers.bursts.serve = None;
            self.history.push(format!(
                "  burst {}: the serve died after its record",
                e.detail
            ));
        }
        Ok(())
    }

    /// The batches of trigger `trigger`'s pending events due now, as the serve reads
    /// them (`session::serve::watching::bursts::due`): with the quiet time, none until
    /// its newest event is that old; every one in one batch (coalesce), or one each.
    fn burst_due(&mut self, trigger: u32) -> Result<Vec<Vec<String>>, SimError> {
        let now = self.now;
        let pending = self.burst_serve()?.pending_trigger_events(FILE, trigger)?;
        let Some(newest) = pending.iter().map(|e| e.row.at.0).max() else {
            return Ok(Vec::new());
        };
        if trigger == DEBOUNCE && now.0 < newest + QUIET_MS {
            return Ok(Vec::new());
        }
        let keys = pending.into_iter().map(|e| e.row.key);
        Ok(match trigger {
            COALESCE => vec![keys.collect()],
            _ => keys.map(|k| vec![k]).collect(),
        })
    }

    /// A serve looks at a burst trigger: it fires what is due (dying at a point the
    /// seed draws, one in two looks), or (one in four) stops after its read.
    fn burst_look(&mut self) -> Result<(), SimError> {
        let trigger = if self.triggers.bursts.rng.random_bool(0.5) {
            COALESCE
        } else {
            DEBOUNCE
        };
        let batches = self.burst_due(trigger)?;
        if batches.is_empty() {
            self.history
                .push(format!("  burst trigger {trigger}: nothing due"));
            return Ok(());
        }
        if self.triggers.bursts.stalled.is_none()
            && self.triggers.bursts.rng.random_range(0..4) == 0
        {
            if let Some(store) = self.triggers.bursts.serve.take() {
                self.history.push(format!(
                    "  burst trigger {trigger}: a serve read {} batch(es) and stopped",
                    batches.len()
                ));
                self.triggers.bursts.stalled = Some(Stalled {
                    store,
                    trigger,
                    batches,
                });
            }
            return Ok(());
        }
        for keys in batches {
            let dies = match self.triggers.bursts.rng.random_range(0..6) {
                p @ 0..3 => Some(POINTS[p as usize]),
                _ => None,
            };
            if !self.burst_fire(trigger, &keys, dies)? {
                break;
            }
        }
        Ok(())
    }

    /// The stopped serve goes on: it fires the batches it read, as it read them.
    fn burst_resume(&mut self) -> Result<(), SimError> {
        let Some(Stalled {
            store,
            trigger,
            batches,
        }) = self.triggers.bursts.stalled.take()
        else {
            return Ok(());
        };
        self.history.push(format!(
            "  burst trigger {trigger}: the stopped serve goes on"
        ));
        // Its own connection serves now; the one that served meanwhile is set aside.
        let other = self.triggers.bursts.serve.replace(store);
        for keys in batches {
            if !self.burst_fire(trigger, &keys, None)? {
                break;
            }
        }
        self.triggers.bursts.serve = other;
        Ok(())
    }

    /// Fire one batch as `fire_batch` does: one run of `keys`, each of their rows
    /// naming it, in one transaction; the serve may die at `dies`. `false`: it died.
    fn burst_fire(
        &mut self,
        trigger: u32,
        keys: &[String],
        dies: Option<&str>,
    ) -> Result<bool, SimError> {
        let b = &mut self.triggers.bursts;
        let run_id = format!("u{:03}", b.made);
        b.made += 1;
        b.tried.push(Tried {
            trigger,
            keys: keys.to_vec(),
            run: run_id.clone(),
        });
        let said = format!(
            "  burst trigger {trigger}: {} event(s) into run {run_id}",
            keys.len()
        );
        if dies == Some("before") {
            self.triggers.bursts.serve = None;
            self.history
                .push(format!("{said}: the serve died at `before`"));
            return Ok(false);
        }
        let (mut core, new_run) = self.new_triggered(&run_id);
        let now = self.now;
        let inside = dies == Some("in_transaction");
        let unchecked = self.config.bug == Some(Bug::FirePendingUnchecked);
        let db = self.db.clone();
        let serve = self.burst_serve()?;
        let fired = if unchecked {
            let (events, _) = crate::world::runs::split(core.start(now));
            serve.create_started_run(
                &new_run,
                super::triggers::HOLDER,
                &events,
                &core.state_summary(),
            )?;
            settle_unchecked(&db, trigger, keys, &run_id)?;
            Some(true)
        } else {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                serve.fire_pending(
                    (FILE, trigger),
                    keys,
                    &new_run,
                    (super::triggers::HOLDER, None),
                    |_| {
                        let (events, _) = crate::world::runs::split(core.start(now));
                        if inside {
                            std::panic::resume_unwind(Box::new(Died));
                        }
                        (events, core.state_summary())
                    },
                )
            }));
            match r {
                Ok(f) => Some(matches!(f?, FiredPending::Made { .. })),
                Err(e) if e.is::<Died>() => None,
                Err(e) => std::panic::resume_unwind(e),
            }
        };
        match fired {
            None => {
                self.triggers.bursts.serve = None;
                self.history
                    .push(format!("{said}: the serve died at `in_transaction`"));
                Ok(false)
            }
            Some(false) => {
                self.history
                    .push(format!("{said}: fired elsewhere, nothing made"));
                Ok(true)
            }
            Some(true) if dies == Some("after_commit") => {
                self.triggers.bursts.serve = None;
                self.history
                    .push(format!("{said}: made, the serve died at `after_commit`"));
                Ok(false)
            }
            Some(true) => {
                self.history.push(format!("{said}: made"));
                Ok(true)
            }
        }
    }
}

/// [`Bug::FirePendingUnchecked`]: the rows a serve read pending pointed at its run
/// whether or not another serve fired them since.
fn settle_unchecked(db: &Path, trigger: u32, keys: &[String], run: &str) -> Result<(), SimError> {
    let conn = rusqlite::Connection::open(db)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    for k in keys {
        conn.execute(
            "UPDATE trigger_events SET fate = 'started', run_id = ?4
             WHERE file = ?1 AND idx = ?2 AND event_key = ?3",
            rusqlite::params![FILE, trigger, k, run],
        )?;
    }
    Ok(())
}
