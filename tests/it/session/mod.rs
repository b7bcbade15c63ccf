//! Commands on any run, runs listing and garbage collection.
mod attack_runs;
mod bursts;
mod commands;
mod concurrency;
mod fork_group;
mod group_campaign;
mod replaced_at_once;
mod runs_gc;
mod shared_pools;
