//! Webhook deliveries to a serve (issue 81): the listener's side hands each one to the
//! [`HookDesk`]; the serve's loop answers what it knows (the workflow served under a
//! name, its trigger) and makes the run. The checks between — the secret read from its
//! `[secrets]` source, the signature, the timestamp, the body's params — run on the
//! listener's task (`webhook`), so a slow secret command never holds the serve's loop.
//! A refusal is counted in the store (`trigger_refusals`) and answered; the secret is
//! never part of either.
use super::Catalog;
use super::events::{self, Fire};
use super::shown;
use crate::concurrency::Admission;
use crate::webhook::{self, Refusal};
use baton_model::Timestamp;
use baton_store::Store;
use baton_store::trigger_refusals::DeliveryRefused;
use baton_workflow::{EventSource, EventTrigger, Plan, Secret, SecretSource};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Deliveries waiting for the serve's loop; more are refused (503) until it catches up.
const QUEUE: usize = 64;

/// One delivery as the listener read it.
pub struct Delivery {
    pub workflow: String,
    pub trigger: String,
    /// The request's headers, names in lower case.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

/// What the sender is answered.
#[derive(Debug)]
pub enum HookAnswer {
    /// The run is on record; `again`: a delivery of this body made it before.
    Made {
        run_id: String,
        again: bool,
    },
    /// The event is on record, pending: its trigger coalesces or debounces, and its run
    /// is made when the burst is due. `again`: a delivery of this body was held before.
    Held {
        again: bool,
    },
    Refused(Refusal),
}

/// A webhook trigger served, as a delivery is checked against it.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub file: String,
    pub plan: Arc<Plan>,
    pub trigger: EventTrigger,
    /// The `[secrets]` entry the trigger names (`None`: the file has none of that name,
    /// which its load refused; kept to refuse a delivery, not to crash).
    pub secret: Option<Secret>,
    /// The workflow file's directory: a secret's relative path and command run there.
    pub dir: PathBuf,
}

/// A delivery checked, for the loop to make its run.
#[derive(Debug)]
pub(crate) struct Checked {
    pub target: Target,
    /// The event's key (`webhook::event_key`: the body's SHA-256).
    pub key: String,
    pub delivery: String,
    /// The body, parsed; its params checked (`webhook::params_of_body`).
    pub body: serde_json::Value,
}

#[derive(Debug)]
pub(crate) enum Call {
    Look {
        workflow: String,
        trigger: String,
        reply: oneshot::Sender<Option<Target>>,
    },
    Fire {
        checked: Box<Checked>,
        reply: oneshot::Sender<HookAnswer>,
    },
}

/// The listener's handle on the serve.
#[derive(Debug, Clone)]
pub struct HookDesk {
    tx: mpsc::Sender<Call>,
    db: PathBuf,
}

/// The serve's end: its loop takes the calls (`ServeOptions::hooks`).
pub struct HookInbox {
    pub(crate) rx: mpsc::Receiver<Call>,
}

/// A desk and its inbox, for a serve of the store at `db`.
pub fn hook_desk(db: &Path) -> (HookDesk, HookInbox) {
    let (tx, rx) = mpsc::channel(QUEUE);
    (
        HookDesk {
            tx,
            db: db.to_path_buf(),
        },
        HookInbox { rx },
    )
}

impl HookDesk {
    /// Check `d` and have its run made: the answer once the run is on record, or the
    /// refusal (counted).
    pub async fn deliver(&self, d: Delivery) -> HookAnswer {
        let delivery = webhook::delivery_id(&d.headers).ok();
        let target = self.look(&d.workflow, &d.trigger).await;
        let checked = match target {
            Err(r) => Err(r),
            Ok(None) => Err(Refusal::Unknown(format!("{}/{}", d.workflow, d.trigger))),
            Ok(Some(t)) => check(t, &d).await,
        };
        let checked = match checked {
            Ok(c) => c,
            Err(r) => {
                self.refused(&d.workflow, &d.trigger, &r, delivery.as_deref())
                    .await;
                return HookAnswer::Refused(r);
            }
        };
        let (reply, answer) = oneshot::channel();
        let sent = self.tx.try_send(Call::Fire {
            checked: Box::new(checked),
            reply,
        });
        let answer = match sent {
            Ok(()) => answer.await.unwrap_or_else(|_| {
                HookAnswer::Refused(Refusal::Unavailable("the serve is stopping".into()))
            }),
            Err(_) => HookAnswer::Refused(Refusal::Unavailable(
                "too many deliveries wait for the serve".into(),
            )),
        };
        match &answer {
            // Counted where the queue was looked at.
            HookAnswer::Refused(Refusal::QueueFull(_)) => {}
            HookAnswer::Refused(r) => {
                self.refused(&d.workflow, &d.trigger, r, delivery.as_deref())
                    .await;
            }
            // The crash tests' moment: the run on record, the sender not yet answered.
            HookAnswer::Made { .. } | HookAnswer::Held { .. } => {
                baton_exec::failpoint::die_at("hook-recorded", "webhook")
            }
        }
        answer
    }

    /// Count a refusal of a delivery to `workflow`/`trigger` (under empty names when no
    /// such webhook trigger is served: a name in a URL is the sender's, not baton's).
    pub async fn refused(
        &self,
        workflow: &str,
        trigger: &str,
        r: &Refusal,
        delivery: Option<&str>,
    ) {
        let known = matches!(self.look(workflow, trigger).await, Ok(Some(_)));
        let (wf, tr) = if known {
            (workflow.to_string(), trigger.to_string())
        } else {
            (String::new(), String::new())
        };
        let (reason, why) = (r.reason(), r.to_string());
        let delivery = delivery.map(str::to_string);
        let db = self.db.clone();
        let names = format!("{workflow}/{trigger}");
        crate::stdio::errln!(
            "serve: refused a delivery to {}: {}",
            shown(&names),
            shown(&why)
        );
        let done = tokio::task::spawn_blocking(move || {
            let mut store = Store::open(&db)?;
            store.record_delivery_refused(&DeliveryRefused {
                workflow: &wf,
                trigger: &tr,
                reason,
                why: &why,
                delivery: delivery.as_deref(),
                at: Timestamp::now(),
            })
        })
        .await;
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => crate::stdio::errln!("serve: cannot record the refusal: {e}"),
            Err(e) => crate::stdio::errln!("serve: cannot record the refusal: {e}"),
        }
    }

    /// The webhook trigger served under these names (`Err`: the serve is gone or busy).
    async fn look(&self, workflow: &str, trigger: &str) -> Result<Option<Target>, Refusal> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .try_send(Call::Look {
                workflow: workflow.to_string(),
                trigger: trigger.to_string(),
                reply,
            })
            .map_err(|_| Refusal::Unavailable("too many deliveries wait for the serve".into()))?;
        answer
            .await
            .map_err(|_| Refusal::Unavailable("the serve is stopping".into()))
    }
}

/// How long a trigger's secret `command` may run for a delivery (less if its own
/// `timeout` says so): the body has 5 s, and the whole request 10 s (the listener's
/// deadline), so a slow command is answered 503, not cut off unanswered.
const SECRET_BOUND: Duration = Duration::from_secs(4);

/// The checks of a delivery to `t`, in the order a sender fixes them: its delivery
/// id, its age, its signature's form, then its signature (the secret read now, from its
/// source: nothing costly before), its params. The event's key is its body's hash.
async fn check(t: Target, d: &Delivery) -> Result<Checked, Refusal> {
    let delivery = webhook::delivery_id(&d.headers)?;
    webhook::check_timestamp(
        d.headers.get(webhook::TIMESTAMP_HEADER).map(String::as_str),
        Timestamp::now(),
    )?;
    let signature = d.headers.get(webhook::SIGNATURE_HEADER).map(String::as_str);
    webhook::signature_form(signature)?;
    let secret = secret_of(&t).await?;
    webhook::verify_signature(secret.as_bytes(), &d.body, signature)?;
    let body = webhook::params_of_body(&d.body, &delivery, &t.trigger, &t.plan.params)?;
    Ok(Checked {
        target: t,
        key: webhook::event_key(&d.body),
        delivery,
        body,
    })
}

/// The trigger's secret, read from its source on a task of its own, a command bounded
/// by [`SECRET_BOUND`]: a connection dropped at its deadline leaves the read to end (the
/// command's process group killed then, `baton_exec::secrets`), never a process behind.
/// Why it cannot be read goes to the serve's log only; the sender gets fixed words.
async fn secret_of(t: &Target) -> Result<String, Refusal> {
    let names = format!(
        "{}/{}",
        t.plan.name,
        t.trigger.name.as_deref().unwrap_or_default()
    );
    let unreadable = |why: &str| {
        crate::stdio::errln!(
            "serve: webhook {}: the trigger's secret cannot be read: {}",
            shown(&names),
            shown(why)
        );
        Refusal::Secret
    };
    let Some(mut secret) = t.secret.clone() else {
        return Err(unreadable("the trigger names no [secrets] entry"));
    };
    if let SecretSource::Command { timeout, .. } = &mut secret.source {
        *timeout = (*timeout).min(SECRET_BOUND);
    }
    let dir = t.dir.clone();
    let read = tokio::spawn(async move {
        baton_exec::secrets::read_all(std::slice::from_ref(&secret), &dir).await
    })
    .await;
    match read {
        Ok(Ok(mut values)) if !values.is_empty() => Ok(values.swap_remove(0).1),
        Ok(Ok(_)) => Err(unreadable("nothing was read")),
        Ok(Err(e)) => Err(unreadable(&e.to_string())),
        Err(e) => Err(unreadable(&e.to_string())),
    }
}

/// The webhook trigger `trigger` (its `name`, or its index) of the workflow served as
/// `workflow`.
pub(crate) fn find(catalog: &Catalog, workflow: &str, trigger: &str) -> Option<Target> {
    let (file, entry) = catalog
        .entries
        .iter()
        .find(|(_, e)| e.plan.name == workflow)?;
    let t = entry.plan.triggers.iter().find(|t| {
        matches!(t.source, EventSource::Webhook { .. })
            && (t.name.as_deref() == Some(trigger) || t.index.to_string() == trigger)
    })?;
    let EventSource::Webhook { secret } = &t.source else {
        return None;
    };
    let dir = Path::new(file)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    Some(Target {
        file: file.clone(),
        plan: entry.plan.clone(),
        trigger: t.clone(),
        secret: entry
            .plan
            .secret_sources
            .iter()
            .find(|s| &s.name == secret)
            .cloned(),
        dir,
    })
}

/// The serve's loop takes one call: a look-up answered from the catalog, or a checked
/// delivery's run made, recorded and driven here, and its id answered.
pub(super) async fn take(
    call: Call,
    store: &mut Store,
    (catalog, opts): (&Catalog, &super::ServeOptions),
    starting: &mut super::Starting<'_>,
) {
    match call {
        Call::Look {
            workflow,
            trigger,
            reply,
        } => {
            let _ = reply.send(find(catalog, &workflow, &trigger));
        }
        Call::Fire { checked, reply } => {
            let answer = fire(store, (catalog, opts), &checked, starting).await;
            // A sender gone meanwhile (its deadline passed) retries with the same id,
            // and is answered with this run.
            let _ = reply.send(answer);
        }
    }
}

/// Make the run of a checked delivery, keyed by its body's hash (`events::fire_event`:
/// the event's row and its run in one transaction), so a delivery repeated (under any
/// delivery id), a serve killed at any point or a retry to the next serve never makes a
/// second run; one decided before answers with its run.
async fn fire(
    store: &mut Store,
    (catalog, opts): (&Catalog, &super::ServeOptions),
    c: &Checked,
    starting: &mut super::Starting<'_>,
) -> HookAnswer {
    let unavailable = |why: String| HookAnswer::Refused(Refusal::Unavailable(why));
    let Some(entry) = catalog.entries.get(&c.target.file) else {
        return HookAnswer::Refused(Refusal::Unknown(c.target.plan.name.clone()));
    };
    let at = events::At {
        file: &c.target.file,
        entry,
        trigger: &c.target.trigger,
    };
    let seen = events::Seen {
        key: c.key.clone(),
        detail: format!("delivery {}", c.delivery),
        source_run: None,
        // The first of a chain, as a file's event (`triggers.md`).
        depth: 1,
        values: events::Values::Webhook {
            delivery: c.delivery.clone(),
            body: c.body.clone(),
        },
    };
    if c.target.trigger.burst.holds() {
        return held(store, at, &seen, &c.delivery);
    }
    match events::fire_event(store, at, &seen, &opts.operator) {
        Ok(Fire::Made { ready, fate, group }) => {
            let run_id = ready.run_id.clone();
            crate::stdio::errln!(
                "serve: webhook {}/{}: delivery {} {fate} run {run_id}",
                c.target.plan.name,
                c.target.trigger.name.as_deref().unwrap_or_default(),
                shown(&c.delivery)
            );
            // The run is recorded with its lease: undriven here, the next serve takes
            // it over.
            match Store::open(&opts.db) {
                Ok(own) => starting.host(own, ready),
                Err(e) => crate::stdio::errln!("serve: cannot drive run {run_id}: {e}"),
            }
            if let Some((g, a)) = group
                && (!a.replaced.is_empty() || matches!(a.admission, Admission::Superseding { .. }))
            {
                tokio::spawn(super::firing::follow_ups(
                    opts.db.clone(),
                    opts.operator.clone(),
                    vec![(g, a, run_id.clone())],
                ));
            }
            HookAnswer::Made {
                run_id,
                again: false,
            }
        }
        Ok(Fire::Already(row)) => match row.run_id {
            Some(run_id) => HookAnswer::Made {
                run_id,
                again: true,
            },
            None => HookAnswer::Refused(Refusal::Recorded(
                row.why.unwrap_or_else(|| row.fate.clone()),
            )),
        },
        Ok(Fire::Refused { why }) => HookAnswer::Refused(Refusal::Recorded(why)),
        Err(e) => unavailable(e.to_string()),
    }
}

/// A checked delivery of a trigger that holds its events: on record pending (answered
/// 202, its run made when the burst is due), or refused (a full queue: 429, nothing of
/// it kept, so the sender may send it again once the queue drains).
fn held(store: &mut Store, at: events::At<'_>, seen: &events::Seen, delivery: &str) -> HookAnswer {
    use super::watching::bursts::{self, Held};
    match bursts::hold(store, at, seen, Some(delivery)) {
        Ok(Held::Pending) => {
            crate::stdio::errln!(
                "serve: webhook {}/{}: delivery {} is pending",
                at.entry.plan.name,
                at.trigger.name.as_deref().unwrap_or_default(),
                shown(delivery)
            );
            HookAnswer::Held { again: false }
        }
        Ok(Held::Already(row)) => match (row.run_id, row.fate.as_str()) {
            (Some(run_id), _) => HookAnswer::Made {
                run_id,
                again: true,
            },
            (None, "pending") => HookAnswer::Held { again: true },
            (None, fate) => HookAnswer::Refused(Refusal::Recorded(
                row.why.unwrap_or_else(|| fate.to_string()),
            )),
        },
        Ok(Held::Refused(why)) => HookAnswer::Refused(Refusal::Recorded(why)),
        Ok(Held::Full(why)) => HookAnswer::Refused(Refusal::QueueFull(why)),
        Err(e) => HookAnswer::Refused(Refusal::Unavailable(e.to_string())),
    }
}
