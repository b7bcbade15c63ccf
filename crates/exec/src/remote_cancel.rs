//! A stop asked of an attempt that runs elsewhere (a Slurm job, a step on an SSH host):
//! the first request is kept with its grace and wakes the attempt's waiter, which does
//! the stopping its back end knows (`scancel`, a signal to the remote process group).
use super::KillReason;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Debug, Default)]
struct CancelState {
    requested: Option<(KillReason, Duration)>,
}

/// Asks a remote attempt to stop: gently now, hard after the grace.
#[derive(Debug, Clone, Default)]
pub struct CancelHandle {
    shared: Arc<(Mutex<CancelState>, Notify)>,
}

impl CancelHandle {
    pub fn terminate(&self, grace: Duration, reason: KillReason) {
        let mut s = self.shared.0.lock().unwrap_or_else(|e| e.into_inner());
        if s.requested.is_none() {
            s.requested = Some((reason, grace));
            drop(s);
            self.shared.1.notify_one();
        }
    }

    /// The stop asked for, if any: why, and the grace before a hard stop.
    pub(crate) fn requested(&self) -> Option<(KillReason, Duration)> {
        self.shared
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .requested
    }

    /// Wakes when a stop is asked (create it before checking `requested`).
    pub(crate) fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.shared.1.notified()
    }
}
