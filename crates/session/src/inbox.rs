//! What waits on a person across every run in the store (issue 28 point 1): the
//! store names the runs that may have something waiting (one indexed question,
//! `Store::runs_waiting_on_someone`), and each is read through the one read model
//! (the replayed core, kept current as events arrive, as the console follows a run);
//! `model::inbox` says what in it waits and whether `me` may decide it; the open asks
//! (`baton ask`) are read from the store beside them.
use super::follow::Follow;
use baton_model::Timestamp;
use baton_model::inbox::{self, Waiting};
use baton_store::{Store, StoreError};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The runs with something waiting, each followed (replayed once, then only its new
/// events applied): what the console re-reads every second stays cheap.
#[derive(Default)]
pub(crate) struct Inbox {
    runs: BTreeMap<String, Followed>,
}

#[derive(Default)]
struct Followed {
    follow: Follow,
    /// Its items as last read.
    items: Option<Vec<Waiting>>,
    /// Its state and who drove it at that read ([`Inbox::read`]'s looks): the items
    /// are read again when its events or these change.
    live: Option<(baton_model::RunState, Option<String>)>,
}

impl Inbox {
    /// Everything waiting on someone now, as `me` sees it, soonest deadline first. A
    /// run's items are read again when new events of it arrived or its liveness moved
    /// (its engine gone: `interrupted` with no new event); its clocks stop with its
    /// engine, and a deadline is a time, not a countdown.
    pub(crate) fn read(
        &mut self,
        store: &Store,
        me: &str,
        now: Timestamp,
    ) -> Result<Vec<Waiting>, StoreError> {
        self.look(store, me, now, false)
    }

    /// The same, a run's items read again only when new events of it arrived: what its
    /// events open and close (a gate, a budget gate) is current; what changes with no
    /// event (its engine gone: `interrupted`, a step to resume) is as of its last
    /// event. `baton serve`'s escalations look each second at every run.
    pub(crate) fn read_by_events(
        &mut self,
        store: &Store,
        me: &str,
        now: Timestamp,
    ) -> Result<Vec<Waiting>, StoreError> {
        self.look(store, me, now, true)
    }

    fn look(
        &mut self,
        store: &Store,
        me: &str,
        now: Timestamp,
        by_events: bool,
    ) -> Result<Vec<Waiting>, StoreError> {
        let ids = store.runs_waiting_on_someone()?;
        self.runs.retain(|id, _| ids.contains(id));
        let mut out = Vec::new();
        for id in ids {
            let f = self.runs.entry(id.clone()).or_default();
            let changed = if f.follow.run_id().is_some() {
                f.follow.update(store)
            } else {
                f.follow.open(store, &id);
                true
            };
            // One indexed read and, for an engine of this host, one look at its pid.
            let live = if by_events {
                None
            } else {
                let l = store.run_liveness(&id).ok();
                l.map(|l| (l.state, l.driven_by))
            };
            if let (false, true, Some(items)) = (changed, live == f.live, &f.items) {
                out.extend(items.iter().cloned());
                continue;
            }
            // A run that cannot be read (its history refused) shows nothing here;
            // `show` says why.
            let items: Vec<Waiting> = f
                .follow
                .waiting_at(store, now)
                .map(|view| inbox::waiting(&view, me))
                .unwrap_or_default();
            out.extend(items.iter().cloned());
            f.items = Some(items);
            f.live = live;
        }
        // Asks (`baton ask`) wait on the store itself, with or without an engine; one
        // whose deadline passed or whose asker is gone waits on nobody.
        for a in store.open_asks()? {
            let alive = baton_store::holder_alive(&a.asker.holder);
            if a.state_at(now, alive) == baton_model::ask::AskState::Open {
                out.push(baton_model::ask::waiting(&a, me, None));
            }
        }
        inbox::sort(&mut out);
        Ok(out)
    }
}

/// Everything waiting on someone in `store` now, as `me` sees it (`baton inbox`).
pub fn read(store: &Store, me: &str, now: Timestamp) -> Result<Vec<Waiting>, StoreError> {
    Inbox::default().read(store, me, now)
}

/// The console's feed of [`Inbox`]: read again when the store changes (and every
/// second, as the run list is), sent to the console only when it changed.
pub(super) struct Feed {
    inbox: Inbox,
    me: String,
    tx: tokio::sync::watch::Sender<Arc<Vec<Waiting>>>,
}

impl Feed {
    pub(super) fn new(
        store: &Store,
        me: &str,
    ) -> (Feed, tokio::sync::watch::Receiver<Arc<Vec<Waiting>>>) {
        let mut inbox = Inbox::default();
        let first = inbox.read(store, me, Timestamp::now()).unwrap_or_default();
        let (tx, rx) = tokio::sync::watch::channel(Arc::new(first));
        let feed = Feed {
            inbox,
            me: me.to_string(),
            tx,
        };
        (feed, rx)
    }

    pub(super) fn refresh(&mut self, store: &Store) {
        // Busy and the like: the next look tries again.
        if let Ok(items) = self.inbox.read(store, &self.me, Timestamp::now())
            && **self.tx.borrow() != items
        {
            let _ = self.tx.send(Arc::new(items));
        }
    }
}
