//! A kill -9 inside a commit, as the fault door (`baton_model::faults`) has it: a
//! commit that writes something asks the door once, as it begins, where it dies; the
//! commit then stops there and says so ([`crate::StoreError::Cut`]), and the caller
//! drops the connection as the kernel would its process. Production's door never
//! cuts one; the simulator's does where its seed says.
pub use baton_model::faults::CommitCut;

/// How a cut commit says where it died.
pub(crate) fn said(at: CommitCut) -> &'static str {
    match at {
        CommitCut::InTransaction => "inside its transaction",
        CommitCut::BeforeWitness => "after its commit, before its witness",
    }
}
