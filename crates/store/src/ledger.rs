//! The ledger: what happened, kept so that it cannot be changed unseen. Each run's
//! events in a hash chain sealed by a keyed mark on the last (`event_chain`), the audit
//! chain of every decision (`audit`, its signatures `audit_signatures`), the witness
//! file of keyed heads that shows rollbacks (`witness`), a group store's records sealed
//! by their starters (`starter_seal`), one check value per key id (`key_check`), `audit
//! verify` and `audit seal` (`verify`) and `audit rotate` (`rotate`).
//!
//! It takes from the store's kernel (the `Store` handle, its transactions) and from no
//! other room: the read side and coordination read it, never the other way.
pub(crate) mod append;
pub(crate) mod approvals;
pub mod audit;
pub mod audit_signatures;
pub(crate) mod decisions;
pub mod event_chain;
mod handle;
pub(crate) mod key_check;
pub(crate) mod passkeys;
pub(crate) mod rotate;
pub(crate) mod rows;
pub mod starter_seal;
pub(crate) mod verify;
pub mod witness;

use crate::error::StoreError;
use crate::tx::{in_read_snapshot, in_transaction};
use append::{audit_head, run_key, run_tail, set_chain_head};
pub use handle::Store;
