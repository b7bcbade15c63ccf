//! Shared vocabulary: ids, states, error records, health, events and the `RunView`
//! snapshot that the console and the headless printer both read.
//!
//! What every crate names (the states, events, error records, the view, the time) is
//! re-exported here. The public modules are namespaces whose items read well only
//! behind their name (`sanitize::for_terminal`, `liveness::liveness`,
//! `history::decision`, `inbox::waiting`, `schedule::parse_cron`, `run_diff::lines`) and are used so
//! across the workspace; a module only this crate uses is private (`cache_entry`,
//! `eta`, `ranked`).
pub mod actor;
pub mod artifact_paths;
pub mod ask;
pub mod bounds;
pub mod burn;
mod cache_entry;
pub mod deadline;
pub mod error;
mod eta;
mod event;
pub mod fan;
pub mod faults;
pub mod health;
pub mod history;
pub mod inbox;
pub mod labels;
pub mod liveness;
pub mod logtimes;
pub mod mask;
pub mod metric_tallies;
pub mod metrics;
pub mod note;
mod opening;
pub mod output_name;
pub mod procs;
pub mod raise;
mod ranked;
pub mod refusal;
pub mod reported;
pub mod retention;
pub mod run_diff;
pub mod run_prefix;
pub mod sanitize;
pub mod schedule;
pub mod signals;
pub mod state;
pub mod state_summary;
pub mod step_trend;
pub mod suggest;
pub mod time;
pub mod timeline;
pub mod view;

pub use actor::{actor_key, clean_name, same_actor};
pub use cache_entry::CacheEntry;
pub use error::{ErrorKind, ErrorRecord, OutputProblem, Severity};
pub use event::{
    Actor, ArtifactRecord, Command, CommandOutcome, DecisionSignature, Event, EventHead, EventKind,
    GateRound, ProbeKind, RenderedInput, StepOutcome, Usage,
};
pub use health::{Health, HealthLabel, HealthTerm};
pub use history::{AuditAction, Decision};
pub use liveness::{LEASE_STALE, Lease, Liveness};
pub use opening::opening_run;
pub use refusal::{ReasonFor, Refusal};
pub use state::{RunState, StepState};
pub use time::Timestamp;
pub use view::{
    Actions, AttemptJob, Eta, GateView, InputView, JOB_RUNNING, JobTimes, JobView, ProbeView,
    Progress, RunSummary, RunView, SharedRuns, StepView, TimeoutDue, pool_wait, queued_pool_wait,
};

/// The file one attempt of a step writes its output to, in its run's log directory
/// (the executors write it, the store, the console and `baton logs` find it by it).
pub fn log_file_name(step: &str, attempt: u32) -> String {
    format!("{}.{attempt}.log", file_safe(step))
}

/// A step id as one file name: a workflow's own ids are kept as they are; anything else
/// an instance id holds (`test[3.11,linux]`, a value with `/`) becomes `%XX`, so the
/// name stays in its directory and two ids never share one.
pub fn file_safe(step: &str) -> std::borrow::Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-".contains(c);
    if !step.starts_with('.') && step.chars().all(|c| plain(c) || c == '.') {
        return step.into();
    }
    let mut out = String::with_capacity(step.len() * 2);
    for c in step.chars() {
        if plain(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out.into()
}

/// Index of a step in `Plan::steps` (stable for the life of a plan).
pub type StepIdx = usize;

/// A hash map for the engine's hot maps, keyed by what the run's own workflow and
/// store give (step ids, step indexes): foldhash, not SipHash. SipHash's resistance to
/// chosen colliding keys buys nothing for keys the user writes, and it cost the engine's
/// thread about 10 k instructions a step.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

#[cfg(test)]
mod names_tests;
