//! The read side: what readers see of runs, derived from the ledger. The projection of
//! each batch of events into the tables read across runs (`project`), each run's
//! summary saved with its batches (`summaries`), and the readers: runs and their
//! events (`query`), counts and signals on a run's row (`run_counts`), the metrics and
//! their kept totals (`metrics`, `metric_totals`), fan-out counts (`fan_counts`), who
//! waits on someone (`waiting`), completion of ids (`completion`), log tails and
//! times (`logtail`, `log_times`).
//!
//! It reads the ledger and asks coordination whether a lease's holder lives; neither
//! takes anything from it.
pub(crate) mod artifacts;
pub(crate) mod catch_up;
pub(crate) mod children;
pub(crate) mod completion;
pub(crate) mod durations;
pub(crate) mod fan_counts;
pub(crate) mod forks;
pub(crate) mod log_times;
pub(crate) mod logtail;
pub(crate) mod metric_totals;
pub(crate) mod metrics;
pub(crate) mod project;
pub(crate) mod query;
pub(crate) mod run_counts;
pub(crate) mod step_runs;
pub(crate) mod summaries;
pub(crate) mod waiting;

#[cfg(test)]
mod query_plans_tests;

use crate::error::{self, StoreError};
use crate::ledger::audit_signatures::SignaturesVerdict;
use crate::ledger::{Store, audit, audit_signatures, event_chain};
use crate::records::{AttemptLog, LOG_TAIL_MAX};
use crate::tx::{bounded_tail, in_read_snapshot, in_transaction};
