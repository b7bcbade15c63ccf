//! baton: a terminal control console for workflows.
//!
//! Functional core, imperative shell (docs/architecture.md): `workflow` loads and validates a
//! workflow into a `Plan`; `engine::core` decides; `engine::driver`, `exec` and `store`
//! do the I/O; `tui` and the headless printer show a `RunView`.
pub mod cli;
pub mod config;
pub mod engine;
pub mod exec;
pub mod files;
pub mod metrics;
pub mod model;
pub mod own_files;
pub mod sanitize;
pub mod session;
pub mod signing;
pub mod stdio;
pub mod store;
pub mod tui;
pub mod workflow;

#[cfg(test)]
mod layers_tests;
