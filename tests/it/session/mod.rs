//! Commands on any run, runs listing and garbage collection.
mod attack_runs;
mod commands;
mod concurrency;
mod runs_gc;
