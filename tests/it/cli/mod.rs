//! The real binary's commands: run, validate/plan/tools, completions, config, metrics, notify.
mod completions;
mod config;
mod dead_engine;
mod escapes;
mod gate_inputs;
mod inbox;
mod labels;
mod logs_all;
mod metrics_export;
mod notify;
mod notes;
mod output_paths;
mod run_headless;
mod runs_signals;
mod scores;
pub(crate) mod suggestions;
mod versions;
mod workflow;
