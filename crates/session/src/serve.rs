//! `baton serve`: a long-lived engine host that starts each workflow of a directory at
//! its schedules' slots and drives the runs in this process, as `baton run --headless`
//! would. One serve per store (its lease, `@serve`, names its pid and host).
//!
//! Each slot is recorded (unique per workflow file, schedule and slot time) before its
//! run starts: a slot is decided once, whatever crashes. A run is created after its
//! slot's row: a crash in between leaves the slot recorded without a run (it does not
//! fire twice; it does not fire at all). The decision of which slots fire is pure
//! (`model::schedule::decide`); this is the shell around it.
mod arrivals;
mod catalog;
mod escalate;
pub(crate) mod events;
mod firing;
mod hooks;
mod loader;
mod parked;
pub(crate) mod proofs;
mod watching;

pub(crate) use catalog::{Catalog, Changes};
pub use hooks::{Delivery, HookAnswer, HookDesk, HookInbox, hook_desk};
pub(crate) use loader::QUIET;

use super::SessionError;
use super::host::{self, Hosted};
use super::prepare;
use baton_exec::ShutdownSignals;
use baton_model::Timestamp;
use baton_model::schedule::{self as sched, Facts, Fate};
use baton_store::schedules::{ScheduleRow, ServeState, TRIGGER_INDEX};
use baton_store::{LeaseOutcome, Store};
use baton_workflow::Schedule;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Outside text on one of the serve's lines (a sender's words, a file's name, a run's
/// detail): one line, nothing a terminal acts on.
fn shown(text: &str) -> String {
    baton_model::sanitize::for_terminal(&baton_model::sanitize::one_line(text))
}
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
    /// Webhook deliveries from the listener (`hook_desk`), if it serves them.
    pub hooks: Option<HookInbox>,
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

/// The serve's lease renewed once a `HEARTBEAT` has passed since `last_beat`; false
/// once it is lost (another serve holds the store now).
fn renew_lease(store: &mut Store, last_beat: &mut tokio::time::Instant, now: Timestamp) -> bool {
    if last_beat.elapsed() < HEARTBEAT {
        return true;
    }
    *last_beat = tokio::time::Instant::now();
    if let Err(e) = store.heartbeat(SERVE_LEASE, &host::lease_holder(), now) {
        crate::stdio::errln!("serve: lost the store's serve lease ({e}); stopping");
        return false;
    }
    true
}

/// Serve until SIGTERM/SIGINT. Returns the signal's exit code.
pub async fn serve(mut opts: ServeOptions) -> Result<i32, SessionError> {
    let mut signals = ShutdownSignals::install()
        .map_err(|e| SessionError::System(format!("cannot install signal handlers: {e}")))?;
    let mut store = Store::open(&opts.db)?;
    take_serve_lease(&mut store)?;
    // What this serve decided and proved, where no member of the store can write.
    let mut state = ServeState::open(&baton_store::starter_seal::state_dir(), &opts.db)?;
    let started = Timestamp::now();
    crate::stdio::errln!(
        "serve: {} (store {}), as {}",
        opts.dir.display(),
        opts.db.display(),
        opts.operator
    );
    let (watch_tx, mut watched) = tokio::sync::mpsc::channel::<()>(1);
    let mut catalog = Catalog::new(&opts.dir);
    let watcher = watch(&opts.dir, watch_tx, catalog.arrivals.clone());
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
    let mut hooks = opts.hooks.take();
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
            Some(call) = async { hooks.as_mut()?.rx.recv().await } => {
                let mut starting = Starting { driving: &mut driving, parking: &parking };
                hooks::take(call, &mut store, (&catalog, &opts), &mut starting).await;
            }
            _ = tokio::time::sleep(known.wait(Timestamp::now())) => {}
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
        if !renew_lease(&mut store, &mut last_beat, now) {
            break crate::exit::STORAGE;
        }
        reap(&mut driving).await;
        known.escalations.tick(&opts.db);
        let mut starting = Starting {
            driving: &mut driving,
            parking: &parking,
        };
        known
            .watch
            .tick(&mut store, &catalog, &opts, &mut starting)
            .await;
        let changed = known.changed(&store);
        if changed {
            let store = (&mut store, &mut state);
            if !look_at_changes(store, (&catalog, &opts), &mut known, &mut starting).await {
                continue;
            }
        } else if !known.due(now) {
            continue;
        }
        fire_due(
            (&mut store, &mut state),
            (&catalog, &opts),
            (started, changed),
            &mut known,
            &mut starting,
        )
        .await;
    };
    stop_runs(parking, driving, code).await;
    let _ = store.release_lease(SERVE_LEASE, &host::lease_holder());
    Ok(code)
}

/// The store changed (or the catalog did): pauses proven, triggers and backfills
/// taken, the schedules read again. `false`: they could not be read (nothing fires
/// this tick).
async fn look_at_changes(
    (store, state): (&mut Store, &mut ServeState),
    (catalog, opts): (&Catalog, &ServeOptions),
    known: &mut Known,
    starting: &mut Starting<'_>,
) -> bool {
    // A refusal names the schedule as the serve loaded it, not as a row says.
    let name = |file: &str, index: u32| match catalog.entries.get(file) {
        Some(e) => sched::schedule_name(&e.plan.name, index),
        None => sched::schedule_name(file, index),
    };
    if !proofs::pauses(store, state, &opts.operator, &name) {
        // Read again at the next tick: a schedule not yet seeded decides nothing.
        known.version = None;
    }
    triggers(store, catalog, opts, starting).await;
    backfills(store, catalog, opts, starting).await;
    match store.schedules() {
        Ok(r) => known.rows = r,
        Err(e) => {
            crate::stdio::errln!("serve: cannot read the schedules: {e}");
            known.version = None;
            return false;
        }
    }
    true
}

/// Stop firing; the runs' steps get their grace; each run is left interrupted (a
/// parked one lets its lease go), stopped with the serve's exit `code`.
async fn stop_runs(parking: parked::Parking, mut driving: Vec<Driving>, code: i32) {
    driving.extend(
        parking
            .stop()
            .await
            .into_iter()
            .map(|hosted| Driving { hosted }),
    );
    crate::stdio::errln!("serve: stopping {} run(s)", driving.len());
    for d in &mut driving {
        d.hosted.stop(Some(code).into());
    }
    for d in driving {
        let id = d.hosted.run_id.clone();
        match d.hosted.finish().await {
            Ok(out) => crate::stdio::errln!("serve: run {id}: {}", out.state),
            Err(e) => crate::stdio::errln!("serve: run {id}: {e}"),
        }
    }
}

fn set_ready(ready: &Readiness, why: Option<String>) {
    if let Ok(mut r) = ready.lock() {
        *r = why;
    }
}

fn report_changes(c: &Changes) {
    for (f, what) in c
        .settling
        .iter()
        .map(|f| (f, "changed"))
        .chain(c.arriving.iter().map(|f| (f, "is new")))
    {
        crate::stdio::errln!(
            "serve: {f} {what}; it loads once whole (at the next scan if renamed into place, else once unchanged for {} s)",
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

/// Watch the directory; each change is noted in `arrivals` and sends a wake-up
/// (`None`: no watcher, the periodic rescan alone serves, and every new or changed
/// file loads once quiet).
fn watch(
    dir: &Path,
    tx: tokio::sync::mpsc::Sender<()>,
    arrivals: arrivals::Arrivals,
) -> Option<notify::RecommendedWatcher> {
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
        if let Ok(ev) = &res {
            arrivals.note(ev);
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
    let mut ids: Vec<String> = runs.into_iter().map(|(_, _, id)| id).collect();
    match store.unfinished_trigger_runs() {
        Ok(more) => ids.extend(more),
        Err(e) => crate::stdio::errln!("serve: cannot list the triggers' runs to resume: {e}"),
    }
    for run_id in ids {
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
    let (mut starts, mut asked) = (Vec::new(), Vec::new());
    for t in &requested {
        let Some(entry) = catalog.entries.get(&t.file) else {
            continue;
        };
        // Only a decision on the audit chain, proved by its account, starts a run;
        // any other row is refused on record (issue 41 point 2).
        match store.prove_trigger(t) {
            Ok(Ok(())) => {}
            Ok(Err(why)) => {
                let why = why.to_string();
                crate::stdio::errln!(
                    "serve: refused the trigger of {} asked as {}: {why}",
                    entry.plan.name,
                    t.by
                );
                if let Err(e) = store.refuse_trigger(t, &entry.plan.name, &opts.operator, &why) {
                    crate::stdio::errln!("serve: cannot record the refusal: {e}");
                }
                continue;
            }
            Err(e) => {
                crate::stdio::errln!(
                    "serve: cannot check the trigger of {}: {e}",
                    entry.plan.name
                );
                continue;
            }
        }
        starts.push(firing::Start {
            file: &t.file,
            index: TRIGGER_INDEX,
            slot: t.at,
            entry,
            schedule: None,
            params: t.params.clone(),
        });
        asked.push(t);
    }
    let done = firing::start_runs(store, opts, &starts, starting).await;
    for ((s, t), r) in starts.iter().zip(asked).zip(done) {
        if let Err(e) = r {
            crate::stdio::errln!("serve: {} triggered by {}: {e}", s.entry.plan.name, t.by);
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
    let (mut starts, mut asked) = (Vec::new(), Vec::new());
    for b in &due {
        let Some(entry) = catalog.entries.get(&b.file) else {
            continue;
        };
        let Some(s) = entry.plan.schedules.iter().find(|s| s.index == b.index) else {
            continue;
        };
        // Only a slot the audit chain's backfill decision asked for, proved by its
        // account, starts a run; any other row is refused on record.
        let name = sched::schedule_name(&entry.plan.name, b.index);
        if !proofs::backfill_proved(store, b, &name, &opts.operator) {
            continue;
        }
        starts.push(firing::Start {
            file: &b.file,
            index: b.index,
            slot: b.slot,
            entry,
            schedule: Some(s),
            params: s.params.clone(),
        });
        asked.push(b);
    }
    let done = firing::start_runs(store, opts, &starts, starting).await;
    for ((s, b), r) in starts.iter().zip(asked).zip(done) {
        if let Err(e) = r {
            crate::stdio::errln!(
                "serve: {} slot {} backfilled by {}: {e}",
                sched::schedule_name(&s.entry.plan.name, b.index),
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
    /// The `[[trigger]]`s' events: runs ended, files settled.
    watch: watching::Watch,
    /// The waiting gates' escalations, looked at in a task of their own.
    escalations: escalate::Looker,
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

    /// How long the loop may sleep at `now`: until the next slot, if that comes
    /// before the next tick. A loop that only ticked found a slot up to a tick late.
    fn wait(&self, now: Timestamp) -> Duration {
        match self.next.values().min() {
            // Come already (just decided, or its decision failed): the tick decides.
            Some(t) if *t > now => TICK.min(Duration::from_millis((t.0 - now.0) as u64)),
            _ => TICK,
        }
    }
}

/// One schedule at `now`: which of its slots are due, and their fates.
fn decide_schedule(
    (store, state): (&mut Store, &mut ServeState),
    at: &Slot<'_>,
    (started, operator): (Timestamp, &str),
    now: Timestamp,
) -> Result<sched::Decision, SessionError> {
    let Slot { file, s, row, .. } = *at;
    let recorded = store.last_slot(file, s.index)?;
    // The serve's own cursor: slot rows deleted from the store are not fired again.
    let own = state.cursor(file, s.index);
    if let Some(own) = own
        && recorded.is_none_or(|r| r < own)
    {
        let name = sched::schedule_name(&at.entry.plan.name, s.index);
        proofs::report_missing(store, state, (file, s.index, &name), own, operator);
    }
    let paused = state.paused(file, s.index);
    let facts = schedule_facts(s, (recorded, own, row.since), (started, paused), now);
    Ok(sched::decide(&s.cadence, &facts))
}

/// What one schedule's slots are decided on at `now` (`model::schedule::decide`): its
/// cursor the later of the store's last recorded slot and the serve's own (`own`: slot
/// rows deleted from the store are not fired again), else when it was first served
/// (`since`); awake since this serve began watching it (`started`); `paused` as the
/// serve last proved it, never as the row says (issue 41 point 2). The simulator
/// decides its serve's slots on the same.
pub fn schedule_facts(
    s: &Schedule,
    (recorded, own, since): (Option<Timestamp>, Option<Timestamp>, Timestamp),
    (started, paused): (Timestamp, bool),
    now: Timestamp,
) -> Facts {
    Facts {
        now,
        cursor: recorded.max(own).unwrap_or(since),
        awake_since: started.max(since),
        paused,
        catch_up: s.catch_up,
        max_catch_up: s.max_catch_up,
    }
}

/// Every schedule due at `now` (all of them if `changed`): its slots decided and
/// recorded in one transaction, and the runs of those that start made together
/// (`firing`). Each schedule's next slot goes to `known`.
async fn fire_due(
    (store, state): (&mut Store, &mut ServeState),
    (catalog, opts): (&Catalog, &ServeOptions),
    (started, changed): (Timestamp, bool),
    known: &mut Known,
    starting: &mut Starting<'_>,
) {
    let now = Timestamp::now();
    let rows = std::mem::take(&mut known.rows);
    let mut decided: Vec<(Slot<'_>, Timestamp, Fate)> = Vec::new();
    for (file, entry) in &catalog.entries {
        for s in &entry.plan.schedules {
            let Some(row) = rows.iter().find(|r| &r.file == file && r.index == s.index) else {
                continue;
            };
            let key = (file.clone(), s.index);
            if !changed && known.next.get(&key).is_some_and(|t| *t > now) {
                continue;
            }
            // Whether it is paused is not known yet (its seed failed): it waits, as a
            // paused schedule would, and is decided once it is known.
            if !state.knows(file, s.index) {
                known.next.remove(&key);
                continue;
            }
            let at = Slot {
                file,
                entry,
                s,
                row,
            };
            match decide_schedule(
                (&mut *store, &mut *state),
                &at,
                (started, &opts.operator),
                now,
            ) {
                Ok(d) => {
                    known
                        .next
                        .insert(key, d.next.unwrap_or(Timestamp(i64::MAX)));
                    decided.extend(d.slots.into_iter().map(|(slot, fate)| (at, slot, fate)));
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
    if !decided.is_empty() {
        fire((&mut *store, &mut *state), opts, &decided, known, starting).await;
    }
    known.rows = rows;
}

/// Record the `decided` slots (each once: one an earlier serve recorded is left to
/// it), then start the runs of those that start.
async fn fire(
    (store, state): (&mut Store, &mut ServeState),
    opts: &ServeOptions,
    decided: &[(Slot<'_>, Timestamp, Fate)],
    known: &mut Known,
    starting: &mut Starting<'_>,
) {
    let rows: Vec<(&str, u32, Timestamp, &str)> = decided
        .iter()
        .map(|(at, slot, fate)| (at.file, at.s.index, *slot, fate.as_str()))
        .collect();
    let fresh = match store.record_slots(&rows) {
        Ok(f) => f,
        Err(e) => {
            crate::stdio::errln!("serve: cannot record the slots due: {e}");
            // Decided again at the next tick.
            for (at, _, _) in decided {
                known.next.remove(&(at.file.to_string(), at.s.index));
            }
            return;
        }
    };
    // Each slot decided moves its schedule's own cursor, kept where no member writes.
    for (at, slot, _) in decided {
        state.advance(at.file, at.s.index, *slot);
    }
    if let Err(e) = state.save() {
        crate::stdio::errln!("serve: cannot keep its cursor: {e}");
    }
    let mut starts = Vec::new();
    for ((at, slot, fate), fresh) in decided.iter().zip(fresh) {
        if !fresh {
            continue; // decided by an earlier serve
        }
        if *fate == Fate::Start {
            starts.push(firing::Start {
                file: at.file,
                index: at.s.index,
                slot: *slot,
                entry: at.entry,
                schedule: Some(at.s),
                params: at.s.params.clone(),
            });
        } else {
            crate::stdio::errln!(
                "serve: {} slot {} {}",
                sched::schedule_name(&at.entry.plan.name, at.s.index),
                slot.to_rfc3339(),
                fate.as_str()
            );
        }
    }
    let done = firing::start_runs(store, opts, &starts, starting).await;
    for (s, r) in starts.iter().zip(done) {
        if let Err(e) = r {
            crate::stdio::errln!(
                "serve: {}: {e}",
                sched::schedule_name(&s.entry.plan.name, s.index)
            );
        }
    }
}
