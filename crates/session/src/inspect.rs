//! The one reading of a run: its stored events replayed through the core (checked
//! against the run's event chain first, as every replay is), with what only the store
//! knows beside it (the run's lease, its log files and recorded output tails). The
//! console, `show`, `show --json`, `logs` and `runs --json`'s signals all read a run
//! through [`inspect`] (the console through [`super::follow::Follow`], which keeps the
//! replayed core and applies new events as they arrive).
use super::SessionError;
use super::prepare::{PlanSource, rebuild};
use baton_core::Core;
use baton_engine::set_log_paths;
use baton_model::liveness;
use baton_model::{RunState, RunView, StepState, Timestamp};
use baton_store::Store;

/// A running step's tail in a run read from the store: the end of its log file.
const TAIL_BYTES: u64 = 16 * 1024;
const TAIL_LINES: usize = 200;

/// Run `run_id` as it stands at `now` (a running step's duration runs to it).
pub fn inspect(store: &Store, run_id: &str, now: Timestamp) -> Result<RunView, SessionError> {
    let core = replayed(store, run_id)?;
    Ok(read(store, &core, now))
}

/// The view of a replayed core at `now` as every reader shows it: decorated with what
/// the store knows (see [`decorate`]) and, once the run is known interrupted, its
/// clocks stopped at the engine's last sign of life (`model::liveness::stop_clocks`)
/// and its actions those a takeover would find (see [`takeover_actions`]).
pub(super) fn read(store: &Store, core: &Core, now: Timestamp) -> RunView {
    let mut view = core.view(now);
    decorate(store, core.plan(), &mut view);
    if view.state == RunState::Interrupted {
        engine_gone(store, core, &mut view, now);
        left_running(store, &mut view);
    }
    view
}

/// What waits on a person in a run (`model::inbox::waiting` of it): [`read`] without
/// what only the run's own page shows (its steps' logs, tails and summaries, its
/// forks, triggers and notes, and what a dead engine left running, a look at every
/// process of this host). Its state and who drives it, its parent and, once it is
/// interrupted, its stopped clocks and a takeover's actions are [`read`]'s.
pub(super) fn read_waiting(store: &Store, core: &Core, now: Timestamp) -> RunView {
    let mut view = core.view(now);
    live(store, &mut view);
    view.parent = store.parent_of(&view.run_id).ok().flatten();
    if view.state == RunState::Interrupted {
        engine_gone(store, core, &mut view, now);
    }
    view
}

/// The run's state as every reader says it (`interrupted` once its engine is gone,
/// see `model::liveness`) and who drives it.
fn live(store: &Store, view: &mut RunView) {
    if let Ok(l) = store.run_liveness(&view.run_id) {
        view.state = l.state;
        view.driven_by = l.driven_by;
    }
}

/// An interrupted run's view: its clocks stopped at its engine's last sign of life
/// and its actions a takeover's.
fn engine_gone(store: &Store, core: &Core, view: &mut RunView, now: Timestamp) {
    let beat = store
        .lease(&view.run_id)
        .ok()
        .flatten()
        .map(|l| l.heartbeat_at);
    let last_sign = core.last_event_at().max(beat).unwrap_or(now);
    // First: the steps a dead engine left running read interrupted, so that the
    // takeover's actions offer their resume (`baton inbox`, found by the chaos
    // campaign: after a kill -9 they were in no inbox).
    liveness::stop_clocks(view, last_sign);
    takeover_actions(core, view, now);
}

/// An interrupted run's steps that still run without their engine (issue 41 point 1)
/// say so: the process (pid) or job left running, which keeps the run's group and
/// pool slots from the next run until it ends or a takeover stops it.
fn left_running(store: &Store, view: &mut RunView) {
    for l in store.left_running(&view.run_id).unwrap_or_default() {
        if let Some(s) = view.steps.iter_mut().find(|s| s.id == l.step()) {
            s.left_running = Some(l);
        }
    }
}

/// What may be done to an interrupted run: what its core accepts once resumed, as a
/// command on it resumes it first (`command::take_over`: the console and the CLI alike).
/// Asked of a resumed copy; the view keeps the run as it stands.
fn takeover_actions(core: &Core, view: &mut RunView, now: Timestamp) {
    let mut resumed = core.clone();
    let _ = resumed.resume("baton", now);
    let after = resumed.view(now);
    view.actions = after.actions;
    for (s, a) in view.steps.iter_mut().zip(&after.steps) {
        s.actions = a.actions;
        // Interrupted, and a takeover runs it again rather than wait for a person.
        s.actions.resume = s.state == StepState::Interrupted && a.state != StepState::Interrupted;
    }
    for g in &mut view.gates {
        if let Some(a) = after.gates.iter().find(|a| a.step_id == g.step_id) {
            g.actions = a.actions;
        }
    }
}

/// The run's core rebuilt from its events, to read: with the workflow text the run
/// recorded or, when that text does not load (the run's secrets are masked in it, and a
/// secret's value inside a step id breaks it), with the workflow file as it is now;
/// either way the replay checks every event against the plan. What `inspect`'s readers
/// print of the plan is step ids and states (outputs and error records come from the
/// events, masked when recorded); the console, which also shows commands and
/// environments, reads the recorded text only (`Follow::open`).
/// The plan run `run_id` is read with (`inspect`'s): what its events name (a gate's
/// inputs, for the headless lines of `baton events`). `None` when it cannot be read.
pub fn plan_of(store: &Store, run_id: &str) -> Option<std::sync::Arc<baton_workflow::Plan>> {
    replayed(store, run_id)
        .ok()
        .map(|core| std::sync::Arc::clone(core.plan()))
}

fn replayed(store: &Store, run_id: &str) -> Result<Core, SessionError> {
    match rebuild(store, run_id, PlanSource::Recorded, &[], false) {
        Err(e @ SessionError::Diagnostics(_)) => {
            rebuild(store, run_id, PlanSource::Current, &[], false).map_err(|_| e)
        }
        r => r,
    }
}

/// What the store knows of a replayed run beside its events: its state as every reader
/// says it (`interrupted` once its engine is gone, see `model::liveness`) and who
/// drives it, each step's log file and output tail, and which runs hold the store-wide
/// pool a queued step waits for.
pub(super) fn decorate(store: &Store, plan: &baton_workflow::Plan, view: &mut RunView) {
    live(store, view);
    if view.state == RunState::Queued {
        view.waiting_for = store.group_wait(&view.run_id).ok().flatten();
    }
    set_log_paths(&store.log_dir(&view.run_id), view);
    // The runs forked from this one (a fork knows its origin from its own history).
    view.forked_into = store.forks_of(&view.run_id).unwrap_or_default();
    child_links(store, view);
    view.triggers = trigger_links(store, &view.run_id);
    fill_tails(store, view);
    shared_pool_waits(store, plan, view);
    view.notes = store.notes(&view.run_id).unwrap_or_default();
    fill_summaries(&store.log_dir(&view.run_id), view);
}

/// The most summary text one view carries (`$BATON_SUMMARY`, each at most 64 KiB):
/// past it a step's summary is named, not read, so a run of thousands of steps that
/// each wrote one does not make every view of it megabytes.
const SUMMARIES_MAX: usize = 1 << 20;

/// Each step's summary, as its latest attempt that wrote one kept it beside its log
/// (`STEP.ATTEMPT.summary.md`): one listing of the log directory, and a read only of
/// what it holds.
fn fill_summaries(log_dir: &std::path::Path, view: &mut RunView) {
    let Ok(entries) = std::fs::read_dir(log_dir) else {
        return;
    };
    let kept: std::collections::HashSet<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".summary.md"))
        .collect();
    if kept.is_empty() {
        return;
    }
    let mut budget = SUMMARIES_MAX;
    for s in view.steps.iter_mut() {
        let Some(name) = (1..=s.attempts).rev().find_map(|a| {
            let log = baton_model::log_file_name(&s.id, a);
            baton_exec::summary::name_beside(&log).filter(|n| kept.contains(n))
        }) else {
            continue;
        };
        let path = log_dir.join(&name);
        let text = match read_kept(&path, budget) {
            Some(text) => text,
            None => format!(
                "(not shown here: too many summaries in one run; it is kept in {})",
                path.display()
            ),
        };
        budget = budget.saturating_sub(text.len());
        s.summary = Some(text.into_boxed_str());
    }
}

/// A kept summary (written sanitised and bounded by the engine), read anew bounded;
/// `None` past `budget`.
fn read_kept(path: &std::path::Path, budget: usize) -> Option<String> {
    use std::io::Read;
    let max = baton_model::note::MAX_SUMMARY + 512;
    let f = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    f.take(max as u64).read_to_end(&mut bytes).ok()?;
    (bytes.len() <= budget).then(|| String::from_utf8_lossy(&bytes).trim_end().to_string())
}

/// Both ends of child runs (`workflow = "…"`): the run's parent, and each step's child.
pub(super) fn child_links(store: &Store, view: &mut RunView) {
    view.parent = store.parent_of(&view.run_id).ok().flatten();
    let children = store.children_of(&view.run_id).unwrap_or_default();
    for (step, child) in children {
        if let Some(s) = view.steps.iter_mut().find(|s| s.id == step) {
            s.child_run = Some(child.run);
        }
    }
}

/// A queued step of a full store-wide pool (`scope = "store"`) says who holds it.
fn shared_pool_waits(store: &Store, plan: &baton_workflow::Plan, view: &mut RunView) {
    for (step, s) in plan.steps.iter().zip(view.steps.iter_mut()) {
        let Some(pool) = step.pool.map(|p| &plan.pools[p]) else {
            continue;
        };
        if s.state != baton_model::StepState::Queued
            || pool.scope != baton_workflow::PoolScope::Store
        {
            continue;
        }
        if let Ok(holders) = store.pool_holders(&pool.name)
            && let Some(why) = baton_model::queued_pool_wait(
                &pool.name,
                pool.capacity,
                &holders,
                &view.run_id,
                &s.id,
            )
        {
            s.waiting_for = Some(why);
        }
    }
}

/// A running step's output tail from its log file (the engine writes it as output
/// arrives), a finished one's as the engine recorded it; in a group store, which keeps
/// no tails, from its log file too, for whoever may read it (its starter): a tail
/// found in a group store is a member's, never read. Recorded tails the store refuses
/// (a forged `events.logs`: `StoreError::Tampered`) are not read either: the log
/// files are, so the view still shows each step's output.
fn fill_tails(store: &Store, view: &mut RunView) {
    let recorded = if store.is_shared() {
        None
    } else {
        store.attempt_tails(&view.run_id).ok()
    };
    let from_files = recorded.is_none();
    let recorded = recorded.unwrap_or_default();
    for sv in &mut view.steps {
        let tail = recorded.get(&sv.id).filter(|t| !t.is_empty());
        match tail {
            Some(tail) if sv.state != StepState::Running => {
                sv.log_tail = tail.lines().map(str::to_string).collect();
            }
            None if sv.state != StepState::Running && !from_files => {}
            _ => {
                if let Some(lines) = sv
                    .log_path
                    .as_deref()
                    .and_then(|p| baton_store::read_tail(p, TAIL_BYTES).ok())
                {
                    let skip = lines.len().saturating_sub(TAIL_LINES);
                    sv.log_tail = lines.into_iter().skip(skip).collect();
                }
            }
        }
    }
}

/// Each gauge run's budget use (`Metrics::run_gauges`), which the store's tables do
/// not hold: the replayed core's. A run that cannot be replayed keeps none.
pub fn add_budgets(store: &Store, m: &mut baton_model::metrics::Metrics, now: Timestamp) {
    for g in &mut m.run_gauges {
        if let Ok(Some(b)) = replayed(store, &g.run).map(|c| c.view(now).budget) {
            g.budget = b.dimensions();
            g.burn = b.burn;
        }
    }
}

/// The event whose trigger made `run_id`, and what its end started (`[[trigger]]`).
fn trigger_links(store: &Store, run_id: &str) -> baton_model::view::TriggerLinks {
    let link = |e: baton_store::trigger_events::EventRow| baton_model::view::TriggerLink {
        trigger: baton_store::trigger_events::trigger_name(&e.workflow, e.index, &e.kind),
        kind: e.kind,
        event: e.detail,
        fate: e.fate,
        run: e.run_id,
        why: e.why,
        events: Vec::new(),
    };
    // A coalesced run took several events: the first names it, all are listed.
    let took = store.events_of_run(run_id).unwrap_or_default();
    let started_by = took.first().cloned().map(|first| {
        let mut l = link(first);
        if took.len() > 1 {
            l.events = took.iter().map(|e| e.detail.clone()).collect();
        }
        l
    });
    baton_model::view::TriggerLinks {
        started_by,
        started: store
            .started_by_run(run_id)
            .unwrap_or_default()
            .into_iter()
            .map(link)
            .collect(),
    }
}
