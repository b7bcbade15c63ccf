//! baton: a terminal control console for workflows.
//!
//! Functional core, imperative shell (docs/architecture.md). The layers are crates of
//! the workspace (`crates/`), each depending only on those below it: `baton-model` (the
//! vocabulary), `baton-signing`, `baton-workflow` (a workflow file into a `Plan`),
//! `baton-core` (the pure decisions), `baton-store` and `baton-exec` (SQLite and
//! processes), `baton-engine` (the driver), `baton-session` (what front ends ask for),
//! `baton-link` (what the console and the session say to each other: data) and
//! `baton-console` (the ratatui console, built against the link, not the session).
//! This crate holds the front end (`cli`), the Prometheus export (`metrics`), wires the
//! session's service to the console, and re-exports the layers under the paths they
//! always had (`baton::engine::core`, `baton::console`, …) for the binary, the tests and
//! the benches.
mod approval_page;
pub mod cli;
#[cfg(test)]
mod docs_paths;
pub mod files;
mod hooks;
pub mod metrics;
#[cfg(test)]
mod source_rules;

pub use baton_console as console;
pub use baton_core as core;
pub use baton_engine as engine;
pub use baton_exec as exec;
pub use baton_exec::own_files;
pub use baton_import as import;
pub use baton_link as link;
pub use baton_model as model;
pub use baton_model::sanitize;
pub use baton_procs as procs;
pub use baton_session as session;
pub use baton_session::{config, stdio};
pub use baton_signing as signing;
pub use baton_store as store;
pub use baton_workflow as workflow;
