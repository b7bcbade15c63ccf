//! Remote steps (`--mix remote`): every step but the batch's `publish` runs on an SSH
//! executor, as jobs on a host of their own that outlive the engine that started
//! them. A takeover asks the simulated host what a dead engine left there (a
//! [`Backend`] of the simulator's, through the session's own
//! `command::take_over_on`), re-attaches to the jobs on record, and a stop reaches a
//! job over its connection, late when the connection stalls. A console's detach hands
//! a run to a background engine. The promises these add are checked against what the
//! hosts ran (the ground truth), not only against the record.
use crate::executor::{Faults, HostEnd};
use crate::world::World;
use crate::{Bug, SimError};
use baton_exec::{Backend, Backends, BoxFuture, ExecError, LeftBehind, NotAnswered, ShellJob};
use baton_model::{EventKind, StepOutcome};
use baton_workflow::ExecutorKind;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The executor the remote steps name (`[executors.hosts]`).
pub(crate) const EXECUTOR: &str = "hosts";

/// What the simulated hosts hold of the run being taken over, for the takeover's
/// [`Backend::left_behind`]: set by the world just before each takeover.
#[derive(Debug, Clone)]
pub(crate) struct HostsView(Arc<Mutex<Result<Vec<LeftBehind>, NotAnswered>>>);

impl Default for HostsView {
    fn default() -> HostsView {
        HostsView(Arc::new(Mutex::new(Ok(Vec::new()))))
    }
}

impl HostsView {
    /// What the host answers the next takeover: what is left there, or (it does not
    /// answer) why not.
    fn set(&self, left: Result<Vec<LeftBehind>, NotAnswered>) {
        if let Ok(mut v) = self.0.lock() {
            *v = left;
        }
    }
}

/// The simulated host as a back end: only `left_behind` is asked of it (the
/// simulator's engines start and follow attempts themselves).
#[derive(Debug)]
struct SimHost {
    name: String,
    view: HostsView,
}

fn not_here() -> ExecError {
    ExecError::HostDown {
        message: "the simulator's engines start and follow attempts themselves".into(),
    }
}

impl Backend for SimHost {
    fn name(&self) -> &str {
        &self.name
    }

    fn start(
        self: Arc<Self>,
        _job: ShellJob,
        _timeout: Option<Duration>,
    ) -> BoxFuture<Result<Box<dyn baton_exec::Attempt>, ExecError>> {
        Box::pin(std::future::ready(Err(not_here())))
    }

    fn reattach(
        self: Arc<Self>,
        _job: ShellJob,
        _job_id: &str,
        _frozen: bool,
    ) -> Result<Box<dyn baton_exec::Attempt>, ExecError> {
        Err(not_here())
    }

    fn left_behind(&self) -> Result<Vec<LeftBehind>, NotAnswered> {
        self.view
            .0
            .lock()
            .map_err(|_| NotAnswered {
                why: "the simulated host's view is poisoned".to_string(),
            })?
            .clone()
    }
}

/// The executor kinds a takeover in the simulator is made with: the built-in ones,
/// an SSH executor answered by the simulated host.
pub(crate) fn backends(view: &HostsView) -> Backends {
    let view = view.clone();
    Backends::builtin().with(move |spec, _| {
        let remote = matches!(
            spec.kind,
            ExecutorKind::Ssh(_) | ExecutorKind::Slurm(_) | ExecutorKind::Batch(_)
        );
        remote.then(|| {
            Arc::new(SimHost {
                name: spec.name.clone(),
                view: view.clone(),
            }) as Arc<dyn Backend>
        })
    })
}

impl World {
    /// How the simulated executors go wrong, by the bug put back.
    pub(crate) fn faults(&self) -> Faults {
        Faults {
            ignore_freeze: self.config.bug == Some(Bug::IgnoreFreeze),
            stop_is_the_end: self.config.bug == Some(Bug::StopIsTheEnd),
            forget_job: self.config.bug == Some(Bug::ForgetJob),
            term_is_the_end: self.config.bug == Some(Bug::TermIsTheEnd),
            stale_outputs: self.config.bug == Some(Bug::StaleOutputs),
        }
    }

    /// How late a stop reaches a remote job: at once mostly, 1 to 5 s when its
    /// connection stalls (from the remote stream: the other mixes draw nothing).
    pub(crate) fn stop_delay(&mut self, remote: bool) -> i64 {
        if !remote {
            return 0;
        }
        match self.remote.random_range(0..100) {
            0..50 => self.remote.random_range(0..300),
            _ => self.remote.random_range(1_000..5_000),
        }
    }

    /// A remote attempt's race with its timeout: one in five ends 0 to 3 s past it,
    /// while the timeout's stop may still be on its way.
    pub(crate) fn slow(&mut self) -> crate::executor::Slow {
        let past =
            (self.remote.random_range(0..100) < 20).then(|| self.remote.random_range(0..3_000));
        crate::executor::Slow(past)
    }

    /// The plan of `run`'s workflow (`None`: a run this world did not make).
    fn plan_of(&self, run: &str) -> Option<&std::sync::Arc<baton_workflow::Plan>> {
        let (_, w) = self.runs.iter().find(|(r, _)| r == run)?;
        Some(&self.workflows[*w].plan)
    }

    /// Whether step `step` of `run`'s workflow runs on the remote executor.
    pub(crate) fn is_remote(&self, run: &str, step: usize) -> bool {
        self.plan_of(run)
            .is_some_and(|p| job_step(p, step, self.config.mix))
    }

    /// The id of step `step` of `run`'s workflow.
    pub(crate) fn step_id(&self, run: &str, step: usize) -> Option<String> {
        step_id(self, run, step)
    }

    /// `session::command::take_over_on` of `run` by engine `by`, its lease under that
    /// engine's holder, on `on`'s store (the operators' or an engine's), the simulated
    /// host answering what the run left there.
    pub(crate) fn take_over(
        &mut self,
        (on, by): (Option<usize>, usize),
        run: &str,
        command: Option<baton_model::Command>,
    ) -> Result<(baton_session::Ready, Option<String>), baton_session::SessionError> {
        let mut leased = std::mem::take(&mut self.leased);
        let plan = self.plan_of(run).cloned();
        let left = self
            .executors
            .left_behind(run, self.now, self.faults())
            .into_iter()
            .filter_map(|(step, attempt, job_id)| {
                Some(LeftBehind {
                    step: plan.as_ref()?.steps.get(step)?.id.clone(),
                    attempt,
                    job_id,
                })
            })
            .collect();
        // `--mix executors`: a host that does not answer says so (`Unanswered`).
        let answers = (self.executors.jobs.as_ref()).is_none_or(|j| j.answers(self.now));
        self.hosts.set(match answers {
            true => Ok(left),
            false => Err(NotAnswered {
                why: "ssh: connect to host sim-host: Connection timed out".to_string(),
            }),
        });
        // The command's own account takes the run over (`baton approve …` is its
        // process); a resume is its engine's account's.
        let operator = match (&command, on) {
            (Some(c), _) => c.operator().to_string(),
            (None, Some(e)) => self.engine_user(e),
            (None, None) => self.user.clone(),
        };
        // Who drove the run live as the takeover began (the taking engine aside: a
        // takeover cut after its lease holds it already): nobody may take it from them.
        let holder = self.engines[by].holder();
        let driven = (self.ops.run_liveness(run)?.driven_by).filter(|h| *h != holder);
        let store = match on {
            Some(e) => &mut self.engines[e].store,
            None => &mut self.ops,
        };
        if self.take_any {
            // The bug put back: the lease taken whatever its heartbeat says.
            let now = baton_model::Timestamp(self.now);
            store.take_over_lease(run, &holder, now, std::time::Duration::ZERO)?;
            leased = true;
        }
        let taker = (run, holder.as_str());
        let taken = match leased {
            true => baton_session::command::take_over_leased_on(
                store,
                taker,
                &operator,
                command,
                &self.backends,
            ),
            false => baton_session::command::take_over_on(
                store,
                taker,
                &operator,
                command,
                &self.backends,
            ),
        };
        if let (Ok(_), Some(holder)) = (&taken, driven) {
            self.takeover_broke.get_or_insert((
                "a_driven_run_is_not_taken_over",
                format!("{run} taken over while {holder} drove it, its lease live"),
            ));
        }
        taken
    }

    /// With `--mix remote`: now and then (4 % of actions) an awake engine's console
    /// detaches one of its runs (`q` → Detach): the core hands it over
    /// (`Input::Detach`; with [`Bug::DetachStops`], a quit's `Input::Shutdown`), the
    /// engine lets it go, and a background engine (`baton resume RUN --headless`)
    /// takes it over and re-attaches to its remote jobs.
    pub(crate) fn maybe_detach(&mut self) -> Result<(), SimError> {
        self.maybe_outage();
        if !self.config.mix.remote() || self.remote.random_range(0..100) >= 4 {
            return Ok(());
        }
        let e = self.remote.random_range(0..crate::world::ENGINES);
        if self.engines[e].stalled(self.now) {
            return Ok(());
        }
        let runs: Vec<String> = self.engines[e].runs.keys().cloned().collect();
        if runs.is_empty() {
            return Ok(());
        }
        let run = runs[self.remote.random_range(0..runs.len())].clone();
        self.steps += 1;
        let on_record = self.jobs_on_record(&run);
        let before = self.stops_of(&run, &on_record);
        let reason = "detached: handed to a background engine".to_string();
        let input = match self.config.bug {
            Some(Bug::DetachStops) => baton_core::Input::Shutdown { reason },
            _ => baton_core::Input::Detach { reason },
        };
        self.history.push(format!(
            "  engine {e} detaches {run} (jobs on record: {on_record:?})"
        ));
        let Some(with_engine) = self.hand_over(e, &run, input, &on_record)? else {
            return Ok(());
        };
        let after = self.stops_of(&run, &on_record);
        let stops = (&before[..], &after[..], &with_engine[..]);
        self.detach_broke = stopped_by_detach(&run, &on_record, stops);
        let b = (e + 1) % crate::world::ENGINES;
        let Some(b) = self.awake(b) else {
            return Ok(());
        };
        match self.take_over((Some(b), b), &run, None) {
            Ok((ready, _)) => {
                self.history
                    .push(format!("  engine {b} resumes {run} in the background"));
                self.adopt(b, ready)
            }
            Err(err) => {
                self.history
                    .push(format!("  engine {b} background resume of {run}: {err}"));
                Ok(())
            }
        }
    }

    /// The remote attempts of `run` whose job the checks read on record, still
    /// running: (step index, attempt).
    fn jobs_on_record(&self, run: &str) -> Vec<(usize, u32)> {
        let Some(t) = self.checker.track(run) else {
            return Vec::new();
        };
        let Some(plan) = self.plan_of(run) else {
            return Vec::new();
        };
        t.jobs
            .iter()
            .filter_map(|(step, attempt)| Some((plan.step_index(step)?, *attempt)))
            .collect()
    }

    /// When a stop reached (or reaches) each of `attempts` of `run`.
    fn stops_of(&self, run: &str, attempts: &[(usize, u32)]) -> Vec<Option<i64>> {
        attempts
            .iter()
            .map(|(step, attempt)| {
                self.executors
                    .attempts
                    .get(&(run.to_string(), *step, *attempt))
                    .and_then(|a| a.remote.as_ref())
                    .and_then(|r| r.stopped_at)
            })
            .collect()
    }

    /// Engine `e` hands `run` over with `input` (committed, acted on), then lets it
    /// go: which of `attempts` its core stopped with the engine as it decided the
    /// hand-over (the news already in is decided first: a cancel's or a timeout's stop
    /// is not the engine's). `None`: it no longer held the run.
    fn hand_over(
        &mut self,
        e: usize,
        run: &str,
        input: baton_core::Input,
        attempts: &[(usize, u32)],
    ) -> Result<Option<Vec<bool>>, SimError> {
        if !self.engines[e].runs.contains_key(run) {
            return Ok(None);
        }
        let Some(with_engine) = self.wake_with((e, run), input, attempts)? else {
            return Ok(None);
        };
        // Let go of as a detaching engine lets go (`wake::hold`).
        self.leave(e, run, baton_engine::wake::hold::Leaving::Stopping)?;
        // What the detaching engine followed, it follows no more.
        for a in self.executors.attempts.values_mut() {
            if let Some(r) = a.remote.as_mut() {
                r.followers.retain(|f| *f != e);
            }
        }
        Ok(Some(with_engine))
    }
}

/// docs/commands.md, "Detach: what goes on": "A remote step whose job is on record
/// (SSH, Slurm, a batch system) is left as it is; the background engine re-attaches to
/// it". None of `on_record` got a stop from the detach: none whose stop time moved,
/// `before` to `after` it, is one the core stopped with the engine (`with_engine`); a
/// cancel's or a timeout's stop decided in the same wake-up leaves its attempt running.
fn stopped_by_detach(
    run: &str,
    on_record: &[(usize, u32)],
    (before, after, with_engine): (&[Option<i64>], &[Option<i64>], &[bool]),
) -> Option<String> {
    let stopped: Vec<String> = (on_record.iter().zip(with_engine))
        .zip(before.iter().zip(after))
        .filter(|((_, with_engine), (b, a))| b != a && **with_engine)
        .map(|(((step, attempt), _), _)| format!("step {step} attempt {attempt}"))
        .collect();
    (!stopped.is_empty())
        .then(|| format!("the detach of {run} stopped its remote jobs on record: {stopped:?}"))
}

/// Whether step `step` of `plan` runs on the remote executor as a job: on SSH hosts;
/// with `--mix executors`, on Slurm or a batch scheduler too (`--mix queues` plays
/// those as local processes, as it did when its seeds were kept).
pub(crate) fn job_step(plan: &baton_workflow::Plan, step: usize, mix: crate::Mix) -> bool {
    plan.steps
        .get(step)
        .and_then(|s| s.executor)
        .and_then(|x| plan.executors.get(x))
        .is_some_and(|x| job_kind(&x.kind, mix))
}

/// Whether an attempt the engine's dispatch (`baton_engine::hands`) sent to `executor`
/// runs as a job on a host of its own, as [`job_step`] says of its kind.
pub(crate) fn job_on(plan: &baton_workflow::Plan, executor: &dyn Backend, mix: crate::Mix) -> bool {
    !executor.is_local()
        && (plan.executors.iter())
            .find(|x| x.name == executor.name())
            .is_some_and(|x| job_kind(&x.kind, mix))
}

fn job_kind(kind: &ExecutorKind, mix: crate::Mix) -> bool {
    match kind {
        ExecutorKind::Ssh(_) => true,
        ExecutorKind::Slurm(_) | ExecutorKind::Batch(_) => mix == crate::Mix::Executors,
        _ => false,
    }
}

/// docs/executors.md: "The attempt is recorded as stopped (`cancelled`, `timeout`)
/// only when a stop reached its group before it ended; otherwise the record is the
/// host's own exit code […]: never `cancelled` or `timeout` for a step that ran to its
/// end." Each remote attempt that ran to its end on its host is recorded with its own
/// exit code, if recorded ended.
pub(crate) fn a_remote_end_is_the_hosts(world: &World) -> Option<String> {
    for ((run, step, attempt), a) in &world.executors.attempts {
        let Some(HostEnd::Ran(code)) = a.remote.as_ref().and_then(|r| r.host_end(world.now)) else {
            continue;
        };
        let Some(t) = world.checker.track(run) else {
            continue;
        };
        let Some(id) = step_id(world, run, *step) else {
            continue;
        };
        let Some(outcome) = t.finished.get(&(id.clone(), *attempt)) else {
            continue;
        };
        if *outcome != (StepOutcome::Exited { exit_code: code }) {
            return Some(format!(
                "run {run} step {id} attempt {attempt} ran to its end on its host (exit {code}) and is recorded {outcome:?}"
            ));
        }
    }
    None
}

/// docs/executors.md: a step's attempt "is never started twice", and on resume a job
/// on record is re-attached to, not started again: no two attempts of one step of a
/// run live at once on the hosts (local processes of a stalled engine's host are
/// paused, and not counted).
pub(crate) fn a_step_runs_once_at_a_time(world: &World) -> Option<String> {
    let paused = |e: usize| world.engines[e].stalled(world.now);
    let mut seen: BTreeMap<(&str, usize), u32> = BTreeMap::new();
    for (run, step, attempt) in world.executors.running(paused, world.now) {
        if let Some(first) = seen.insert((run.as_str(), *step), *attempt) {
            let id = step_id(world, run, *step).unwrap_or_default();
            return Some(format!(
                "run {run} step {id}: attempts {first} and {attempt} live at once"
            ));
        }
    }
    None
}

/// docs/workflow/concurrency-and-schedules.md: "at most one run of a group is active",
/// from the hosts: no processes of two runs of the group live at once (the chaos
/// campaign's reading, from the steps' own stamps). A stalled engine's local processes
/// are paused and not counted: a holder on another host is seen by its heartbeat only.
pub(crate) fn one_run_of_a_group_on_the_hosts(world: &World) -> Option<String> {
    let paused = |e: usize| world.engines[e].stalled(world.now);
    let group: BTreeSet<&str> = world
        .runs
        .iter()
        .filter(|(_, w)| world.workflows[*w].max_pending.is_some())
        .map(|(r, _)| r.as_str())
        .collect();
    let mut live: BTreeMap<&str, String> = BTreeMap::new();
    for (run, step, attempt) in world.executors.running(paused, world.now) {
        if group.contains(run.as_str()) {
            let id = step_id(world, run, *step).unwrap_or_default();
            live.entry(run.as_str())
                .or_insert_with(|| format!("{run} {id} attempt {attempt}"));
        }
    }
    (live.len() > 1).then(|| {
        format!(
            "processes of {} runs of the group live at once: {:?}",
            live.len(),
            live.values().collect::<Vec<_>>()
        )
    })
}

fn step_id(world: &World, run: &str, step: usize) -> Option<String> {
    Some(world.plan_of(run)?.steps.get(step)?.id.clone())
}

/// What a run's events tell the remote checks: each attempt's recorded end, and the
/// jobs on record of attempts still running.
pub(crate) fn learn(t: &mut crate::invariants::Track, kind: &EventKind) {
    match kind {
        EventKind::StepJob { step, attempt, .. } => {
            t.jobs.insert((step.clone(), *attempt));
        }
        EventKind::StepFinished {
            step,
            attempt,
            outcome,
            ..
        } => {
            t.jobs.remove(&(step.clone(), *attempt));
            t.finished.insert((step.clone(), *attempt), outcome.clone());
        }
        EventKind::StepStateChanged {
            step,
            state,
            attempt,
            ..
        } if *state != baton_model::StepState::Running => {
            t.jobs.remove(&(step.clone(), *attempt));
        }
        _ => {}
    }
}
