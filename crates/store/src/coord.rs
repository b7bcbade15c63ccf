//! Coordination: what processes agree on through the store. Commands from other
//! processes to a run's engine (`commands`, with the proof of who submitted one,
//! `proof`, and the socket that wakes the engine, `wake`), leases and what a dead
//! engine left running (`left_running`), concurrency groups (`slots`), pools shared by
//! every run (`pool_slots`), cached steps' entries (`cache`) and the schedules `baton
//! serve` fires (`schedules`).
//!
//! It appends decisions to the ledger (the audit chain) and reads a run's events there;
//! it takes nothing from the read side.
pub mod admission;
pub(crate) mod ask_proofs;
pub mod asks;
pub(crate) mod cache;
pub(crate) mod commands;
pub(crate) mod fence;
pub(crate) mod left_running;
pub(crate) mod link_requests;
mod notes;
pub mod pool_slots;
pub mod proof;
mod refusals;
pub mod schedules;
pub mod slots;
pub mod trigger_events;
pub mod trigger_pending;
pub mod trigger_refusals;
pub mod wake;

use crate::commit::{commit_body, insert_run};
use crate::error::{self, StoreError};
use crate::ledger::Store;
use crate::ledger::{audit, starter_seal};
use crate::paths::parent_dir;
use crate::records::NewRun;
use crate::tx::in_transaction;
