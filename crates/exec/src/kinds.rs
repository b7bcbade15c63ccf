//! The executor kinds baton knows, by the `type` of their `[executors.NAME]`: a new
//! kind is a folder of this crate implementing [`Backend`] and one line in
//! [`Backends::builtin`] (CONTRIBUTING.md, "Adding an executor kind").
use super::backend::Backend;
use super::batch::BatchExecutor;
use super::local::LocalBackend;
use super::slurm::SlurmExecutor;
use super::ssh::SshExecutor;
use baton_workflow::{ExecutorKind, ExecutorSpec, Plan};
use std::sync::Arc;

/// What every back end of a run is made with besides its own `[executors.NAME]`.
#[derive(Debug, Clone, Copy)]
pub struct Setup<'a> {
    pub run_id: &'a str,
    /// The workflow's `secrets` (names): a remote job gets them in its own files.
    pub secrets: &'a [String],
}

/// Makes the back end of one executor, or `None` when the executor is not of its kind.
pub(crate) type Factory =
    Arc<dyn Fn(&ExecutorSpec, &Setup<'_>) -> Option<Arc<dyn Backend>> + Send + Sync>;

/// The kinds a run's executors are made by, asked in order.
#[derive(Clone)]
pub struct Backends {
    kinds: Vec<Factory>,
}

impl std::fmt::Debug for Backends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Backends({} kinds)", self.kinds.len())
    }
}

impl Default for Backends {
    fn default() -> Self {
        Backends::builtin()
    }
}

impl Backends {
    /// The kinds a workflow's `type` names: one line each.
    pub fn builtin() -> Backends {
        Backends { kinds: Vec::new() }
            .with(|s, _| matches!(s.kind, ExecutorKind::Local).then(LocalBackend::shared))
            .with(|s, b| match &s.kind {
                ExecutorKind::Slurm(o) => Some(Arc::new(SlurmExecutor::from_spec(s, o, b))),
                _ => None,
            })
            .with(|s, b| match &s.kind {
                ExecutorKind::Ssh(o) => Some(Arc::new(SshExecutor::from_spec(s, o, b))),
                _ => None,
            })
            .with(|s, b| match &s.kind {
                ExecutorKind::Batch(o) => Some(Arc::new(BatchExecutor::from_spec(s, o, b))),
                _ => None,
            })
    }

    /// One more kind, asked before those registered so far.
    pub fn with(
        mut self,
        kind: impl Fn(&ExecutorSpec, &Setup<'_>) -> Option<Arc<dyn Backend>> + Send + Sync + 'static,
    ) -> Backends {
        self.kinds.insert(0, Arc::new(kind));
        self
    }

    /// The back end of one executor: the first kind that takes it (local if none does).
    pub fn of(&self, spec: &ExecutorSpec, setup: &Setup<'_>) -> Arc<dyn Backend> {
        self.kinds
            .iter()
            .find_map(|k| k(spec, setup))
            .unwrap_or_else(LocalBackend::shared)
    }

    /// The executors of a plan, by index, for one run; empty when every step is local
    /// (the common case costs nothing).
    pub fn for_plan(&self, plan: &Plan, run_id: &str) -> Vec<Arc<dyn Backend>> {
        let setup = Setup {
            run_id,
            secrets: &plan.secrets,
        };
        let all: Vec<_> = plan.executors.iter().map(|e| self.of(e, &setup)).collect();
        if all.iter().all(|e| e.is_local()) {
            return Vec::new();
        }
        all
    }
}
