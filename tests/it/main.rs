//! The integration tests: one binary, a module per area, helpers in `helpers`.
//! A test that needs a process of its own runs itself alone in a fresh process of this
//! binary (`helpers::alone`).
mod approvals;
mod chaos;
mod cli;
mod console;
mod engine;
mod exec;
mod faults;
mod fleet;
mod helpers;
mod serve;
mod session;
mod store;
mod tamper;
mod workflow;
