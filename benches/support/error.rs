//! What a bench that starts processes fails with (CONTRIBUTING.md: a typed error that
//! says what to do), shared through `#[path]`; each bench meets some of these.
#![allow(dead_code)]

use std::process::Output;

#[derive(Debug, thiserror::Error)]
pub(crate) enum BenchError {
    /// A file of the bench's own could not be made or read, or a process not started.
    #[error(
        "cannot {what}: {source}; check the temporary directory's space and that `cargo build` made the binaries"
    )]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A command the bench runs exited with a failure.
    #[error("`{command}` failed: {said}; run it by hand to see why")]
    Failed { command: String, said: String },
    /// What the bench waits for did not come by its deadline.
    #[error("{what} within {secs} s; on a loaded machine, run the bench again")]
    Late { what: String, secs: u64 },
    /// A process said nothing the bench can read.
    #[error("{what} (it said {seen:?}); is baton built from this tree (`cargo build`)?")]
    Unread { what: &'static str, seen: String },
    /// What the bench needs is not installed on this machine.
    #[error("{what} is not installed: {install}")]
    Missing {
        what: &'static str,
        install: &'static str,
    },
    /// A thread of the bench's own panicked (its message is printed above it).
    #[error("the bench's {0} thread panicked: a bug of the bench, see its message above")]
    Panicked(&'static str),
    /// The store the bench reads failed.
    #[error("the bench's store: {0}")]
    Store(#[from] baton::store::StoreError),
    /// baton refused what the bench asked of it in this process.
    #[error("baton refused: {0}")]
    Session(#[from] baton::session::SessionError),
    /// A decision the bench made in this process was refused.
    #[error("the bench's decision was refused: {0}")]
    Refused(#[from] baton::model::Refusal),
}

impl BenchError {
    /// [`BenchError::Io`] for `what` could not be done, for `map_err`.
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BenchError {
        let what = what.into();
        move |source| BenchError::Io { what, source }
    }

    /// A finished command's stdout, or [`BenchError::Failed`] with its stderr.
    pub(crate) fn checked(command: &str, out: Output) -> Result<String, BenchError> {
        if !out.status.success() {
            return Err(BenchError::Failed {
                command: command.to_string(),
                said: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}
