//! A parent cancelled by a takeover after its engine died cancels its children first.
//! With the parent's engine alive, its cancel stops the child's engine, which reads
//! the cancel on record ([`super::parent_cancelling`]) and cancels the child. A dead
//! engine's cancel is decided by the takeover and committed only once the leftovers
//! (the child's engine among them) are stopped, so that engine leaves its child
//! interrupted; the takeover's process then cancels each such child itself, as its
//! operator, before the parent's step ends. No row another account could write makes
//! a child cancelled: the parent's cancel is this process's own decision, the children
//! are the proven ones (`Store::proven_child_of`) and each is taken over as any run
//! is, by its starter only ([`attempt`], the one decision the CLI and the simulator
//! call; a child it cannot take is left, and the parent's cancel goes on). While an
//! engine holds a child, the parent's lease is renewed as its looks go ([`Waiting`]).
//! The state rows read to skip an ended child can be written by a group member: a
//! forged one leaves that child as it was, interrupted.
use super::super::SessionError;
use super::super::prepare::Ready;
use super::{HANDOVER_WAIT, Handover};
use baton_core::Effect;
use baton_engine::wake::hold::beat_due;
use baton_model::{Command, EventKind, Timestamp};
use baton_store::Store;
use std::time::Duration;

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

/// What one attempt to take a child over for its parent's cancel came to: the one
/// decision of both worlds, the CLI's (`host::cancel_children`) and the simulator's
/// (crates/sim), each scheduling only what it says.
pub enum Attempted {
    /// Taken over with the cancel: the caller drives it to its end.
    Taken(Box<Ready>),
    /// It ended meanwhile: nothing to cancel.
    Ended,
    /// Another live engine holds it (`holder`): look again.
    Driven { holder: String },
    /// Not cancelled here, for the reason given: named, left as it is, and the
    /// parent's cancel goes on. A refusal (ended or cancelling on record, rows a group
    /// member can write; a child another account started), a child that does not
    /// replay, or one still held once [`HANDOVER_WAIT`] has passed.
    Left(Box<SessionError>),
}

/// Child `child` of `parent`, a run cancelled as [`to_cancel`] says, taken over by
/// `operator` (the caller's OS account: the CLI's process's) with a cancel that names
/// its parent, refused unless `operator` started it; `waited`: how long the parent's
/// cancel has waited for it. Nothing of a child stops its parent's cancel: what
/// fails of it leaves it.
pub fn attempt(
    store: &mut Store,
    (child, parent): (&str, &str),
    operator: &str,
    waited: Duration,
) -> Attempted {
    let cancel = Command::Cancel {
        operator: operator.to_string(),
        reason: Some(format!(
            "its parent run {parent} was cancelled after its engine died"
        )),
    };
    match super::take_once(store, child, (&[], operator), Some(cancel), false) {
        Ok(Handover::Taken(ready)) => Attempted::Taken(ready),
        Ok(Handover::Ended) => Attempted::Ended,
        Ok(Handover::Driven { holder }) if waited < HANDOVER_WAIT => Attempted::Driven { holder },
        Ok(Handover::Driven { holder }) => Attempted::Left(Box::new(SessionError::Driven {
            run_id: child.to_string(),
            holder,
        })),
        Err(e) => Attempted::Left(Box::new(e)),
    }
}

/// What a parent's cancel says of child `child` of `parent` it leaves as it is, for
/// why (`Attempted::Left`): the CLI's line on standard error, the simulator's history.
pub fn left_line(child: &str, parent: &str, why: &SessionError) -> String {
    format!("child run {child} of run {parent} is left as it is, not cancelled here: {why}")
}

/// A parent's cancel waiting to take its child over: each [`Waiting::look`] renews the
/// parent's lease once a heartbeat has passed (`wake::hold::beat_due`, as an engine
/// renews the runs it drives), then [`attempt`]s the child. Time is this thread's
/// world's (`Timestamp::now`): the wall's, or the simulator's. Without the renewal
/// the parent's lease, taken by its takeover, goes stale (`LEASE_STALE`) while a
/// child is held, and another takeover could take the parent mid-cancel.
#[derive(Debug)]
pub struct Waiting {
    child: String,
    parent: String,
    operator: String,
    started: Timestamp,
    renewed: Option<Timestamp>,
}

impl Waiting {
    /// Child `child` of `parent`, taken over as `operator`; the wait starts now.
    pub fn new((child, parent): (&str, &str), operator: &str) -> Waiting {
        Waiting {
            child: child.to_string(),
            parent: parent.to_string(),
            operator: operator.to_string(),
            started: Timestamp::now(),
            renewed: None,
        }
    }

    /// One look: the parent's lease renewed when due (the first look renews it: the
    /// leftovers' stop may have taken seconds since the takeover), then [`attempt`].
    /// An error: the parent's lease is lost or the store failed; the cancel stops.
    pub fn look(&mut self, store: &mut Store) -> Result<Attempted, SessionError> {
        let now = Timestamp::now();
        if self.renewed.is_none_or(|at| beat_due(now.since(at))) {
            store.heartbeat(&self.parent, &super::super::lease_holder(), now)?;
            self.renewed = Some(now);
        }
        let pair = (self.child.as_str(), self.parent.as_str());
        Ok(attempt(
            store,
            pair,
            &self.operator,
            now.since(self.started),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_model::faults::{Faults, Point, install};
    use std::cell::Cell;
    use std::rc::Rc;

    /// This thread's clock, moved by the test.
    struct Clock(Cell<i64>);

    impl Faults for Clock {
        fn now(&self) -> Timestamp {
            Timestamp(self.0.get())
        }
        fn dies_at(&self, _: Point<'_>) -> bool {
            false
        }
    }

    /// Another engine's lease (a host of its own: alive while it beats).
    const OTHER: &str = "pid 7 on another-host";
    const T0: i64 = 1_000_000;

    /// A run of a one-step workflow started by `operator`, as `baton run` records it,
    /// its lease let go: its id.
    fn started(store: &mut Store, dir: &std::path::Path, operator: &str) -> String {
        let wf = dir.join("w.toml");
        std::fs::write(
            &wf,
            "name = \"w\"\n[[step]]\nid = \"build\"\nrun = \"true\"\n",
        )
        .expect("workflow");
        let loaded = crate::prepare::load_new(crate::prepare::NewRunSpec {
            workflow: wf,
            operator: operator.into(),
            ..Default::default()
        });
        let ready = super::super::create(store, loaded.expect("loads")).expect("made");
        let me = crate::lease_holder();
        store.release_lease(&ready.run_id, &me).expect("let go");
        ready.run_id
    }

    /// The wait's shape on an injected clock (the thread's door): a child another
    /// engine holds is `Driven` at each look, the parent's lease renewed once a
    /// heartbeat has passed (never older than one at a look, however long the wait,
    /// which outlasts `LEASE_STALE`), and `Left` once `HANDOVER_WAIT` has passed; let go,
    /// it is refused to another account than its starter's (left) and taken over, the
    /// cancel applied, by its starter.
    #[test]
    fn a_held_child_is_waited_for_with_the_parent_s_lease_renewed() {
        let clock = Rc::new(Clock(Cell::new(T0)));
        install(Some(clock.clone()));
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("b.db")).expect("store");
        let parent = started(&mut store, dir.path(), "ana");
        let child = started(&mut store, dir.path(), "ana");
        let me = crate::lease_holder();
        let (now, stale) = (Timestamp(T0), baton_model::LEASE_STALE);
        store
            .acquire_lease(&parent, &me, now, stale)
            .expect("lease");
        store
            .acquire_lease(&child, OTHER, now, stale)
            .expect("lease");
        let pair = (child.as_str(), parent.as_str());
        let mut waiting = Waiting::new(pair, "ana");
        let step = Duration::from_millis(700);
        let mut looks = 0;
        let left = loop {
            let now = Timestamp::now();
            store
                .heartbeat(&child, OTHER, now)
                .expect("its engine beats");
            let look = waiting.look(&mut store).expect("a look");
            let lease = store.lease(&parent).expect("read").expect("held");
            assert_eq!(lease.holder, me);
            assert!(now.since(lease.heartbeat_at) < baton_engine::wake::hold::HEARTBEAT);
            match look {
                Attempted::Driven { holder } => assert_eq!(holder, OTHER),
                Attempted::Left(e) => break e,
                _ => panic!("look {looks}: taken or ended while held"),
            }
            looks += 1;
            clock.0.set(clock.0.get() + step.as_millis() as i64);
        };
        assert!(matches!(*left, SessionError::Driven { .. }), "{left}");
        let waited = Duration::from_millis(looks * step.as_millis() as u64);
        assert!(waited >= HANDOVER_WAIT && waited < HANDOVER_WAIT + step);
        // Let go: another account is refused, its starter takes it with the cancel.
        store.release_lease(&child, OTHER).expect("let go");
        let refused = attempt(&mut store, pair, "bob", Duration::ZERO);
        assert!(
            matches!(&refused, Attempted::Left(e) if matches!(**e, SessionError::Refused { .. })),
            "bob took ana's child"
        );
        let taken = Waiting::new(pair, "ana").look(&mut store);
        let ready = match taken.expect("a look") {
            Attempted::Taken(ready) => ready,
            Attempted::Left(e) => panic!("its starter did not take it over: {e}"),
            _ => panic!("its starter did not take it over"),
        };
        let cancels = ready.initial.iter().any(|e| {
            matches!(e, Effect::Persist(ev) if matches!(ev.kind, EventKind::CancelRequested { .. }))
        });
        assert!(cancels, "taken over without its cancel");
        install(None);
    }
}
