//! A parent cancelled by a takeover after its engine died cancels its children first.
//! With the parent's engine alive, its cancel stops the child's engine, which reads
//! the cancel on record ([`super::parent_cancelling`]) and cancels the child. A dead
//! engine's cancel is decided by the takeover and committed only once the leftovers
//! (the child's engine among them) are stopped, so that engine leaves its child
//! interrupted; the takeover's process then cancels each such child itself, as its
//! operator, before the parent's step ends. No row another account could write makes
//! a child cancelled: the parent's cancel is this process's own decision, the children
//! are the proven ones (`Store::proven_child_of`) and each is taken over as any run
//! is, by its starter only. The state rows read to skip an ended child can be
//! written by a group member: a forged one leaves that child as it was, interrupted.
use super::super::SessionError;
use super::super::prepare::Ready;
use baton_core::Effect;
use baton_model::{Command, EventKind};
use baton_store::Store;

/// The unended children that the takeover `ready` cancels before its own events are
/// committed: only when `ready` takes over a run whose engine died (`stale`) and
/// cancels it in this process (its `cancel_requested` among the effects it is yet to
/// commit), each proven child of a step whose attempt that made it had not ended on
/// record (its engine was the dead engine's step). The CLI's driver
/// (`host::drive_headless`) and the simulator's hand (crates/sim) both ask this.
pub fn to_cancel(store: &Store, ready: &Ready) -> Result<Vec<String>, SessionError> {
    let cancels = ready.initial.iter().any(|e| {
        matches!(e, Effect::Persist(ev) if matches!(ev.kind, EventKind::CancelRequested { .. }))
    });
    if !ready.stale || !cancels {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (step, _) in store.children_of(&ready.run_id)? {
        let (Some(child), _) = store.proven_child_of(&ready.run_id, &step)? else {
            continue;
        };
        let attempt = store.attempt_state(&ready.run_id, &step, child.attempt)?;
        let step_ended = attempt
            .as_deref()
            .is_some_and(|s| !matches!(s, "running" | "interrupted"));
        if step_ended || store.run_liveness(&child.run)?.state.is_final() {
            continue;
        }
        out.push(child.run);
    }
    Ok(out)
}

/// Child `run_id` of a run cancelled as [`to_cancel`] says, taken over by `operator`
/// (the caller's OS account: the CLI's process's) with a cancel that names its parent.
/// `None`: it ended meanwhile. A takeover as any: refused unless `operator` started it.
pub fn take_over(
    store: &mut Store,
    (run_id, parent): (&str, &str),
    operator: &str,
) -> Result<Option<Ready>, SessionError> {
    let cancel = Command::Cancel {
        operator: operator.to_string(),
        reason: Some(format!(
            "its parent run {parent} was cancelled after its engine died"
        )),
    };
    super::take_over_for(store, run_id, (&[], operator), Some(cancel), false)
}
