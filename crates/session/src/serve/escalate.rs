//! Escalation (`[[notify]] escalate = [{ after, to }, …]`): while a wait a block heard
//! open still waits (an approval gate, a budget gate, a step's ask: what `gate_opened`
//! tells of), `baton serve` tells the next block of the list once it has waited
//! `after`, once per step of the list, on record. Each send is two rows of the run's
//! audit chain: `escalation_due` (written before the send, with the key the target is
//! given) and `escalation_sent` (after the target took it). A send due on record and
//! not sent (a serve killed between the two rows) is first read back from a target
//! that keeps what it took (ntfy, Slack's Web API): found there, it is recorded
//! `escalation_found` and not sent again; else it is sent again with the same key (a
//! webhook that de-duplicates by `Idempotency-Key` sees one). A serve killed before the
//! first row has decided nothing, and sends it then. Which steps to record and send is
//! pure (`due`).
use baton_model::history::{AuditAction, Decision};
use baton_model::inbox::{WaitKind, Waiting};
use baton_model::{RunState, Timestamp};
use baton_store::Store;
use baton_workflow::{NotifyEvent, Plan};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How often the serve looks for escalations due.
pub(super) const EVERY: Duration = Duration::from_secs(1);
/// A send that failed is tried again after this long (its `escalation_due` stays).
const RETRY: Duration = Duration::from_secs(30);

/// What one step of a list needs now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// Not on record: record it due, then send.
    Record,
    /// Due on record, never sent (a serve died in between, or the target failed):
    /// send again with the same key.
    Resend,
}

/// For a gate opened at `opened`, at `now`, with each step's `after` and the steps
/// recorded due and sent (their indexes): what each step of the list needs, in order.
pub(crate) fn due(
    opened: Timestamp,
    now: Timestamp,
    afters: &[Duration],
    recorded: &[usize],
    sent: &[usize],
) -> Vec<(usize, Due)> {
    afters
        .iter()
        .enumerate()
        .filter(|(_, after)| opened.0.saturating_add(after.as_millis() as i64) <= now.0)
        .filter(|(k, _)| !sent.contains(k))
        .map(|(k, _)| {
            let d = if recorded.contains(&k) {
                Due::Resend
            } else {
                Due::Record
            };
            (k, d)
        })
        .collect()
}

/// The key of step `k` of block `block`'s list for the gate of `step` opened at
/// `opened`: what the rows and the target name the send by.
pub(crate) fn key(run_id: &str, step: &str, opened: Timestamp, block: usize, k: usize) -> String {
    format!("{run_id}/{step}/{}/{block}/{}", opened.0, k + 1)
}

/// One send to make.
struct Job {
    notifier: baton_workflow::Notifier,
    told: baton_engine::Escalated,
    state: RunState,
    dir: PathBuf,
    /// The block told, for the rows.
    to: String,
    /// Due on record and never sent: read the target back first.
    resend: bool,
    /// When the step fell due (the wait's opening and its `after`): no send of its key
    /// was made before.
    since: Timestamp,
}

/// The serve's escalations: the runs it follows (`inbox`, each replayed once), the
/// plans of those that wait, the keys known sent (read from the chain once), and when
/// each failed send may be tried again.
#[derive(Default)]
pub(crate) struct Escalations {
    inbox: crate::inbox::Inbox,
    plans: HashMap<String, Option<Arc<Plan>>>,
    done: HashSet<String>,
    retry_at: HashMap<String, tokio::time::Instant>,
}

/// Whether a wait of this kind escalates: what a person decides and `gate_opened` told
/// of (an approval gate, a budget gate, a run's step's ask). A step to mark, to resume
/// or held is told to no block when it starts waiting; an ask of no run has no
/// workflow and so no `[[notify]]`.
fn escalates(w: &Waiting) -> bool {
    match w.kind {
        WaitKind::Gate | WaitKind::Budget => true,
        WaitKind::Ask => !w.run_id.is_empty(),
        WaitKind::Mark | WaitKind::Resume | WaitKind::Held => false,
    }
}

/// What names the wait in its keys: its step, or for an ask its id (an ask and the gate
/// of one step are two waits).
fn what(w: &Waiting) -> &str {
    w.ask.as_deref().unwrap_or(&w.step)
}

impl Escalations {
    /// One look: record what is due, send it, record it sent. A store that cannot be
    /// read is said once on the serve's error output and looked at again next time.
    pub(crate) async fn pass(&mut self, db: &Path) {
        let jobs = match self.record_due(db, Timestamp::now()) {
            Ok(jobs) => jobs,
            Err(e) => {
                crate::stdio::errln!("serve: cannot look for escalations due: {e}");
                return;
            }
        };
        for job in jobs {
            baton_exec::failpoint::die_at("escalation-recorded", "notify");
            let key = job.told.key.clone();
            if job.resend && self.found(db, &job).await {
                continue;
            }
            let sent =
                baton_engine::notify_escalation(&job.notifier, &job.told, job.state, &job.dir)
                    .await;
            match sent {
                Ok(()) => {
                    baton_exec::failpoint::die_at("escalation-posted", "notify");
                    self.retry_at.remove(&key);
                    self.done.insert(key.clone());
                    if let Err(e) = record(db, &job, AuditAction::EscalationSent) {
                        crate::stdio::errln!(
                            "serve: escalation {key} sent, not recorded sent ({e}): it is sent again"
                        );
                    }
                }
                Err(why) => self.failed(&job, "failed", &why),
            }
        }
    }

    /// A send due again: whether its target already has it (then it is recorded
    /// `escalation_found` and not sent). A target that cannot be read now is tried
    /// again later, nothing sent meanwhile.
    async fn found(&mut self, db: &Path, job: &Job) -> bool {
        let heard =
            baton_engine::escalation_heard(&job.notifier, &job.told, job.since, &job.dir).await;
        match heard {
            Ok(baton_engine::Heard::Had) => {
                self.retry_at.remove(&job.told.key);
                self.done.insert(job.told.key.clone());
                if let Err(e) = record(db, job, AuditAction::EscalationFound) {
                    crate::stdio::errln!(
                        "serve: escalation {} found at its target, not recorded ({e}): it is read back again",
                        super::shown(&job.told.key)
                    );
                }
                true
            }
            Ok(baton_engine::Heard::NotHad | baton_engine::Heard::CannotTell) => false,
            Err(why) => {
                self.failed(job, "could not be read back", &why);
                true
            }
        }
    }

    /// Say why `job` failed and try it again after `RETRY`.
    fn failed(&mut self, job: &Job, how: &str, why: &baton_engine::NotTold) {
        let key = &job.told.key;
        self.retry_at
            .insert(key.clone(), tokio::time::Instant::now() + RETRY);
        crate::stdio::errln!(
            "serve: escalation {} of `{}` to `{}` {how}: {}; tried again in {}s",
            super::shown(key),
            super::shown(&job.told.step),
            super::shown(&job.to),
            super::shown(&why.to_string()),
            RETRY.as_secs()
        );
    }

    fn plan(&mut self, store: &Store, run_id: &str) -> Option<Arc<Plan>> {
        self.plans
            .entry(run_id.to_string())
            .or_insert_with(|| {
                let r = store.run(run_id).ok()?;
                let plan = baton_workflow::load_str(&r.source_text, &r.source_path).ok()?;
                let escalates = plan.notify.iter().any(|n| !n.escalate.is_empty());
                escalates.then(|| Arc::new(plan))
            })
            .clone()
    }

    /// Record each step due and not on record (`escalation_due`) and return every send
    /// to make now. A run's chain is read only when one of its steps is due and not
    /// known sent: a wait whose steps are all sent, or not yet due, costs no read.
    fn record_due(&mut self, db: &Path, now: Timestamp) -> Result<Vec<Job>, crate::SessionError> {
        let mut store = Store::open_existing(db)?;
        let mut jobs = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for w in self.inbox.read_by_events(&store, "", now)? {
            if !escalates(&w) {
                continue;
            }
            seen.push(w.run_id.clone());
            let Some(plan) = self.plan(&store, &w.run_id) else {
                continue;
            };
            let mut chain: Option<(Vec<String>, Vec<String>)> = None;
            for (b, block) in plan.notify.iter().enumerate() {
                if block.escalate.is_empty() || !block.on.contains(&NotifyEvent::GateOpened) {
                    continue;
                }
                let keys: Vec<String> = (0..block.escalate.len())
                    .map(|k| key(&w.run_id, what(&w), w.since, b, k))
                    .collect();
                let afters: Vec<Duration> = block.escalate.iter().map(|e| e.after).collect();
                let known = |keys: &[String], done: &HashSet<String>| -> Vec<usize> {
                    (0..keys.len())
                        .filter(|&k| done.contains(&keys[k]))
                        .collect()
                };
                if due(w.since, now, &afters, &[], &known(&keys, &self.done)).is_empty() {
                    continue;
                }
                let (recorded, sent) = match &chain {
                    Some(c) => c,
                    None => chain.insert(self.on_record(&store, &w.run_id)?),
                };
                let index = |list: &[String]| -> Vec<usize> {
                    (0..keys.len())
                        .filter(|&k| list.contains(&keys[k]))
                        .collect()
                };
                for (k, d) in due(w.since, now, &afters, &index(recorded), &index(sent)) {
                    let step = &block.escalate[k];
                    let Some(notifier) = plan
                        .notify
                        .iter()
                        .find(|n| n.name.as_deref() == Some(step.to.as_str()))
                    else {
                        continue;
                    };
                    let waiting = self
                        .retry_at
                        .get(&keys[k])
                        .is_some_and(|t| *t > tokio::time::Instant::now());
                    if d == Due::Resend && waiting {
                        continue;
                    }
                    let job = Job {
                        notifier: notifier.clone(),
                        told: baton_engine::Escalated {
                            run_id: w.run_id.clone(),
                            step: w.step.clone(),
                            prompt: w.prompt.clone(),
                            kind: w.kind,
                            ask: w.ask.clone(),
                            key: keys[k].clone(),
                        },
                        state: w.run_state,
                        dir: plan.base_dir.clone(),
                        to: step.to.clone(),
                        resend: d == Due::Resend,
                        since: Timestamp(w.since.0.saturating_add(step.after.as_millis() as i64)),
                    };
                    if d == Due::Record {
                        record_in(&mut store, &job, AuditAction::EscalationDue)?;
                    }
                    jobs.push(job);
                }
            }
        }
        // Only the runs with a wait open now: a run's plan is read once while it waits.
        self.plans.retain(|id, _| seen.contains(id));
        let of_seen = |k: &String| seen.iter().any(|id| k.starts_with(&format!("{id}/")));
        self.retry_at.retain(|k, _| of_seen(k));
        self.done.retain(of_seen);
        Ok(jobs)
    }

    /// The keys of run `run_id`'s chain recorded due, and those sent (or found at their
    /// target); the latter are known sent from now on.
    fn on_record(
        &mut self,
        store: &Store,
        run_id: &str,
    ) -> Result<(Vec<String>, Vec<String>), crate::SessionError> {
        let rows = store.audit(run_id)?;
        let keys = |actions: &[AuditAction]| -> Vec<String> {
            rows.iter()
                .filter(|r| actions.iter().any(|a| r.action == a.as_str()))
                .filter_map(|r| serde_json::from_str::<serde_json::Value>(&r.details).ok())
                .filter_map(|d| d["key"].as_str().map(str::to_string))
                .collect()
        };
        let recorded = keys(&[AuditAction::EscalationDue]);
        let sent = keys(&[AuditAction::EscalationSent, AuditAction::EscalationFound]);
        self.done.extend(sent.iter().cloned());
        Ok((recorded, sent))
    }
}

/// Looks for escalations at most every `EVERY`, one look at a time, each in a task of
/// its own: a slow target holds up no slot of the serve's loop.
pub(crate) struct Looker {
    state: Arc<tokio::sync::Mutex<Escalations>>,
    last: Option<tokio::time::Instant>,
}

impl Default for Looker {
    fn default() -> Looker {
        Looker {
            state: Arc::new(tokio::sync::Mutex::new(Escalations::default())),
            last: None,
        }
    }
}

impl Looker {
    pub(crate) fn tick(&mut self, db: &Path) {
        if self.last.is_some_and(|t| t.elapsed() < EVERY) {
            return;
        }
        // Still looking: the next tick tries again.
        let Ok(mut escalations) = self.state.clone().try_lock_owned() else {
            return;
        };
        self.last = Some(tokio::time::Instant::now());
        let db = db.to_path_buf();
        tokio::spawn(async move { escalations.pass(&db).await });
    }
}

fn record(db: &Path, job: &Job, action: AuditAction) -> Result<(), crate::SessionError> {
    let mut store = Store::open_existing(db)?;
    record_in(&mut store, job, action)
}

/// A row of `job`'s send on the run's audit chain.
fn record_in(store: &mut Store, job: &Job, action: AuditAction) -> Result<(), crate::SessionError> {
    let t = &job.told;
    let verb = match action {
        AuditAction::EscalationSent => "told",
        AuditAction::EscalationFound => "had told (read back: not sent again)",
        _ => "to tell",
    };
    let d = Decision {
        actor: baton_model::history::ENGINE.to_string(),
        action,
        step: Some(t.step.clone()),
        reason: None,
        summary: format!("escalation of `{}`: {verb} `{}`", t.step, job.to),
        details: json!({ "key": t.key, "to": job.to }),
    };
    store.record_on_chain(&t.run_id, &d)?;
    Ok(())
}

#[cfg(test)]
#[path = "escalate_tests.rs"]
mod tests;
