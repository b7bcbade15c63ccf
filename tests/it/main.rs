//! The integration tests: one binary, a module per area, helpers in `helpers`.
//! Two tests that need a process of their own are separate binaries (tests/exec_memory.rs,
//! tests/exec_signals.rs).
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
