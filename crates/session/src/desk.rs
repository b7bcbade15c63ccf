//! A console over several stores (issue 59 points 3 and 4: `baton tui --store A
//! --store B`, `--all-stores`): one `ConsoleLink` joined out of each store's (each a
//! `link_client` link, to a store on this machine or on another host alike). The runs
//! and what waits are every store's, each run known by its store (`baton_link::Desk`);
//! a request goes to the store of its run (`baton_link::desk::route`), the shown run's
//! view and header are its store's. What to show and where to send is decided by the
//! pure functions of `baton_link::desk`; this is their shell: tasks and channels.
use baton_link::desk::{self, NewsMerge, Route};
use baton_link::{ConsoleLink, ConsoleRequest, Desk, Expected, StoreStatus, wire};
use baton_model::Refusal;
use baton_model::inbox::Waiting;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// Which of a store's watched values changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    View,
    Lists,
    Driven,
    Schedules,
    News,
    Expected,
    Store,
}

/// The joined link's senders.
struct Outs {
    view: watch::Sender<Arc<baton_model::RunView>>,
    runs: watch::Sender<baton_model::SharedRuns>,
    runs_complete: watch::Sender<bool>,
    driven: watch::Sender<Arc<Vec<String>>>,
    waiting: watch::Sender<Arc<Vec<Waiting>>>,
    schedules: watch::Sender<Arc<baton_link::Board>>,
    news: watch::Sender<Arc<Vec<baton_link::News>>>,
    expected: watch::Sender<Arc<Expected>>,
    store: watch::Sender<Option<Arc<StoreStatus>>>,
    desk: watch::Sender<Arc<Desk>>,
}

/// One link over every store of `members`, in their order (the first one's run shown
/// first). A store whose link is down keeps its state in the desk and hides no other.
pub fn join(members: Vec<ConsoleLink>) -> ConsoleLink {
    let first = |m: Option<&ConsoleLink>| m.map(|m| m.view.borrow().clone());
    let view0 =
        first(members.first()).unwrap_or_else(|| Arc::new(super::follow::empty_view("no store")));
    let (view_tx, view) = watch::channel(view0);
    let (runs_tx, runs) = watch::channel(Arc::new(Vec::new()));
    let (complete_tx, runs_complete) = watch::channel(false);
    let (driven_tx, driven) = watch::channel(Arc::new(Vec::new()));
    let (waiting_tx, waiting) = watch::channel(Arc::new(Vec::new()));
    let (schedules_tx, schedules) = watch::channel(Arc::new(baton_link::Board::default()));
    let (news_tx, news) = watch::channel(Arc::new(Vec::new()));
    let (expected_tx, expected) = watch::channel(Arc::new(Expected::default()));
    let (store_tx, store) = watch::channel(None);
    let (desk_tx, desk) = watch::channel(Arc::new(Desk::default()));
    let (requests_tx, requests_rx) = mpsc::channel(32);
    let (changed_tx, changed_rx) = mpsc::unbounded_channel();
    for (i, m) in members.iter().enumerate() {
        notify(m.view.clone(), (i, What::View), &changed_tx);
        notify(m.runs.clone(), (i, What::Lists), &changed_tx);
        notify(m.runs_complete.clone(), (i, What::Lists), &changed_tx);
        notify(m.waiting.clone(), (i, What::Lists), &changed_tx);
        notify(m.driven.clone(), (i, What::Driven), &changed_tx);
        notify(m.schedules.clone(), (i, What::Schedules), &changed_tx);
        notify(m.news.clone(), (i, What::News), &changed_tx);
        notify(m.expected.clone(), (i, What::Expected), &changed_tx);
        notify(m.store.clone(), (i, What::Store), &changed_tx);
    }
    let outs = Outs {
        view: view_tx,
        runs: runs_tx,
        runs_complete: complete_tx,
        driven: driven_tx,
        waiting: waiting_tx,
        schedules: schedules_tx,
        news: news_tx,
        expected: expected_tx,
        store: store_tx,
        desk: desk_tx,
    };
    let mut joined = Joined {
        members,
        outs,
        shown: 0,
        news: NewsMerge::default(),
        desk: Desk::default(),
    };
    // Each store's first values, before any change.
    for what in [What::Lists, What::Driven, What::Schedules, What::Store] {
        joined.changed(0, what);
    }
    for i in 0..joined.members.len() {
        joined.changed(i, What::News);
    }
    tokio::spawn(joined.run(changed_rx, requests_rx));
    ConsoleLink {
        view,
        runs,
        runs_complete,
        driven,
        waiting,
        schedules,
        news,
        expected,
        requests: requests_tx,
        log_times: None,
        store,
        desk,
    }
}

/// Say `what` of store `i` on `tx` each time `rx` changes, until either end goes.
fn notify<T: Send + Sync + 'static>(
    mut rx: watch::Receiver<T>,
    what: (usize, What),
    tx: &mpsc::UnboundedSender<(usize, What)>,
) {
    let tx = tx.clone();
    tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            if tx.send(what).is_err() {
                break;
            }
        }
    });
}

/// The joined link's state: each store's link, what is shown and the news taken.
struct Joined {
    members: Vec<ConsoleLink>,
    outs: Outs,
    /// The store whose run is shown.
    shown: usize,
    news: NewsMerge,
    desk: Desk,
}

impl Joined {
    async fn run(
        mut self,
        mut changed: mpsc::UnboundedReceiver<(usize, What)>,
        mut requests: mpsc::Receiver<ConsoleRequest>,
    ) {
        loop {
            tokio::select! {
                c = changed.recv() => {
                    let Some(first) = c else { return };
                    // Every change that is already there, each kind once.
                    let mut all = vec![first];
                    while let Ok(c) = changed.try_recv() {
                        if !all.contains(&c) {
                            all.push(c);
                        }
                    }
                    for (i, what) in all {
                        self.changed(i, what);
                    }
                }
                r = requests.recv() => match r {
                    Some(r) => self.request(r),
                    // The console went: each store's link goes with it.
                    None => return,
                },
            }
        }
    }

    /// Store `i`'s `what` changed: the joined values it is part of, again.
    fn changed(&mut self, i: usize, what: What) {
        match what {
            What::View if i == self.shown => {
                let v = self.members[i].view.borrow().clone();
                let _ = self.outs.view.send(v);
            }
            What::Expected if i == self.shown => {
                let e = self.members[i].expected.borrow().clone();
                let _ = self.outs.expected.send(e);
            }
            What::View | What::Expected => {}
            What::Lists | What::Store => self.lists(),
            What::Driven => {
                let mut d: Vec<String> = Vec::new();
                for m in &self.members {
                    d.extend(m.driven.borrow().iter().cloned());
                }
                let _ = self.outs.driven.send(Arc::new(d));
            }
            What::Schedules => {
                let b = desk::merge_boards(&self.boards());
                let _ = self.outs.schedules.send(Arc::new(b));
            }
            What::News => {
                let rows = self.members[i].news.borrow().clone();
                if self.news.take(i, &rows) {
                    let _ = self.outs.news.send(Arc::new(self.news.rows()));
                }
            }
        }
    }

    fn boards(&self) -> Vec<Arc<baton_link::Board>> {
        self.members
            .iter()
            .map(|m| m.schedules.borrow().clone())
            .collect()
    }

    /// The runs, what waits, each store's state and the shown run's store, again.
    fn lists(&mut self) {
        let runs: Vec<_> = self
            .members
            .iter()
            .map(|m| m.runs.borrow().clone())
            .collect();
        let waits: Vec<_> = self
            .members
            .iter()
            .map(|m| m.waiting.borrow().clone())
            .collect();
        let (all, mut of_run) = desk::merge_runs(&runs);
        let waiting = desk::merge_waiting(&waits, &mut of_run);
        let stores: Vec<StoreStatus> = self
            .members
            .iter()
            .filter_map(|m| m.store.borrow().as_deref().cloned())
            .collect();
        // A store not connected has nothing more to read now: it holds up no other.
        let complete = self.members.iter().all(|m| {
            *m.runs_complete.borrow()
                || !m
                    .store
                    .borrow()
                    .as_deref()
                    .is_some_and(|s| s.state.is_connected())
        });
        let next = Desk { stores, of_run };
        if next != self.desk {
            self.desk = next;
            let _ = self.outs.desk.send(Arc::new(self.desk.clone()));
        }
        let shown = self.members[self.shown].store.borrow().clone();
        self.outs.store.send_if_modified(|s| {
            let differs = *s != shown;
            if differs {
                s.clone_from(&shown);
            }
            differs
        });
        let _ = self.outs.runs.send(all);
        let _ = self.outs.waiting.send(Arc::new(waiting));
        self.outs.runs_complete.send_if_modified(|c| {
            let differs = *c != complete;
            *c = complete;
            differs
        });
    }

    /// A request to the store it is for (every store's, for all the runs), or
    /// answered at once with why it goes nowhere.
    fn request(&mut self, r: ConsoleRequest) {
        match desk::route(&self.desk, self.shown, &r, &self.boards()) {
            Route::Every => {
                for m in &self.members {
                    let _ = m.requests.try_send(ConsoleRequest::ReadAllRuns);
                }
            }
            Route::Nowhere(why) => wire::outgoing(r).1.fail(Refusal::CannotApply { why }),
            Route::Store(i) => {
                if matches!(r, ConsoleRequest::OpenRun(_)) && i != self.shown {
                    self.shown = i;
                    self.changed(i, What::View);
                    self.changed(i, What::Expected);
                    self.lists();
                }
                // Never waited on: a store still connecting holds up no other.
                if let Err(e) = self.members[i].requests.try_send(r) {
                    let name = self.desk.stores.get(i).map_or("", |s| s.name.as_str());
                    let (why, back) = match e {
                        mpsc::error::TrySendError::Full(r) => (
                            format!(
                                "not delivered: store `{name}` is not taking requests yet (connecting); try again once it is connected"
                            ),
                            r,
                        ),
                        mpsc::error::TrySendError::Closed(r) => (
                            format!("not delivered: the link to store `{name}` is closed"),
                            r,
                        ),
                    };
                    wire::outgoing(back).1.fail(Refusal::CannotApply { why });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_link::LinkState;
    use baton_model::{Command, RunSummary};

    /// A store's link made by hand: its senders, and where its requests arrive.
    struct Fake {
        runs: watch::Sender<baton_model::SharedRuns>,
        store: watch::Sender<Option<Arc<StoreStatus>>>,
        asked: mpsc::Receiver<ConsoleRequest>,
    }

    fn fake(name: &str) -> (ConsoleLink, Fake) {
        let (runs_tx, runs) = watch::channel(Arc::new(Vec::new()));
        let (store_tx, store) = watch::channel(Some(Arc::new(StoreStatus {
            name: name.into(),
            host: format!("{name}-box"),
            state: LinkState::Connected,
        })));
        let (requests, asked) = mpsc::channel(8);
        let link = ConsoleLink {
            view: watch::channel(Arc::new(super::super::follow::empty_view(name))).1,
            runs,
            runs_complete: watch::channel(true).1,
            driven: watch::channel(Arc::new(Vec::new())).1,
            waiting: watch::channel(Arc::new(Vec::new())).1,
            schedules: watch::channel(Arc::new(baton_link::Board::default())).1,
            news: watch::channel(Arc::new(Vec::new())).1,
            expected: watch::channel(Arc::new(Expected::default())).1,
            requests,
            log_times: None,
            store,
            desk: watch::channel(Arc::new(Desk::default())).1,
        };
        (
            link,
            Fake {
                runs: runs_tx,
                store: store_tx,
                asked,
            },
        )
    }

    fn run(id: &str) -> Arc<RunSummary> {
        let r: RunSummary = serde_json::from_value(serde_json::json!({
            "id": id, "workflow": "w", "state": "running", "operator": "op",
            "started_at": 1, "finished_at": null, "steps_total": 1, "steps_done": 0,
        }))
        .unwrap_or_else(|e| panic!("a summary: {e}"));
        Arc::new(r)
    }

    #[tokio::test]
    async fn every_stores_runs_are_listed_and_a_command_goes_to_its_runs_store() {
        let (a, fa) = fake("build");
        let (b, mut fb) = fake("gpu");
        let mut joined = join(vec![a, b]);
        fb.runs
            .send(Arc::new(vec![run("r-gpu")]))
            .expect("gpu's runs");
        fa.runs
            .send(Arc::new(vec![run("r-build")]))
            .expect("build's runs");
        let desk = loop {
            joined.desk.changed().await.expect("the desk");
            let d = joined.desk.borrow().clone();
            if d.of_run.len() == 2 {
                break d;
            }
        };
        assert_eq!(desk.name_of("r-gpu"), "gpu");
        assert_eq!(desk.stores.len(), 2);
        // A store going down is said, and keeps its rows out of no other's.
        fa.store
            .send(Some(Arc::new(StoreStatus {
                name: "build".into(),
                host: "build-box".into(),
                state: LinkState::Down {
                    why: "gone".into(),
                    retry_at: None,
                },
            })))
            .expect("build's state");
        loop {
            joined.desk.changed().await.expect("the desk");
            if !joined.desk.borrow().stores[0].state.is_connected() {
                break;
            }
        }
        let (tx, _rx) = tokio::sync::oneshot::channel();
        joined
            .requests
            .send(ConsoleRequest::Command {
                run_id: Some("r-gpu".into()),
                command: Command::Cancel {
                    operator: "op".into(),
                    reason: None,
                },
                reply: tx,
            })
            .await
            .expect("sent");
        let got = fb.asked.recv().await.expect("gpu asked");
        assert!(
            matches!(got, ConsoleRequest::Command { run_id: Some(ref id), .. } if id == "r-gpu")
        );
        let runs = joined.runs.borrow().clone();
        assert_eq!(runs.len(), 2, "both stores' runs listed");
    }
}
