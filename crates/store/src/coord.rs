//! Coordination: what processes agree on through the store. Commands from other
//! processes to a run's engine (`commands`, with the proof of who submitted one,
//! `proof`, and the socket that wakes the engine, `wake`), leases and what a dead
//! engine left running (`left_running`), concurrency groups (`slots`), pools shared by
//! every run (`pool_slots`), cached steps' entries (`cache`) and the schedules `baton
//! serve` fires (`schedules`).
//!
//! It appends decisions to the ledger (the audit chain) and reads a run's events there;
//! it takes nothing from the read side.
pub mod asks;
pub(crate) mod cache;
pub(crate) mod commands;
pub(crate) mod left_running;
pub mod pool_slots;
pub mod proof;
pub mod schedules;
pub mod slots;
pub mod wake;

use crate::ledger::{audit, starter_seal};
use crate::{NewRun, Store, StoreError};
use crate::{commit_body, error, in_transaction, insert_run, parent_dir};
