//! Escalation (`[[notify]] escalate = [{ after, to }, …]`): while a gate a block heard
//! open still waits, `baton serve` tells the next block of the list once the gate has
//! waited `after`, once per step of the list, on record. Each send is two rows of the
//! run's audit chain: `escalation_due` (written before the send, with the key the
//! target is given) and `escalation_sent` (after the target took it). A serve killed
//! between the two sends the step again when it starts (the same key: a webhook that
//! de-duplicates by `Idempotency-Key` sees one); one killed before the first row has
//! decided nothing, and sends it then. Which steps to record and send is pure (`due`).
use baton_model::history::{AuditAction, Decision};
use baton_model::inbox::WaitKind;
use baton_model::{RunState, Timestamp};
use baton_store::Store;
use baton_workflow::{NotifyEvent, Plan};
use serde_json::json;
use std::collections::HashMap;
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
    /// `(to, after)` for the rows.
    to: String,
}

/// The serve's escalations: the plans of the runs it looked at, and when each failed
/// send may be tried again.
#[derive(Default)]
pub(crate) struct Escalations {
    plans: HashMap<String, Option<Arc<Plan>>>,
    retry_at: HashMap<String, tokio::time::Instant>,
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
            let sent =
                baton_engine::notify_escalation(&job.notifier, &job.told, job.state, &job.dir)
                    .await;
            match sent {
                Ok(()) => {
                    self.retry_at.remove(&key);
                    if let Err(e) = record(db, &job, AuditAction::EscalationSent) {
                        crate::stdio::errln!(
                            "serve: escalation {key} sent, not recorded sent ({e}): it is sent again"
                        );
                    }
                }
                Err(why) => {
                    self.retry_at
                        .insert(key.clone(), tokio::time::Instant::now() + RETRY);
                    crate::stdio::errln!(
                        "serve: escalation {} of `{}` to `{}` failed: {}; tried again in {}s",
                        super::shown(&key),
                        super::shown(&job.told.step),
                        super::shown(&job.to),
                        super::shown(&why.to_string()),
                        RETRY.as_secs()
                    );
                }
            }
        }
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
    /// to make now.
    fn record_due(&mut self, db: &Path, now: Timestamp) -> Result<Vec<Job>, crate::SessionError> {
        let mut store = Store::open_existing(db)?;
        let mut jobs = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for w in crate::inbox::read(&store, "", now)? {
            if w.kind != WaitKind::Gate {
                continue;
            }
            seen.push(w.run_id.clone());
            let Some(plan) = self.plan(&store, &w.run_id) else {
                continue;
            };
            let rows = store.audit(&w.run_id)?;
            let on_record = |action: AuditAction| -> Vec<String> {
                rows.iter()
                    .filter(|r| r.action == action.as_str())
                    .filter_map(|r| serde_json::from_str::<serde_json::Value>(&r.details).ok())
                    .filter_map(|d| d["key"].as_str().map(str::to_string))
                    .collect()
            };
            let (recorded, sent) = (
                on_record(AuditAction::EscalationDue),
                on_record(AuditAction::EscalationSent),
            );
            for (b, block) in plan.notify.iter().enumerate() {
                if block.escalate.is_empty() || !block.on.contains(&NotifyEvent::GateOpened) {
                    continue;
                }
                let keys: Vec<String> = (0..block.escalate.len())
                    .map(|k| key(&w.run_id, &w.step, w.since, b, k))
                    .collect();
                let index = |list: &[String]| -> Vec<usize> {
                    (0..keys.len())
                        .filter(|&k| list.contains(&keys[k]))
                        .collect()
                };
                let afters: Vec<Duration> = block.escalate.iter().map(|e| e.after).collect();
                for (k, d) in due(w.since, now, &afters, &index(&recorded), &index(&sent)) {
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
                            key: keys[k].clone(),
                        },
                        state: w.run_state,
                        dir: plan.base_dir.clone(),
                        to: step.to.clone(),
                    };
                    if d == Due::Record {
                        record_in(&mut store, &job, AuditAction::EscalationDue)?;
                    }
                    jobs.push(job);
                }
            }
        }
        // Only the runs with a gate open now: a run's plan is read once while it waits.
        self.plans.retain(|id, _| seen.contains(id));
        self.retry_at
            .retain(|k, _| seen.iter().any(|id| k.starts_with(&format!("{id}/"))));
        Ok(jobs)
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
    let verb = if action == AuditAction::EscalationSent {
        "told"
    } else {
        "to tell"
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
