//! One console over several stores (issue 59 points 3 and 4: `baton tui --store A
//! --store B`, `--all-stores`): what the console is told of them ([`Desk`]: each
//! store's state, which store each listed run is on) and the pure decisions of the
//! session that joins their links: one list out of each store's ([`merge_runs`],
//! [`merge_waiting`], [`merge_boards`], [`NewsMerge`]) and where a request goes
//! ([`route`]). A store that does not answer keeps its last rows out of none of the
//! others'.
use crate::{Board, ConsoleRequest, News, StoreStatus};
use baton_model::inbox::Waiting;
use baton_model::{RunSummary, SharedRuns};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The stores of a console over several, as the console shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desk {
    /// Every store, in the order given (empty: a console over one store).
    pub stores: Vec<StoreStatus>,
    /// Which store each listed run is on (an index into `stores`), by run id.
    pub of_run: BTreeMap<String, usize>,
}

impl Desk {
    /// Whether the console is over several stores (rows then name theirs).
    pub fn is_many(&self) -> bool {
        !self.stores.is_empty()
    }

    /// The store `run_id` is on, if it is listed.
    pub fn store_of(&self, run_id: &str) -> Option<&StoreStatus> {
        self.of_run.get(run_id).and_then(|&i| self.stores.get(i))
    }

    /// The name of the store `run_id` is on (`""` when not listed).
    pub fn name_of(&self, run_id: &str) -> &str {
        self.store_of(run_id).map_or("", |s| s.name.as_str())
    }
}

/// Every store's runs in one list, newest first, and which store each is on.
pub fn merge_runs(parts: &[SharedRuns]) -> (SharedRuns, BTreeMap<String, usize>) {
    let mut of_run = BTreeMap::new();
    let mut all: Vec<Arc<RunSummary>> = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    for (i, p) in parts.iter().enumerate() {
        for r in p.iter() {
            of_run.insert(r.id.clone(), i);
            all.push(Arc::clone(r));
        }
    }
    all.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(a.id.cmp(&b.id)));
    (Arc::new(all), of_run)
}

/// What waits in every store, one list (soonest deadline first, then longest waiting),
/// each row's run added to `of_run`.
pub fn merge_waiting(
    parts: &[Arc<Vec<Waiting>>],
    of_run: &mut BTreeMap<String, usize>,
) -> Vec<Waiting> {
    let mut all = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        for w in p.iter() {
            of_run.entry(w.run_id.clone()).or_insert(i);
            all.push(w.clone());
        }
    }
    all.sort_by_key(|w| (w.deadline.is_none(), w.deadline, w.since));
    all
}

/// Every store's schedules on one board.
pub fn merge_boards(parts: &[Arc<Board>]) -> Board {
    let mut b = Board::default();
    for p in parts {
        b.rows.extend(p.rows.iter().cloned());
        b.broken.extend(p.broken.iter().cloned());
    }
    b
}

/// The decisions recorded in every store since the console opened, as one list whose
/// ids are the console's own (each store numbers its rows; the console reads a row as
/// news once, by id).
#[derive(Debug, Clone, Default)]
pub struct NewsMerge {
    /// The last row id taken from each store.
    seen: Vec<i64>,
    next: i64,
    rows: Vec<News>,
}

/// How many rows of news are kept.
const NEWS_KEPT: usize = 500;

impl NewsMerge {
    /// Take store `store`'s rows: the ones not taken before join the list. Whether any did.
    pub fn take(&mut self, store: usize, rows: &[News]) -> bool {
        if self.seen.len() <= store {
            self.seen.resize(store + 1, 0);
        }
        let mut any = false;
        let from = self.seen[store];
        for n in rows.iter().filter(|n| n.id > from) {
            self.seen[store] = n.id;
            self.next += 1;
            self.rows.push(News {
                id: self.next,
                ..n.clone()
            });
            any = true;
        }
        let over = self.rows.len().saturating_sub(NEWS_KEPT);
        self.rows.drain(..over);
        any
    }

    pub fn rows(&self) -> Vec<News> {
        self.rows.clone()
    }
}

/// Where a request of a console over several stores goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// To the store at this index.
    Store(usize),
    /// To every store (reading all runs).
    Every,
    /// Nowhere, and why (answered so at once).
    Nowhere(String),
}

/// Where `req` goes: a run's request to the store the run is on; the run on screen's
/// to `shown`'s store; a new run, to the shown run's store; a schedule's, to the store
/// that serves it (`boards`, each store's).
pub fn route(desk: &Desk, shown: usize, req: &ConsoleRequest, boards: &[Arc<Board>]) -> Route {
    let by_run = |id: &str| match desk.of_run.get(id) {
        Some(&i) => Route::Store(i),
        None => Route::Nowhere(format!(
            "run {id} is on none of this console's stores (it may be on a store that is down): open it again once its store is connected"
        )),
    };
    match req {
        ConsoleRequest::Command { run_id: None, .. }
        | ConsoleRequest::RunForm { .. }
        | ConsoleRequest::StartRun { .. } => Route::Store(shown),
        ConsoleRequest::Command {
            run_id: Some(id), ..
        }
        | ConsoleRequest::OpenRun(id)
        | ConsoleRequest::Resume { run_id: id, .. }
        | ConsoleRequest::ForkPlan { run_id: id, .. }
        | ConsoleRequest::RetryFailedPlan { run_id: id, .. }
        | ConsoleRequest::Fork { run_id: id, .. }
        | ConsoleRequest::DeleteRun { run_id: id, .. }
        | ConsoleRequest::Note { run_id: id, .. }
        | ConsoleRequest::StepHistory { run_id: id, .. } => by_run(id),
        ConsoleRequest::ReadAllRuns => Route::Every,
        ConsoleRequest::DiffRuns { a, b, .. } => match (by_run(a), by_run(b)) {
            (Route::Store(x), Route::Store(y)) if x == y => Route::Store(x),
            (Route::Store(_), Route::Store(_)) => Route::Nowhere(format!(
                "runs {a} and {b} are on different stores ({} and {}): diff two runs of one store",
                desk.name_of(a),
                desk.name_of(b)
            )),
            (Route::Nowhere(why), _) | (_, Route::Nowhere(why)) => Route::Nowhere(why),
            _ => Route::Store(shown),
        },
        ConsoleRequest::Schedule { target, .. } => boards
            .iter()
            .position(|b| b.rows.iter().any(|r| r.name == *target))
            .map_or_else(
                || {
                    Route::Nowhere(format!(
                        "no store of this console serves a schedule `{target}`"
                    ))
                },
                Route::Store,
            ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LinkState;
    use baton_model::{Command, RunState, Timestamp};

    fn run(id: &str, at: i64) -> Arc<RunSummary> {
        let mut r: RunSummary = serde_json::from_value(serde_json::json!({
            "id": id, "workflow": "w", "state": "running", "operator": "op",
            "started_at": at, "finished_at": null, "steps_total": 1, "steps_done": 0,
        }))
        .unwrap_or_else(|e| panic!("a summary: {e}"));
        r.state = RunState::Running;
        Arc::new(r)
    }

    fn desk() -> Desk {
        let s = |name: &str| StoreStatus {
            name: name.into(),
            host: "h".into(),
            state: LinkState::Connected,
        };
        let (_, of_run) = merge_runs(&[
            Arc::new(vec![run("a1", 1), run("a2", 5)]),
            Arc::new(vec![run("b1", 3)]),
        ]);
        Desk {
            stores: vec![s("build"), s("gpu")],
            of_run,
        }
    }

    #[test]
    fn runs_of_every_store_are_one_list_newest_first_each_naming_its_store() {
        let (all, of_run) = merge_runs(&[
            Arc::new(vec![run("a1", 1), run("a2", 5)]),
            Arc::new(vec![run("b1", 3)]),
        ]);
        let ids: Vec<&str> = all.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a2", "b1", "a1"]);
        assert_eq!(of_run.get("b1"), Some(&1));
        assert_eq!(desk().name_of("a1"), "build");
        assert_eq!(desk().name_of("nope"), "");
    }

    #[test]
    fn a_request_goes_to_its_runs_store_and_one_not_listed_nowhere() {
        let d = desk();
        let cmd = |run_id: Option<&str>| ConsoleRequest::Command {
            run_id: run_id.map(str::to_string),
            command: Command::Cancel {
                operator: "op".into(),
                reason: None,
            },
            reply: tokio::sync::oneshot::channel().0,
        };
        assert_eq!(route(&d, 0, &cmd(Some("b1")), &[]), Route::Store(1));
        assert_eq!(route(&d, 1, &cmd(None), &[]), Route::Store(1));
        assert!(
            matches!(route(&d, 0, &cmd(Some("zz")), &[]), Route::Nowhere(w) if w.contains("run zz is on none"))
        );
        assert_eq!(
            route(&d, 0, &ConsoleRequest::ReadAllRuns, &[]),
            Route::Every
        );
        let diff = ConsoleRequest::DiffRuns {
            a: "a1".into(),
            b: "b1".into(),
            reply: tokio::sync::oneshot::channel().0,
        };
        assert!(
            matches!(route(&d, 0, &diff, &[]), Route::Nowhere(w) if w.contains("(build and gpu)"))
        );
    }

    #[test]
    fn news_from_every_store_is_news_once_under_the_consoles_own_ids() {
        let n = |id: i64, run: &str| News {
            id,
            run_id: run.into(),
            at: Timestamp(id),
            actor: "x".into(),
            action: baton_model::AuditAction::Approved,
            step: None,
            reason: None,
            details: String::new(),
            by_viewer: false,
        };
        let mut m = NewsMerge::default();
        assert!(m.take(0, &[n(7, "a1")]));
        assert!(m.take(1, &[n(7, "b1")]), "another store's row 7 is its own");
        assert!(!m.take(0, &[n(7, "a1")]), "seen");
        assert!(m.take(0, &[n(7, "a1"), n(8, "a2")]));
        let got: Vec<(i64, &str)> = m.rows.iter().map(|r| (r.id, r.run_id.as_str())).collect();
        assert_eq!(got, [(1, "a1"), (2, "b1"), (3, "a2")]);
    }

    #[test]
    fn a_stores_state_says_when_it_is_tried_again_and_why() {
        let down = LinkState::Down {
            why: "gpu-box: Connection refused".into(),
            retry_at: Some(Timestamp(4_500)),
        };
        assert_eq!(
            down.describe(Timestamp(1_000)),
            "reconnecting in 4s: gpu-box: Connection refused"
        );
        let refused = LinkState::Refused {
            why: "version mismatch".into(),
            retry_at: None,
        };
        assert_eq!(
            refused.describe(Timestamp(0)),
            "refused (reconnecting): version mismatch"
        );
    }
}
