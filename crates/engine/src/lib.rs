//! The engine: the driver (tokio) does the I/O around one `baton_core::Core`, which
//! decides (pure, deterministic, replayable). The core and its small pure helpers are
//! re-exported here under the paths the driver and the front ends use.
mod artifact_dirs;
mod artifact_files;
mod artifact_shared;
mod cache_files;
mod driver;
pub mod hands;
#[cfg(test)]
mod held_run;
mod notify;
mod post;
mod printer;
mod readback;
mod send_ahead;
mod slack_api;
mod store_write;
/// A namespace: `wake::execute`, `wake::claim`, `wake::Engine` read well only behind
/// its name; the driver and the simulator both call it.
pub mod wake;
mod write_behind;

pub use artifact_dirs::{KeepError as KeepArtifactError, keep_given as keep_artifact_file};
pub use cache_files::collect_garbage as collect_cache_garbage;
pub use driver::{
    CommandRequest, DriveOutcome, Driver, DriverError, Sinks, Stop, hold_group_to_reopen,
    kill_stale, set_log_paths, slot_answer, slot_ask, stop_input, store_pools,
};
pub use notify::{Escalated, NotTold, escalate as notify_escalation};
pub use post::set_page_origin;
pub use printer::{json_line as event_json_line, lines as event_lines};
pub use readback::{Heard, heard as escalation_heard};

pub use baton_core as core;
pub use baton_core::{
    CacheRequest, Core, Effect, Input, Opening, ReplayError, RunConfig, SpawnAction, SpawnSpec,
};
