//! A kill -9 inside a commit, for the simulator (issue 61 point 1: "any of which can
//! die at any point (a dropped transaction …)"). Nothing but the simulator sets it:
//! the next commit of this connection stops where the process would have died and
//! says so, and the simulator drops the connection as the kernel would its process.
use crate::Store;

/// Where the next commit dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitCut {
    /// Every statement of the batch made, the transaction not committed: what a
    /// process killed in its transaction leaves (SQLite keeps none of it).
    InTransaction,
    /// Committed, the keyed heads not yet appended to the witness: the witness is
    /// left behind the store (`witness`: never ahead of it).
    BeforeWitness,
}

impl CommitCut {
    pub(crate) fn said(self) -> &'static str {
        match self {
            CommitCut::InTransaction => "inside its transaction",
            CommitCut::BeforeWitness => "after its commit, before its witness",
        }
    }
}

impl Store {
    /// The next commit of this connection (`commit`, `commit_with_logs`) dies at `at`
    /// with [`crate::StoreError::Cut`]; the connection must then be dropped, as its process
    /// would be. For the simulator only.
    #[doc(hidden)]
    pub fn cut_next_commit(&mut self, at: CommitCut) {
        self.cut = Some(at);
    }
}
