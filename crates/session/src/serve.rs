//! `baton serve`: a long-lived engine host that starts each workflow of a directory at
//! its schedules' slots and drives the runs in this process, as `baton run --headless`
//! would. One serve per store (its lease, `@serve`, names its pid and host).
//!
//! Each slot is recorded (unique per workflow file, schedule and slot time) before its
//! run starts: a slot is decided once, whatever crashes. A run is created after its
//! slot's row: a crash in between leaves the slot recorded without a run (it does not
//! fire twice; it does not fire at all). The decision of which slots fire is pure
//! (`model::schedule::decide`); this is the shell around it.
mod catalog;
mod loader;
mod parked;

pub use catalog::{Catalog, Changes};
pub use loader::{LOAD_BUDGET, LOAD_BUDGET_ENV, QUIET};

use super::SessionError;
use super::concurrency::{self, Admission, Group};
use super::host::{self, Hosted};
use super::prepare::{self, NewRunSpec};
use baton_exec::signals::ShutdownSignals;
use baton_model::Timestamp;
use baton_model::schedule::{self as sched, Facts, Fate, Overlap};
use baton_store::schedules::{ScheduleRow, TRIGGER_INDEX};
use baton_store::{LeaseOutcome, Store};
use baton_workflow::{OnConflict, Schedule};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The store's lease a serve holds (a row of `leases`, under no run).
pub const SERVE_LEASE: &str = "@serve";
/// How often the loop looks at the clock, the store and the directory.
const TICK: Duration = Duration::from_millis(200);
/// The directory is read again at least this often without a watcher, or while a file
/// settles or loads.
const RESCAN: Duration = Duration::from_secs(1);
/// With a watcher telling of changes, and nothing settling, this often (a fallback): a
/// scan stats every file, which at 1,000 files each second was most of an idle serve.
const RESCAN_WATCHED: Duration = Duration::from_secs(30);
const HEARTBEAT: Duration = Duration::from_secs(2);

/// Whether the serve is ready (`None`) or why not: `/ready` answers from it.
pub type Readiness = Arc<Mutex<Option<String>>>;

pub struct ServeOptions {
    pub dir: PathBuf,
    pub db: PathBuf,
    pub operator: String,
    pub ready: Readiness,
}

/// A run this serve drives.
struct Driving {
    hosted: Hosted,
}

/// Take the store's serve lease, or say who holds it (exit 2).
pub fn take_serve_lease(store: &mut Store) -> Result<(), SessionError> {
    match store.acquire_lease(
        SERVE_LEASE,
        &host::lease_holder(),
        Timestamp::now(),
        host::LEASE_STALE,
    )? {
        LeaseOutcome::Acquired => Ok(()),
        LeaseOutcome::HeldBy { holder, .. } => Err(SessionError::Usage(format!(
            "another `baton serve` ({holder}) serves this store; one serve per store: stop it first, or give this one another --db"
        ))),
    }
}

/// Serve until SIGTERM/SIGINT. Returns the signal's exit code.
pub async fn serve(opts: ServeOptions) -> Result<i32, SessionError> {
    let mut signals = ShutdownSignals::install()
        .map_err(|e| SessionError::System(format!("cannot install signal handlers: {e}")))?;
    let mut store = Store::open(&opts.db)?;
    take_serve_lease(&mut store)?;
    let started = Timestamp::now();
    crate::stdio::errln!(
        "serve: {} (store {}), as {}",
        opts.dir.display(),
        opts.db.display(),
        opts.operator
    );
    let (watch_tx, mut watched) = tokio::sync::mpsc::channel::<()>(1);
    let watcher = watch(&opts.dir, watch_tx);
    let mut catalog = Catalog::new(&opts.dir);
    let (loader, mut loads) = loader::Loader::spawn()
        .map_err(|e| SessionError::System(format!("cannot start the loader's thread: {e}")))?;
    let mut driving: Vec<Driving> = Vec::new();
    let mut parking = parked::Parking::spawn(opts.db.clone());
    report_changes(&catalog.scan(&mut store, &loader));
    set_ready(&opts.ready, catalog.not_ready());
    resume_unfinished(&mut store, &opts, &mut driving, &parking);
    let mut last_scan = tokio::time::Instant::now();
    let mut last_beat = last_scan;
    // What the loop knows between ticks: an idle serve looks at the store's version and
    // the clock, and nothing else, until a slot comes or something changed.
    let mut known = Known::default();
    let code = loop {
        tokio::select! {
            sig = signals.recv() => break sig.exit_code(),
            _ = watched.recv() => {
                // A burst of events is one scan: let the writer finish first.
                tokio::time::sleep(Duration::from_millis(50)).await;
                while watched.try_recv().is_ok() {}
                last_scan = tokio::time::Instant::now();
                known.note(&catalog.scan(&mut store, &loader));
                set_ready(&opts.ready, catalog.not_ready());
            }
            Some(done) = loads.recv() => {
                known.note(&catalog.apply(&mut store, done, Timestamp::now()));
                // Every load back by now in one pass: the schedules are looked at once
                // for them all (1,000 files loaded one per pass took minutes).
                while let Ok(done) = loads.try_recv() {
                    known.note(&catalog.apply(&mut store, done, Timestamp::now()));
                }
                set_ready(&opts.ready, catalog.not_ready());
            }
            Some(hosted) = parking.woken() => {
                crate::stdio::errln!("serve: queued run {} is driven now", hosted.run_id);
                driving.push(Driving { hosted });
            }
            _ = tokio::time::sleep(TICK) => {}
        }
        let now = Timestamp::now();
        let rescan = if watcher.is_some() && !catalog.busy() {
            RESCAN_WATCHED
        } else {
            RESCAN
        };
        if last_scan.elapsed() >= rescan {
            last_scan = tokio::time::Instant::now();
            known.note(&catalog.scan(&mut store, &loader));
            set_ready(&opts.ready, catalog.not_ready());
        }
        if last_beat.elapsed() >= HEARTBEAT {
            last_beat = tokio::time::Instant::now();
            if let Err(e) = store.heartbeat(SERVE_LEASE, &host::lease_holder(), now) {
                crate::stdio::errln!("serve: lost the store's serve lease ({e}); stopping");
                break crate::exit::STORAGE;
            }
        }
        reap(&mut driving).await;
        let mut starting = Starting {
            driving: &mut driving,
            parking: &parking,
        };
        let changed = known.changed(&store);
        if changed {
            triggers(&mut store, &catalog, &opts, &mut starting).await;
            backfills(&mut store, &catalog, &opts, &mut starting).await;
            match store.schedules() {
                Ok(r) => known.rows = r,
                Err(e) => {
                    crate::stdio::errln!("serve: cannot read the schedules: {e}");
                    known.version = None;
                    continue;
                }
            }
        } else if !known.due(now) {
            continue;
        }
        let rows = std::mem::take(&mut known.rows);
        for (file, entry) in &catalog.entries {
            for s in &entry.plan.schedules {
                let Some(row) = rows.iter().find(|r| &r.file == file && r.index == s.index) else {
                    continue;
                };
                let key = (file.clone(), s.index);
                if !changed && known.next.get(&key).is_some_and(|t| *t > now) {
                    continue;
                }
                let at = Slot {
                    file,
                    entry,
                    s,
                    row,
                };
                match tick_schedule(&mut store, &opts, &at, started, &mut starting).await {
                    Ok(next) => {
                        known.next.insert(key, next.unwrap_or(Timestamp(i64::MAX)));
                    }
                    Err(e) => {
                        known.next.remove(&key);
                        crate::stdio::errln!(
                            "serve: {}: {e}",
                            sched::schedule_name(&entry.plan.name, s.index)
                        );
                    }
                }
            }
        }
        known.rows = rows;
    };
    // Stop firing; the runs' steps get their grace; each run is left interrupted (a
    // parked one lets its lease go).
    driving.extend(
        parking
            .stop()
            .await
            .into_iter()
            .map(|hosted| Driving { hosted }),
    );
    crate::stdio::errln!("serve: stopping {} run(s)", driving.len());
    for d in &mut driving {
        d.hosted.stop(Some(code));
    }
    for d in driving {
        let id = d.hosted.run_id.clone();
        match d.hosted.finish().await {
            Ok(out) => crate::stdio::errln!("serve: run {id}: {}", out.state),
            Err(e) => crate::stdio::errln!("serve: run {id}: {e}"),
        }
    }
    let _ = store.release_lease(SERVE_LEASE, &host::lease_holder());
    Ok(code)
}

fn set_ready(ready: &Readiness, why: Option<String>) {
    if let Ok(mut r) = ready.lock() {
        *r = why;
    }
}

fn report_changes(c: &Changes) {
    for f in &c.settling {
        crate::stdio::errln!(
            "serve: {f} changed; it loads once whole (unchanged for {} s if written in place, at the next scan if renamed into place)",
            QUIET.as_secs()
        );
    }
    for f in &c.loaded {
        crate::stdio::errln!("serve: loaded {f}");
    }
    for (f, e) in &c.failed {
        crate::stdio::errln!(
            "serve: {f} does not load; its previous version (if any) still serves:\n{e}"
        );
    }
    for f in &c.removed {
        crate::stdio::errln!("serve: {f} is gone; its schedules stop");
    }
}

/// Watch the directory; each change sends a wake-up (`None`: no watcher, the periodic
/// rescan alone serves).
fn watch(dir: &Path, tx: tokio::sync::mpsc::Sender<()>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        // Reading the directory (this serve's own scans: open, read, close) is an
        // access, not a change: waking for it made every scan start the next, ten a
        // second forever, 6 % of a core at 1,000 files.
        if let Ok(ev) = &res
            && matches!(ev.kind, notify::EventKind::Access(_))
        {
            return;
        }
        let _ = tx.try_send(());
    })
    .ok()?;
    w.watch(dir, notify::RecursiveMode::NonRecursive).ok()?;
    Some(w)
}

/// Runs a serve started that a dead serve left unfinished: taken over and driven here.
fn resume_unfinished(
    store: &mut Store,
    opts: &ServeOptions,
    driving: &mut Vec<Driving>,
    parking: &parked::Parking,
) {
    let runs = match store.unfinished_slot_runs() {
        Ok(r) => r,
        Err(e) => {
            crate::stdio::errln!("serve: cannot list the runs to resume: {e}");
            return;
        }
    };
    for (_, _, run_id) in runs {
        if driving.iter().any(|d| d.hosted.run_id == run_id) {
            continue;
        }
        let taken =
            super::command::take_over_with(store, &run_id, &[], &opts.operator, None, false, false)
                .and_then(|(ready, _)| Ok((ready, Store::open(&opts.db)?)));
        match taken {
            Ok((ready, own)) => {
                crate::stdio::errln!("serve: resuming run {run_id}");
                let mut starting = Starting {
                    driving: &mut *driving,
                    parking,
                };
                starting.host(own, ready);
            }
            Err(SessionError::Driven { holder, .. }) => {
                crate::stdio::errln!("serve: run {run_id} is driven by {holder}; left to it");
            }
            Err(e) => crate::stdio::errln!("serve: cannot resume run {run_id}: {e}"),
        }
    }
}

/// Where a run the serve starts or resumes goes: driven here, or, queued for its group,
/// parked without an engine (`parked`) until its turn.
struct Starting<'a> {
    driving: &'a mut Vec<Driving>,
    parking: &'a parked::Parking,
}

impl Starting<'_> {
    fn host(&mut self, own: Store, ready: prepare::Ready) {
        if ready.core.waits_for_group() {
            // Its connection closes here: a queued run holds none while it waits.
            drop(own);
            self.parking.park(ready);
        } else {
            self.driving.push(Driving {
                hosted: Hosted::spawn(own, ready),
            });
        }
    }
}

/// Finished runs leave the list (their outcome printed).
async fn reap(driving: &mut Vec<Driving>) {
    let mut i = 0;
    while i < driving.len() {
        if driving[i].hosted.is_done() {
            let d = driving.remove(i);
            let id = d.hosted.run_id.clone();
            match d.hosted.finish().await {
                Ok(out) => crate::stdio::errln!("serve: run {id} {}", out.state),
                Err(e) => crate::stdio::errln!("serve: run {id}: {e}"),
            }
        } else {
            i += 1;
        }
    }
}

/// The concurrency group a run of `entry` joins: the workflow's own if it has one (it
/// guards what every starter shares), else, for a schedule's slot, a group of the
/// schedule's own whose conflict rule is its `overlap`; a trigger outside both joins none.
fn group_for(
    entry: &catalog::Entry,
    file: &str,
    schedule: Option<&Schedule>,
    params: &[(String, String)],
) -> Result<Option<Group>, SessionError> {
    let resolved = baton_workflow::resolve_params(&entry.plan, params)
        .map_err(|e| SessionError::Usage(e.join("; ")))?;
    if let Some(own) = concurrency::group_of(&entry.plan, &resolved)? {
        return Ok(Some(own));
    }
    Ok(schedule.map(|s| Group {
        name: format!("schedule:{file}#{}", s.index),
        max_pending: baton_workflow::DEFAULT_MAX_PENDING,
        on_conflict: match s.overlap {
            Overlap::Skip => OnConflict::Skip,
            Overlap::Queue => OnConflict::Queue,
            Overlap::CancelRunning => OnConflict::CancelRunning,
        },
    }))
}

/// What a slot is recorded as, once its run joined its group.
fn admitted(a: &Admission) -> &'static str {
    match a {
        Admission::Started => "started",
        Admission::Queued { .. } => "queued",
        Admission::Skipped { .. } => "skipped",
        Admission::Superseding { .. } => "superseding",
    }
}

/// Start a run of `entry` (its served text) with `params`, recorded as the slot's.
///
/// The run is made off this thread: joining a group with `overlap = "cancel_running"`
/// waits for the holder's engine to take its cancel, and that engine is one this serve
/// drives on this thread, which must go on running meanwhile.
async fn start_run(
    store: &mut Store,
    opts: &ServeOptions,
    (file, index, slot_at): (&str, u32, Timestamp),
    entry: &catalog::Entry,
    schedule: Option<&Schedule>,
    params: &[(String, String)],
    starting: &mut Starting<'_>,
) -> Result<String, SessionError> {
    let spec = NewRunSpec {
        workflow: PathBuf::from(file),
        params: params.to_vec(),
        operator: opts.operator.clone(),
        slot: Some(slot_at),
        ..NewRunSpec::default()
    };
    let (db, text) = (opts.db.clone(), entry.text.clone());
    let started = match group_for(entry, file, schedule, params) {
        Err(e) => Err(e),
        Ok(group) => tokio::task::spawn_blocking(move || {
            let holder = host::lease_holder();
            let mut store = Store::open(&db)?;
            let loaded = prepare::load_text(spec, text)?;
            let own = Store::open(&db)?;
            let (ready, fate) = match &group {
                None => (prepare::create(&mut store, loaded, &holder)?, "started"),
                Some(g) => {
                    let (ready, a) = concurrency::admit(&mut store, loaded, &holder, g)?;
                    (ready, admitted(&a))
                }
            };
            Ok((ready, own, fate))
        })
        .await
        .unwrap_or_else(|e| Err(SessionError::System(format!("making the run failed: {e}")))),
    };
    match started {
        Ok((ready, own, fate)) => {
            let run_id = ready.run_id.clone();
            store.slot_started(file, index, slot_at, fate, Some(&run_id))?;
            crate::stdio::errln!(
                "serve: {} slot {} {fate} run {run_id}",
                sched::schedule_name(&entry.plan.name, index),
                slot_at.to_rfc3339()
            );
            starting.host(own, ready);
            Ok(run_id)
        }
        Err(e) => {
            store.slot_started(file, index, slot_at, "failed", None)?;
            Err(e)
        }
    }
}

/// Operators' triggers (`baton schedule trigger`): each starts a run now.
async fn triggers(
    store: &mut Store,
    catalog: &Catalog,
    opts: &ServeOptions,
    starting: &mut Starting<'_>,
) {
    let Ok(requested) = store.requested_triggers() else {
        return;
    };
    for t in requested {
        let Some(entry) = catalog.entries.get(&t.file) else {
            continue;
        };
        let slot = (t.file.as_str(), TRIGGER_INDEX, t.at);
        if let Err(e) = start_run(store, opts, slot, entry, None, &t.params, starting).await {
            crate::stdio::errln!("serve: {} triggered by {}: {e}", entry.plan.name, t.by);
        }
    }
}

/// Slots operators backfilled (`baton schedule backfill`): of each schedule, the oldest
/// asked for, once the schedule has no unfinished run; each run knows its slot. A slot
/// whose schedule is no longer served waits until it is again.
async fn backfills(
    store: &mut Store,
    catalog: &Catalog,
    opts: &ServeOptions,
    starting: &mut Starting<'_>,
) {
    let Ok(due) = store.due_backfills() else {
        return;
    };
    for b in due {
        let Some(entry) = catalog.entries.get(&b.file) else {
            continue;
        };
        let Some(s) = entry.plan.schedules.iter().find(|s| s.index == b.index) else {
            continue;
        };
        let slot = (b.file.as_str(), b.index, b.slot);
        if let Err(e) = start_run(store, opts, slot, entry, Some(s), &s.params, starting).await {
            crate::stdio::errln!(
                "serve: {} slot {} backfilled by {}: {e}",
                sched::schedule_name(&entry.plan.name, b.index),
                b.slot.to_rfc3339(),
                b.by
            );
        }
    }
}

/// A schedule served, as loaded and as recorded.
#[derive(Clone, Copy)]
struct Slot<'a> {
    file: &'a str,
    entry: &'a catalog::Entry,
    s: &'a Schedule,
    row: &'a ScheduleRow,
}

/// What the serve's loop knows between ticks, so that an idle serve does nothing but
/// look at the store's version and the clock (issue 41 point 5).
#[derive(Default)]
struct Known {
    /// The store's `data_version` at the last read of the schedules (`None`: read them).
    version: Option<i64>,
    /// The catalog loaded or dropped a file since.
    catalog: bool,
    /// The schedules as last read.
    rows: Vec<ScheduleRow>,
    /// Each schedule's next slot, as its last decision said.
    next: std::collections::HashMap<(String, u32), Timestamp>,
}

impl Known {
    /// Report what a scan or a load changed, and remember that the catalog did.
    fn note(&mut self, c: &Changes) {
        report_changes(c);
        if !c.loaded.is_empty() || !c.removed.is_empty() {
            self.catalog = true;
        }
    }

    /// Whether the schedules, triggers and backfills must be read again: another
    /// connection committed (an operator's decision, a run's progress), or the catalog
    /// changed. Reading the version is all an idle tick costs.
    fn changed(&mut self, store: &Store) -> bool {
        let version = store.data_version().ok();
        let changed = self.catalog || version.is_none() || version != self.version;
        if self.catalog {
            // A schedule gone, or changed, keeps no next slot of its old self.
            self.next.clear();
        }
        self.version = version;
        self.catalog = false;
        changed
    }

    /// Whether some schedule's next slot has come.
    fn due(&self, now: Timestamp) -> bool {
        self.next.values().any(|t| *t <= now)
    }
}

/// One schedule at `now`: decide, record each slot, then act; its next slot.
async fn tick_schedule(
    store: &mut Store,
    opts: &ServeOptions,
    at: &Slot<'_>,
    started: Timestamp,
    starting: &mut Starting<'_>,
) -> Result<Option<Timestamp>, SessionError> {
    let Slot {
        file,
        entry,
        s,
        row,
    } = *at;
    let now = Timestamp::now();
    let cursor = store.last_slot(file, s.index)?.unwrap_or(row.since);
    let facts = Facts {
        now,
        cursor,
        awake_since: started.max(row.since),
        paused: row.paused.is_some(),
        catch_up: s.catch_up,
        max_catch_up: s.max_catch_up,
    };
    let d = sched::decide(&s.cadence, &facts);
    for (slot, fate) in &d.slots {
        if !store.record_slot(file, s.index, *slot, fate.as_str())? {
            continue; // decided by an earlier serve
        }
        if *fate == Fate::Start {
            let at = (file, s.index, *slot);
            start_run(store, opts, at, entry, Some(s), &s.params, starting).await?;
        } else {
            crate::stdio::errln!(
                "serve: {} slot {} {}",
                sched::schedule_name(&entry.plan.name, s.index),
                slot.to_rfc3339(),
                fate.as_str()
            );
        }
    }
    Ok(d.next)
}
