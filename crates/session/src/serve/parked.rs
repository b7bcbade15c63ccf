//! Queued runs the serve keeps without an engine (issue 41 point 4): a run of
//! `overlap = "queue"` (or of a group that queues) waits for its group holding no store
//! connection and no descriptor of its own. One task watches every parked run through
//! one connection, opened while some run is parked and closed once none is: it renews
//! their leases (a parked run reads as queued, not interrupted, and keeps its place in
//! its group's line) and gives a run its engine once its group is its, or once a
//! command waits for it (a cancel replacing it, `max_pending`; an operator's).
use crate::host::{self, Hosted};
use crate::prepare::Ready;
use baton_model::Timestamp;
use baton_store::Store;
use baton_store::slots::Turn;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How often the parked runs' groups and commands are looked at.
const POLL: Duration = Duration::from_millis(200);
/// How often their leases are renewed (well within `LEASE_STALE`).
const HEARTBEAT: Duration = Duration::from_secs(2);

pub(super) struct Parking {
    park: Option<mpsc::UnboundedSender<Ready>>,
    woken: mpsc::UnboundedReceiver<Hosted>,
    task: Option<JoinHandle<()>>,
}

impl Parking {
    /// The watcher of the store at `db`, on the current runtime.
    pub(super) fn spawn(db: PathBuf) -> Parking {
        let (park, parked) = mpsc::unbounded_channel();
        let (woke, woken) = mpsc::unbounded_channel();
        let task = tokio::spawn(watch(db, parked, woke));
        Parking {
            park: Some(park),
            woken,
            task: Some(task),
        }
    }

    /// Keep `ready` (a queued run, its lease held by this process) until its turn.
    pub(super) fn park(&self, ready: Ready) {
        if let Some(p) = &self.park {
            let _ = p.send(ready);
        }
    }

    /// The next run given its engine (driven already: the serve keeps it with its own).
    pub(super) async fn woken(&mut self) -> Option<Hosted> {
        self.woken.recv().await
    }

    /// Stop watching: each run still parked lets its lease go (the next serve resumes
    /// it, queued again); the runs given an engine meanwhile are returned.
    pub(super) async fn stop(mut self) -> Vec<Hosted> {
        self.park = None;
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        let mut out = Vec::new();
        while let Ok(h) = self.woken.try_recv() {
            out.push(h);
        }
        out
    }
}

/// A run parked, and when its lease was last renewed.
struct Waiting {
    ready: Ready,
    beat: Instant,
}

async fn watch(
    db: PathBuf,
    mut parked: mpsc::UnboundedReceiver<Ready>,
    woke: mpsc::UnboundedSender<Hosted>,
) {
    let holder = host::lease_holder();
    let mut waiting: Vec<Waiting> = Vec::new();
    let mut store: Option<Store> = None;
    loop {
        tokio::select! {
            r = parked.recv() => match r {
                Some(ready) => waiting.push(Waiting { ready, beat: Instant::now() }),
                None => break,
            },
            _ = tokio::time::sleep(POLL), if !waiting.is_empty() => {}
        }
        if waiting.is_empty() {
            // Nothing waits: no connection either.
            store = None;
            continue;
        }
        if store.is_none() {
            match Store::open(&db) {
                Ok(s) => store = Some(s),
                Err(e) => crate::stdio::errln!("serve: cannot look at the queued runs: {e}"),
            }
        }
        let Some(s) = store.as_mut() else {
            continue;
        };
        let mut i = 0;
        while i < waiting.len() {
            let id = waiting[i].ready.run_id.clone();
            if waiting[i].beat.elapsed() >= HEARTBEAT {
                waiting[i].beat = Instant::now();
                if let Err(e) = s.heartbeat(&id, &holder, Timestamp::now()) {
                    crate::stdio::errln!(
                        "serve: queued run {id} lost its lease ({e}); left to its new holder"
                    );
                    waiting.remove(i);
                    continue;
                }
            }
            // Its turn (the group is its now, or it was replaced in line and ends), or
            // a command for its engine to take.
            let wake = matches!(s.admit_queued(&id), Ok(Turn::Holds(_) | Turn::Replaced(_)))
                || s.has_open_commands(&id).unwrap_or(false);
            if !wake {
                i += 1;
                continue;
            }
            let Waiting { ready, .. } = waiting.remove(i);
            match Store::open(&db) {
                Ok(own) => {
                    let _ = woke.send(Hosted::spawn(own, ready));
                }
                Err(e) => {
                    crate::stdio::errln!(
                        "serve: queued run {id} cannot be driven: {e}; it is resumed by the next serve"
                    );
                    let _ = s.release_lease(&id, &holder);
                }
            }
        }
    }
    if let Some(s) = store.as_mut() {
        for w in &waiting {
            let _ = s.release_lease(&w.ready.run_id, &holder);
        }
    }
}
