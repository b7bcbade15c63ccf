//! A refusal on record that belongs to no other row: a fork of a run whose record did
//! not verify (`session::fork`), a vote on an ask whose proof did not (`ask_proofs`).
use super::{Store, StoreError};
use baton_model::history::Decision;

impl Store {
    /// `d`, a refusal, on the audit chain under `subject` (the run or the store's area
    /// it is about), committed as every decision is.
    pub fn record_refusal(&mut self, subject: &str, d: &Decision) -> Result<(), StoreError> {
        self.decide_on(subject, |()| d.clone(), |_| Ok(((), ())))
    }

    /// `d`, a row of no event under run `subject` (`baton serve`'s escalation sends),
    /// committed on the audit chain as every decision is.
    pub fn record_on_chain(&mut self, subject: &str, d: &Decision) -> Result<(), StoreError> {
        self.decide_on(subject, |()| d.clone(), |_| Ok(((), ())))
    }
}
