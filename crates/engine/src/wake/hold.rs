//! An engine's hold on a run, the same in every world: it takes the run (its writes
//! fenced from then on), renews the lease once a [`HEARTBEAT`] of its clock has passed,
//! stops driving a run the store says it lost, and lets go of a run it drove to its
//! end or stops driving. The driver (`driver.rs`) and each simulated engine
//! (`crates/sim`) call these; which engine holds what, and when it beats or dies, is
//! the world's.
use super::Run;
use baton_core::Core;
use baton_model::Timestamp;
use baton_store::{Store, StoreError};
use std::path::Path;
use std::time::Duration;

/// How often an engine renews the leases of the runs it drives.
pub const HEARTBEAT: Duration = Duration::from_secs(2);

/// An engine takes run `run_id` of `plan` to drive it as `holder`: from now on each
/// write of its store connection to the run checks that the run still holds its lease
/// and its group (and the plan's store-wide pools' slots), `Store::fence`.
pub fn take(store: &mut Store, run_id: &str, holder: &str, plan: &baton_workflow::Plan) {
    store.fence(run_id, holder, &crate::store_pools(plan));
}

/// Whether the lease is due to be renewed, `since` its last renewal.
pub fn beat_due(since: Duration) -> bool {
    since >= HEARTBEAT
}

/// What a heartbeat found.
#[derive(Debug)]
pub enum Beat {
    /// The lease renewed (and the store checked to be the same file).
    Renewed,
    /// The run went to another (its lease, its group): the engine stops driving it,
    /// and what it started there is stopped.
    Lost(StoreError),
}

/// The lease renewed, or the run found lost (`super::heartbeat`); an error: the store
/// failed.
pub fn beat(run: Run<'_>, holder: &str, now: Timestamp) -> Result<Beat, StoreError> {
    match super::heartbeat(run, holder, now) {
        Ok(()) => Ok(Beat::Renewed),
        Err(err) if err.run_lost() => Ok(Beat::Lost(err)),
        Err(err) => Err(err),
    }
}

/// An engine as its heartbeat meets it: its clock, the runs it drives, and what it
/// does with one the store says it lost. The driver holds one run; each simulated
/// engine (`crates/sim`) the runs it took.
pub trait Holds {
    type Error: From<StoreError>;
    /// Its lease holder name.
    fn holder(&self) -> String;
    /// How long since its last heartbeat, on its clock.
    fn since_beat(&self) -> Duration;
    /// It beats now: the time on its clock its leases are renewed at.
    fn beating(&mut self) -> Timestamp;
    /// The runs it drives.
    fn held(&self) -> Vec<String>;
    /// One of them (`None`: no longer driven).
    fn run<'a>(&'a mut self, run_id: &'a str) -> Option<Run<'a>>;
    /// The store checked `run_id`'s fence just now.
    fn fenced(&mut self, run_id: &str);
    /// It stops driving `run_id`, which went to another (`err` says how), and what it
    /// started there is stopped (the driver's `abandon`).
    fn lost(&mut self, run_id: &str, err: StoreError) -> Result<(), Self::Error>;
}

/// Once a [`HEARTBEAT`] of its clock has passed, the engine renews the lease of each
/// run it drives ([`beat`]); a run found lost it stops driving ([`Holds::lost`]).
pub fn renew<H: Holds>(h: &mut H) -> Result<(), H::Error> {
    if !beat_due(h.since_beat()) {
        return Ok(());
    }
    let now = h.beating();
    let holder = h.holder();
    for run_id in h.held() {
        let Some(run) = h.run(&run_id) else {
            continue;
        };
        match beat(run, &holder, now)? {
            Beat::Renewed => h.fenced(&run_id),
            Beat::Lost(err) => h.lost(&run_id, err)?,
        }
    }
    Ok(())
}

/// Whether an engine's drive of a run is over: its core finished, and nothing it
/// started still runs or still tells it something (`idle`: no attempt alive, no
/// notifier running).
pub fn done(core: &Core, idle: bool) -> bool {
    idle && core.is_finished()
}

/// How an engine leaves a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaving {
    /// Only if its drive is over ([`done`]).
    IfDone,
    /// Whatever the run's state: the engine stops driving it (a signal, a hand-over
    /// to a background engine, its console gone, its stop overdue).
    Stopping,
}

/// The engine lets go of the run once its drive is over, or as it stops driving it
/// (`leaving`), its decisions committed before: an ended run's log times folded onto
/// its attempts' rows, then its lease released (`super::let_go`). `false`: it drives
/// on.
pub fn finish_if_done(
    run: Run<'_>,
    (holder, log_dir): (&str, &Path),
    idle: bool,
    leaving: Leaving,
) -> Result<bool, StoreError> {
    if leaving == Leaving::IfDone && !done(run.core, idle) {
        return Ok(false);
    }
    super::let_go(run, holder, log_dir)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_core::RunConfig;

    /// A run `r1` of one shell step recorded in a fresh store, its lease held by
    /// `tester`, and its core started.
    fn held(dir: &Path) -> (Store, Core) {
        let toml = "name = \"t\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n";
        let (store, plan) = crate::held_run::held_run(dir, toml);
        let cfg = RunConfig {
            run_id: "r1".into(),
            operator: "tester".into(),
            ..RunConfig::default()
        };
        let mut core = Core::new(plan, cfg);
        core.start(Timestamp::now());
        (store, core)
    }

    fn run<'a>(store: &'a mut Store, core: &'a mut Core) -> Run<'a> {
        Run {
            store,
            run_id: "r1",
            core,
        }
    }

    fn holder(store: &Store) -> Option<String> {
        store.lease("r1").unwrap().map(|l| l.holder)
    }

    /// A run whose drive is not over is kept (a busy engine's finished run too); a
    /// stopping engine lets go of it whatever its state; a heartbeat renews a lease
    /// the engine holds and finds a run lost once another engine holds it.
    #[test]
    fn an_engine_keeps_a_run_until_its_drive_is_over_or_it_stops_and_finds_it_lost() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, mut core) = held(dir.path());
        take(&mut store, "r1", "tester", core.plan());
        let log_dir = store.log_dir("r1");
        assert!(!done(&core, true), "its step has not run");
        let beat_now = beat(run(&mut store, &mut core), "tester", Timestamp::now());
        assert!(matches!(beat_now, Ok(Beat::Renewed)), "{beat_now:?}");
        let kept = finish_if_done(
            run(&mut store, &mut core),
            ("tester", &log_dir),
            true,
            Leaving::IfDone,
        );
        assert!(matches!(kept, Ok(false)), "{kept:?}");
        assert_eq!(holder(&store).as_deref(), Some("tester"));
        let left = finish_if_done(
            run(&mut store, &mut core),
            ("tester", &log_dir),
            false,
            Leaving::Stopping,
        );
        assert!(matches!(left, Ok(true)), "{left:?}");
        assert_eq!(holder(&store), None, "its lease is released");
        // Another engine took it: this one's heartbeat finds it lost.
        store
            .acquire_lease("r1", "other", Timestamp::now(), baton_model::LEASE_STALE)
            .unwrap();
        let lost = beat(run(&mut store, &mut core), "tester", Timestamp::now());
        assert!(matches!(lost, Ok(Beat::Lost(_))), "{lost:?}");
        assert!(beat_due(HEARTBEAT) && !beat_due(HEARTBEAT / 2));
    }

    /// An engine holding `r1` as `tester`, its last heartbeat `since` ago: what
    /// `renew` did to it.
    struct Engine {
        store: Store,
        core: Core,
        since: Duration,
        beat_at: Option<Timestamp>,
        fenced: Vec<String>,
        lost: Vec<String>,
    }

    impl Holds for Engine {
        type Error = StoreError;
        fn holder(&self) -> String {
            "tester".into()
        }
        fn since_beat(&self) -> Duration {
            self.since
        }
        fn beating(&mut self) -> Timestamp {
            let now = Timestamp::now();
            self.beat_at = Some(now);
            now
        }
        fn held(&self) -> Vec<String> {
            vec!["r1".into(), "gone".into()]
        }
        fn run<'a>(&'a mut self, run_id: &'a str) -> Option<Run<'a>> {
            (run_id == "r1").then(|| run(&mut self.store, &mut self.core))
        }
        fn fenced(&mut self, run_id: &str) {
            self.fenced.push(run_id.into());
        }
        fn lost(&mut self, run_id: &str, _err: StoreError) -> Result<(), StoreError> {
            self.lost.push(run_id.into());
            Ok(())
        }
    }

    /// `renew` beats only once a heartbeat passed, renews each run the engine still
    /// drives (its fence checked), and hands a run another engine took to `lost`.
    #[test]
    fn an_engine_renews_its_runs_once_a_heartbeat_passed_and_drops_a_lost_one() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, core) = held(dir.path());
        take(&mut store, "r1", "tester", core.plan());
        let mut e = Engine {
            store,
            core,
            since: HEARTBEAT / 2,
            beat_at: None,
            fenced: Vec::new(),
            lost: Vec::new(),
        };
        renew(&mut e).unwrap();
        assert_eq!((e.beat_at, e.fenced.len()), (None, 0), "not due yet");
        e.since = HEARTBEAT;
        renew(&mut e).unwrap();
        assert!(e.beat_at.is_some());
        assert_eq!(
            (e.fenced.clone(), e.lost.len()),
            (vec!["r1".to_string()], 0)
        );
        // It let go; another engine took it.
        e.store.release_lease("r1", "tester").unwrap();
        e.store
            .acquire_lease("r1", "other", Timestamp::now(), baton_model::LEASE_STALE)
            .unwrap();
        renew(&mut e).unwrap();
        assert_eq!(e.lost, vec!["r1".to_string()], "another engine holds it");
    }
}
