//! Events a trigger holds before they fire (`coalesce`, `debounce`, `queue`: issue 81
//! point 3). An event of such a trigger is recorded `pending` with what its `map` took
//! ([`hold`]); once the trigger's burst is due (at once with `coalesce` alone, else when
//! it saw no new event for `debounce`), [`due`] makes its runs: one run of every
//! pending event (`coalesce`), or one each. A pending row becomes its run's in the
//! transaction that makes the run (`Store::fire_pending`), so a serve killed while
//! events wait loses none, and the next one fires each once when it is due.
use crate::SessionError;
use crate::concurrency;
use crate::host;
use crate::prepare::{self, Ready, Unwritten};
use crate::serve::events::{At, Fire, NoRun, Prepared, Seen, refuse_event, unwritten};
use baton_engine::Opening;
use baton_model::Timestamp;
use baton_store::Store;
use baton_store::trigger_events::{EventRow, TriggerEvent};
use baton_store::trigger_pending::{FiredPending, Overflow, Pended, PendingEvent};
use baton_workflow::{MAX_TRIGGER_DEPTH, coalesced_params};
use std::collections::BTreeMap;

/// What [`hold`] did with an event.
pub(crate) enum Held {
    /// On record, pending.
    Pending,
    /// Decided or held before: nothing now.
    Already(Box<EventRow>),
    /// Refused on record, and why: the trigger paused, the chain too deep, or the
    /// event lacks what the trigger maps.
    Refused(String),
    /// Over the trigger's `queue`: refused on record (counted), and why.
    Full(String),
}

/// `WORKFLOW#N`'s `N`, or the trigger's name, as `baton_trigger_refusals_total` labels it.
fn trigger_label(at: At<'_>) -> String {
    at.trigger
        .name
        .clone()
        .unwrap_or_else(|| at.trigger.index.to_string())
}

/// Hold event `seen` of trigger `at` pending (its `map` taken now), or refuse it on
/// record. `delivery`: a webhook's id (an overflow then keeps no row: its sender is
/// answered and may send it again once the queue drains).
pub(crate) fn hold(
    store: &mut Store,
    at: At<'_>,
    seen: &Seen,
    delivery: Option<&str>,
) -> Result<Held, SessionError> {
    let t = at.trigger;
    let refuse = |store: &mut Store, why: String| -> Result<Held, SessionError> {
        Ok(match refuse_event(store, at, seen, &why)? {
            Fire::Already(row) => Held::Already(Box::new(row)),
            _ => Held::Refused(why),
        })
    };
    if store.trigger_paused(at.file, t.index)? {
        return refuse(store, "the trigger is paused".into());
    }
    if seen.depth > MAX_TRIGGER_DEPTH {
        return refuse(
            store,
            format!(
                "{} triggers in a row led here, more than {MAX_TRIGGER_DEPTH}: a cycle of triggers is stopped there",
                seen.depth
            ),
        );
    }
    let mut picked = BTreeMap::new();
    for (name, p) in &t.map {
        match seen.values.pick(p) {
            Some(v) => {
                picked.insert(name.clone(), v);
            }
            None => {
                return refuse(
                    store,
                    format!(
                        "param `{name}`: the event has no `{p}` (map it from what every such event has)"
                    ),
                );
            }
        }
    }
    let ev = TriggerEvent {
        file: at.file,
        index: t.index,
        key: &seen.key,
        kind: t.source.kind(),
        detail: &seen.detail,
        source_run: seen.source_run.as_deref(),
        depth: seen.depth,
    };
    let label = trigger_label(at);
    let over = Overflow {
        workflow: &at.entry.plan.name,
        trigger: &label,
        delivery,
        keep: delivery.is_none(),
    };
    Ok(
        match store.pend_trigger_event((&ev, &picked), t.burst.queue, over)? {
            Pended::Pending => Held::Pending,
            Pended::Already(row) => Held::Already(row),
            Pended::Full { why } => Held::Full(why),
        },
    )
}

/// Make the runs of trigger `at`'s pending events if they are due at `now`: with
/// `debounce`, once its newest event is that old; then one run of them all
/// (`coalesce`), or one run each. Each firing with the events it took, as the serve
/// says them.
pub(crate) fn due(
    store: &mut Store,
    at: At<'_>,
    operator: &str,
    now: Timestamp,
) -> Result<Vec<(Fire, String)>, SessionError> {
    let b = &at.trigger.burst;
    let pending = store.pending_trigger_events(at.file, at.trigger.index)?;
    let Some(newest) = pending.iter().map(|e| e.row.at).max() else {
        return Ok(Vec::new());
    };
    if let Some(d) = b.debounce {
        let quiet = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        if now.0 < newest.0.saturating_add(quiet) {
            return Ok(Vec::new());
        }
    }
    let batches: Vec<Vec<PendingEvent>> = if b.coalesce {
        vec![pending]
    } else {
        pending.into_iter().map(|e| vec![e]).collect()
    };
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        if let Some(fire) = fire_batch(store, at, &batch, operator)? {
            out.push((fire, said(&batch)));
        }
    }
    Ok(out)
}

/// How the serve's stderr names a burst's events.
fn said(batch: &[PendingEvent]) -> String {
    match batch {
        [one] => one.row.detail.clone(),
        many => format!(
            "{} events ({})",
            many.len(),
            many.iter()
                .map(|e| e.row.detail.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The params of a burst's run: the trigger's fixed ones, then each mapped one (a
/// coalesced run: the values of all its events, a JSON list).
fn params_of(at: At<'_>, batch: &[PendingEvent]) -> Result<Vec<(String, String)>, NoRun> {
    let t = at.trigger;
    if t.burst.coalesce {
        return coalesced_params(t, batch, |e, name, _| e.picked.get(name).cloned())
            .map_err(|e| NoRun(e.to_string()));
    }
    let mut out = t.params.clone();
    for e in batch {
        for (name, _) in &t.map {
            match e.picked.get(name) {
                Some(v) => out.push((name.clone(), v.clone())),
                None => {
                    return Err(NoRun(format!(
                        "param `{name}`: the event kept no value of it"
                    )));
                }
            }
        }
    }
    Ok(out)
}

/// The burst's run, not yet written, and its group; or why it makes none.
fn prepared(
    store: &Store,
    at: At<'_>,
    batch: &[PendingEvent],
    operator: &str,
) -> Result<Result<Prepared, NoRun>, SessionError> {
    if store.trigger_paused(at.file, at.trigger.index)? {
        return Ok(Err(NoRun("the trigger is paused".into())));
    }
    let params = match params_of(at, batch) {
        Ok(p) => p,
        Err(why) => return Ok(Err(why)),
    };
    unwritten(store, at, params, operator)
}

/// Make one run of `batch` (each of its rows naming it, one transaction), or record
/// why none; `None`: another serve fired one of them first (what is left is read
/// again at the next look).
fn fire_batch(
    store: &mut Store,
    at: At<'_>,
    batch: &[PendingEvent],
    operator: &str,
) -> Result<Option<Fire>, SessionError> {
    let keys: Vec<String> = batch.iter().map(|e| e.row.key.clone()).collect();
    let spot = (at.file, at.trigger.index);
    let (u, group) = match prepared(store, at, batch, operator)? {
        Ok(p) => p,
        Err(NoRun(why)) => {
            store.refuse_pending(spot, &keys, &why)?;
            return Ok(Some(Fire::Refused { why }));
        }
    };
    let Unwritten {
        new_run,
        mut core,
        workflow,
    } = u;
    let joining = group.as_ref().map(concurrency::joining);
    let mut initial = Vec::new();
    let fired = store.fire_pending(
        spot,
        &keys,
        &new_run,
        (&host::lease_holder(), joining.as_ref()),
        |verdict| {
            let opening = group
                .as_ref()
                .map_or(Opening::Run, |g| concurrency::opening(g, verdict));
            let (committed, rest) =
                prepare::split_persisted(core.start_as(opening, Timestamp::now()));
            initial = rest;
            (committed, core.state_summary())
        },
    )?;
    let (decision, committed) = match fired {
        FiredPending::Gone => return Ok(None),
        FiredPending::Made { decision, events } => (decision, events),
    };
    let admitted = group.map(|g| {
        let a = concurrency::admitted_of(decision, &g);
        (g, a)
    });
    let fate = admitted
        .as_ref()
        .map_or("started", |(_, a)| a.admission.word());
    let ready = Ready {
        run_id: new_run.id.clone(),
        workflow,
        core,
        initial,
        committed,
        stale: false,
    };
    Ok(Some(Fire::Made {
        ready,
        fate,
        group: admitted,
    }))
}
