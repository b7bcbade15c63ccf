//! Commands on any run, runs listing and garbage collection.
mod commands;
mod runs_gc;
