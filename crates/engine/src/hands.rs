//! The executors' hands' dispatch, one for both worlds: which back end an effect of the
//! core goes to, with which call and what arguments. Synchronous and deterministic: the
//! driver makes the call it names on a real back end (`driver/spawn.rs`, in a task of
//! its own), the simulator's hosts act on it (`crates/sim/src/executor.rs`), so a step
//! on a local, SSH, Slurm or batch executor takes the one path in both worlds.
//!
//! The calls themselves are the driver's alone: [`Backend::start`] hands back a `'static`
//! future of an [`exec::Attempt`] whose end is a future too, followed in a tokio task
//! (`driver/spawn.rs`, `follow`); the simulator's hosts draw an attempt's fate from the
//! seed's streams in the world it borrows, which such a future cannot hold.
use baton_core::{Core, Handed, SpawnAction, SpawnSpec};
use baton_exec::{self as exec, Backend, ShellJob};
use baton_model::mask::Masker;
use baton_workflow::Builtin;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

thread_local! {
    /// This thread's dispatches through [`spawning`] and [`Executors::named`].
    static DISPATCHED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many effects this thread dispatched to a back end here: how a test sees that a
/// world's starts, re-attaches and cancels are this code's, not a copy's.
pub fn dispatched_here() -> u64 {
    DISPATCHED.with(std::cell::Cell::get)
}

fn dispatched() {
    DISPATCHED.with(|d| d.set(d.get() + 1));
}

/// A run's executors, by the plan's index (`Plan::executors`; none: every step is
/// local), and the rotations of the steps spread over several of them.
#[derive(Debug, Default)]
pub struct Executors {
    all: Vec<Arc<dyn Backend>>,
    spreads: HashMap<Vec<usize>, Arc<dyn Backend>>,
}

impl Executors {
    /// The executors `Backends::for_plan` made for a run.
    pub fn new(all: Vec<Arc<dyn Backend>>) -> Executors {
        Executors {
            all,
            spreads: HashMap::new(),
        }
    }

    /// The plan's executor of index `i`, made for this run (`None`: all are local).
    pub fn by_index(&self, i: usize) -> Option<&Arc<dyn Backend>> {
        self.all.get(i)
    }

    /// Where a recorded job lives, by its executor's name: a re-attach's, a cancel's
    /// (`None`: the run has no such executor, and a cancel goes nowhere).
    pub fn named(&self, name: &str) -> Option<&Arc<dyn Backend>> {
        dispatched();
        self.all.iter().find(|e| e.name() == name)
    }

    /// The executor of a step's attempts (local unless the plan says otherwise, the
    /// core's alternative's); a step whose labels several executors offer takes turns
    /// on them (one rotation per set of executors, shared by its steps).
    pub fn of_step(&mut self, core: &Core, step: usize) -> Arc<dyn Backend> {
        if self.all.is_empty() {
            return exec::LocalBackend::shared();
        }
        let spread = core.plan().spread_of(step);
        if !spread.is_empty() {
            if let Some(e) = self.spreads.get(&spread) {
                return e.clone();
            }
            let members = spread
                .iter()
                .filter_map(|&i| self.all.get(i).cloned())
                .collect();
            let e: Arc<dyn Backend> = Arc::new(exec::Spread::new(members));
            self.spreads.insert(spread, e.clone());
            return e;
        }
        core.executor_of(step)
            .and_then(|i| self.all.get(i).cloned())
            .unwrap_or_else(exec::LocalBackend::shared)
    }
}

/// What a spawn is made of besides its spec: the run's, for a shell attempt's job
/// (asked only for one: the files directory is made on the first).
pub struct Setting {
    pub run_id: String,
    pub log_dir: PathBuf,
    pub masker: Masker,
    pub files_dir: Option<exec::FilesDir>,
    /// [`exec::ShellJob::start_here`].
    pub start_here: bool,
}

/// Which call a shell attempt's back end gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// [`Backend::start`].
    Start,
    /// [`Backend::reattach`] to the job a previous engine started (`frozen`: held
    /// frozen on record).
    Reattach { job_id: String, frozen: bool },
}

/// A shell attempt's dispatch: its back end, its call, and its job.
pub struct Shell {
    pub key: (usize, u32),
    pub compensation: bool,
    /// The step's id (its log's name; the job's is a compensation's own).
    pub step_id: String,
    pub backend: Arc<dyn Backend>,
    pub call: Call,
    pub job: ShellJob,
    pub timeout: Option<Duration>,
    pub handed: Vec<Handed>,
}

/// Where an attempt the core decided goes.
pub enum Spawning {
    /// A builtin, run in the engine's own process.
    Builtin {
        key: (usize, u32),
        compensation: bool,
        builtin: Builtin,
        with: BTreeMap<String, String>,
    },
    /// A shell attempt on a back end.
    Shell(Box<Shell>),
}

/// The dispatch of `Effect::Spawn`, `Effect::Compensate` (`compensation`) and
/// `Effect::Reattach` (`reattach`): a re-attached attempt is followed on the executor
/// it was started on (a step whose label spreads over several may have run on any of
/// them), any other on its step's ([`Executors::of_step`]).
pub fn spawning(
    executors: &mut Executors,
    core: &Core,
    (spec, compensation, reattach): (SpawnSpec, bool, Option<crate::wake::Reattach>),
    setting: impl FnOnce() -> Setting,
) -> Spawning {
    dispatched();
    let key = (spec.step, spec.attempt);
    let command = match spec.action {
        SpawnAction::Builtin { builtin, with } => {
            return Spawning::Builtin {
                key,
                compensation,
                builtin,
                with,
            };
        }
        SpawnAction::Shell { command } => command,
    };
    let mut local_env = spec.local_env;
    // A child-run step starts this very binary (`core::child`).
    if command == crate::core::child::COMMAND
        && let Ok(exe) = std::env::current_exe()
    {
        local_env.push((
            crate::core::child::EXE_ENV.into(),
            exe.display().to_string(),
        ));
    }
    let (backend, call) = match reattach {
        Some(r) => {
            let on = executors
                .all
                .iter()
                .find(|e| e.name() == r.executor)
                .cloned();
            let call = Call::Reattach {
                job_id: r.job_id,
                frozen: r.frozen,
            };
            (on.unwrap_or_else(|| executors.of_step(core, key.0)), call)
        }
        None => (executors.of_step(core, key.0), Call::Start),
    };
    let Setting {
        run_id,
        log_dir,
        masker,
        files_dir,
        start_here,
    } = setting();
    let job = ShellJob {
        run_id,
        step_id: if compensation {
            format!("{}.compensate", spec.step_id)
        } else {
            spec.step_id.clone()
        },
        attempt: spec.attempt,
        command,
        dir: spec.dir,
        env: spec.env,
        // The core's decision: only an attempt that runs here gets it.
        local_env,
        // Secrets reach only the steps that name them, on any executor.
        withheld: core.plan().withheld_of(key.0),
        log_dir,
        masker,
        files_dir,
        start_here,
    };
    Spawning::Shell(Box::new(Shell {
        key,
        compensation,
        step_id: spec.step_id,
        backend,
        call,
        job,
        timeout: spec.timeout,
        handed: spec.artifacts,
    }))
}

#[cfg(test)]
#[path = "hands_tests.rs"]
mod tests;
